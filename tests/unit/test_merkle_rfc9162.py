"""The Merkle proofs are RFC 9162 §2.1's: the published vectors pass, every proof we make
verifies, and a proof for the wrong root, size or leaf is refused.

The vectors are transparency-dev/merkle's testdata (see
/work/shared/conformance-vectors/PROVENANCE.md): happy paths, which must be accepted, and
corrupted proofs (``wantErr``), every one of which must be refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvals.audit import merkle
from approvals.audit.hashing import node_hash
from approvals.audit.integrity import Tree, subtrees
from approvals.audit.merkle import (
    consistency_proof,
    inclusion_proof,
    inclusion_proofs,
    proof_is_valid,
    root_of,
    verify_consistency,
    verify_inclusion,
)

VECTORS = (
    Path(os.environ.get("APPROVALS_CONFORMANCE_VECTORS", "/work/shared/conformance-vectors"))
    / "merkle"
)

needs_vectors = pytest.mark.skipif(
    not VECTORS.is_dir(),
    reason=f"the published RFC 9162 vectors are not at {VECTORS} (not part of the sdist; set "
    "APPROVALS_CONFORMANCE_VECTORS to the conformance-vectors folder)",
)


def _vectors(kind: str) -> list[Any]:
    if not VECTORS.is_dir():
        return []
    return [
        pytest.param(
            json.loads(path.read_text(encoding="utf-8")), id=str(path.relative_to(VECTORS))
        )
        for path in sorted((VECTORS / kind).rglob("*.json"))
    ]


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _proof(value: list[str] | None) -> list[bytes]:
    return [_b64(item) for item in value or []]


@needs_vectors
@pytest.mark.parametrize("vector", _vectors("inclusion"))
def test_the_published_inclusion_vectors_are_accepted_or_refused_as_published(
    vector: dict[str, Any],
) -> None:
    accepted = verify_inclusion(
        _b64(vector["leafHash"]),
        vector["leafIdx"],
        vector["treeSize"],
        _proof(vector["proof"]),
        _b64(vector["root"]),
    )
    assert accepted is not vector["wantErr"], vector["desc"]


@needs_vectors
@pytest.mark.parametrize("vector", _vectors("consistency"))
def test_the_published_consistency_vectors_are_accepted_or_refused_as_published(
    vector: dict[str, Any],
) -> None:
    accepted = verify_consistency(
        vector["size1"],
        vector["size2"],
        _b64(vector["root1"]),
        _b64(vector["root2"]),
        _proof(vector["proof"]),
    )
    assert accepted is not vector["wantErr"], vector["desc"]


@needs_vectors
def test_there_are_published_vectors_of_both_kinds_good_and_corrupted() -> None:
    for kind in ("inclusion", "consistency"):
        wanted = [param.values[0]["wantErr"] for param in _vectors(kind)]
        assert wanted.count(False) >= 6
        assert wanted.count(True) >= 90


def _published_leaves() -> list[bytes]:
    data = json.loads((VECTORS / "roots.json").read_text(encoding="utf-8"))
    return [hashlib.sha256(b"\x00" + bytes.fromhex(leaf)).digest() for leaf in data["leaves_hex"]]


def _root_of_subtrees(leaves: list[bytes]) -> bytes:
    """The root of ``leaves`` as a chunk of the first layer makes it (a level at a time)."""
    tree = Tree()
    for height, value in subtrees(leaves):
        tree.push(height, value)
    return tree.root()


@needs_vectors
@pytest.mark.parametrize("root", [root_of, _root_of_subtrees])
def test_the_roots_of_the_published_leaves_are_the_published_roots(
    root: Callable[[list[bytes]], bytes],
) -> None:
    data = json.loads((VECTORS / "roots.json").read_text(encoding="utf-8"))
    leaves = _published_leaves()
    for size, published in enumerate(data["roots_hex_by_size_from_1"], start=1):
        assert root(leaves[:size]).hex() == published


@needs_vectors
def test_our_proofs_of_the_published_leaves_verify_against_the_published_roots() -> None:
    data = json.loads((VECTORS / "roots.json").read_text(encoding="utf-8"))
    roots = [bytes.fromhex(root) for root in data["roots_hex_by_size_from_1"]]
    leaves = _published_leaves()
    read = _reader(leaves)
    for size in range(1, len(leaves) + 1):
        for index in range(size):
            path = inclusion_proof(index, size, read)
            assert verify_inclusion(leaves[index], index, size, path, roots[size - 1])
        for prior in range(1, size + 1):
            proof = consistency_proof(prior, size, read)
            assert verify_consistency(prior, size, roots[prior - 1], roots[size - 1], proof)


# --- Our own proofs, on leaves of our own -------------------------------------------------


def _leaves(count: int) -> list[bytes]:
    return [hashlib.sha256(b"\x00" + index.to_bytes(4, "big")).digest() for index in range(count)]


LEAVES = _leaves(300)


def _reader(leaves: Sequence[bytes]) -> merkle.Read:
    def read(offset: int, width: int) -> Sequence[bytes]:
        return leaves[offset : offset + width]

    return read


READ = _reader(LEAVES)


def _mth(leaves: Sequence[bytes]) -> bytes:
    """MTH of RFC 9162 §2.1.1, written out recursively as the text says."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def test_a_consistency_proof_from_6_to_8_has_the_rfc_layout_not_pymerkles() -> None:
    # RFC 9162 §2.1.4.1 for m=6, n=8: [4,6), [6,8), [0,4); pymerkle gave [6,7),[7,8),[4,6),[0,4).
    assert consistency_proof(6, 8, READ) == [
        _mth(LEAVES[4:6]),
        _mth(LEAVES[6:8]),
        _mth(LEAVES[0:4]),
    ]


def test_the_examples_of_rfc_9162_have_the_layout_the_text_gives() -> None:
    # §2.1.5: the tree of 7 leaves a..g (d0..d6).
    d = LEAVES[:7]
    assert inclusion_proof(0, 7, READ) == [d[1], _mth(d[2:4]), _mth(d[4:7])]  # a: [b, h, l]
    assert inclusion_proof(3, 7, READ) == [d[2], _mth(d[0:2]), _mth(d[4:7])]  # d: [c, g, l]
    assert inclusion_proof(4, 7, READ) == [d[5], d[6], _mth(d[0:4])]  # e: [f, j, k]
    assert consistency_proof(3, 7, READ) == [d[2], d[3], _mth(d[0:2]), _mth(d[4:7])]
    assert consistency_proof(4, 7, READ) == [_mth(d[4:7])]
    assert consistency_proof(6, 7, READ) == [_mth(d[4:6]), d[6], _mth(d[0:4])]


def _inclusion_cases(size: int) -> set[int]:
    return {0, size // 3, size // 2, size - 2 if size > 1 else 0, size - 1}


def _consistency_cases(size: int) -> set[int]:
    powers = {1 << bit for bit in range(size.bit_length()) if 1 << bit <= size}
    return {1, size // 2 or 1, size - 1 or 1, size} | powers


def test_every_proof_we_make_for_sizes_1_to_300_verifies_with_our_verifier() -> None:
    for size in range(1, 301):
        root = root_of(LEAVES[:size])
        assert root == _mth(LEAVES[:size])
        indices = sorted(_inclusion_cases(size))
        for index, path in zip(indices, inclusion_proofs(indices, size, READ), strict=True):
            assert path == inclusion_proof(index, size, READ)
            assert verify_inclusion(LEAVES[index], index, size, path, root), (index, size)
        for prior in _consistency_cases(size):
            proof = consistency_proof(prior, size, READ)
            assert verify_consistency(prior, size, root_of(LEAVES[:prior]), root, proof)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_an_inclusion_proof_verifies_and_is_refused_for_another_root_size_leaf_or_index(
    data: st.DataObject,
) -> None:
    size = data.draw(st.integers(1, 300), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    root = root_of(LEAVES[:size])
    path = inclusion_proof(index, size, READ)
    assert verify_inclusion(LEAVES[index], index, size, path, root)

    other_size = data.draw(st.integers(1, 301).filter(lambda s: s != size), label="other size")
    other_index = data.draw(st.integers(0, 301).filter(lambda i: i != index), label="other index")
    # A tree of another size is another (size, root) pair: RFC 9162 binds the size by the root.
    other_root = root_of(_leaves(other_size))
    assert not verify_inclusion(LEAVES[index], index, other_size, path, other_root)
    assert not verify_inclusion(LEAVES[index], index, size, path, root_of(_leaves(size + 1)))
    assert not verify_inclusion(LEAVES[index], other_index, size, path, root)
    assert not verify_inclusion(hashlib.sha256(b"another").digest(), index, size, path, root)
    if path:
        spot = data.draw(st.integers(0, len(path) - 1), label="flipped component")
        flipped = [*path[:spot], bytes([path[spot][0] ^ 1]) + path[spot][1:], *path[spot + 1 :]]
        assert not verify_inclusion(LEAVES[index], index, size, flipped, root)
        assert not verify_inclusion(LEAVES[index], index, size, path[:-1], root)
    assert not verify_inclusion(LEAVES[index], index, size, [*path, root], root)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_consistency_proof_verifies_and_is_refused_for_another_root_or_size(
    data: st.DataObject,
) -> None:
    size = data.draw(st.integers(1, 300), label="size")
    prior = data.draw(st.integers(1, size), label="prior")
    root, prior_root = root_of(LEAVES[:size]), root_of(LEAVES[:prior])
    proof = consistency_proof(prior, size, READ)
    assert verify_consistency(prior, size, prior_root, root, proof)

    other = data.draw(st.integers(0, 301).filter(lambda s: s not in (prior, size)), label="other")
    assert not verify_consistency(prior, size, root, prior_root, proof) or prior == size
    assert not verify_consistency(prior, size, prior_root, root_of(LEAVES[: size - 1]), proof)
    assert not verify_consistency(prior, size, root_of(LEAVES[: prior - 1]), root, proof)
    other_root = root_of(_leaves(other))
    assert not verify_consistency(other, size, other_root, root, proof)
    assert not verify_consistency(prior, other, prior_root, other_root, proof)
    rewritten = [*LEAVES[: prior - 1], hashlib.sha256(b"forged").digest(), *LEAVES[prior:size]]
    assert not verify_consistency(prior, size, prior_root, root_of(rewritten), proof)
    if proof:
        spot = data.draw(st.integers(0, len(proof) - 1), label="flipped component")
        flipped = [*proof[:spot], bytes([proof[spot][0] ^ 1]) + proof[spot][1:], *proof[spot + 1 :]]
        assert not verify_consistency(prior, size, prior_root, root, flipped)
        assert not verify_consistency(prior, size, prior_root, root, proof[:-1])
    assert not verify_consistency(prior, size, prior_root, root, [*proof, root])


def test_proofs_of_a_large_log_read_leaves_in_bounded_pages() -> None:
    leaves = _leaves(3 * merkle.PAGE + 5)
    widths: list[int] = []

    def read(offset: int, width: int) -> Sequence[bytes]:
        widths.append(width)
        return leaves[offset : offset + width]

    size, index = len(leaves), merkle.PAGE + 7
    root = root_of(leaves)
    assert verify_inclusion(leaves[index], index, size, inclusion_proof(index, size, read), root)
    prior = 2 * merkle.PAGE + 1
    proof = consistency_proof(prior, size, read)
    assert verify_consistency(prior, size, root_of(leaves[:prior]), root, proof)
    assert widths
    assert max(widths) <= merkle.PAGE


def test_a_reader_that_returns_too_few_leaves_is_an_error_not_a_wrong_proof() -> None:
    def short(offset: int, width: int) -> Sequence[bytes]:
        return LEAVES[offset : offset + width - 1]

    with pytest.raises(LookupError):
        inclusion_proof(0, 8, short)


@pytest.mark.parametrize(
    ("index", "size"), [(-1, 4), (4, 4), (0, 0)], ids=["negative", "past the end", "empty tree"]
)
def test_an_inclusion_proof_of_a_leaf_outside_the_tree_is_refused(index: int, size: int) -> None:
    with pytest.raises(ValueError, match="leaf"):
        inclusion_proof(index, size, READ)


@pytest.mark.parametrize(("prior", "size"), [(0, 4), (5, 4), (-1, 4)])
def test_a_consistency_proof_between_sizes_that_make_no_sense_is_refused(
    prior: int, size: int
) -> None:
    with pytest.raises(ValueError, match="size"):
        consistency_proof(prior, size, READ)


# --- proof_is_valid: what verify.py calls on a checkpoint's stored proof ------------------


def test_proof_is_valid_accepts_the_hex_proof_a_checkpoint_carries() -> None:
    proof = [item.hex() for item in consistency_proof(6, 8, READ)]
    assert proof_is_valid(proof, 6, root_of(LEAVES[:6]), 8, root_of(LEAVES[:8]))
    assert not proof_is_valid(proof, 6, root_of(LEAVES[:5]), 8, root_of(LEAVES[:8]))
    assert not proof_is_valid(proof[::-1], 6, root_of(LEAVES[:6]), 8, root_of(LEAVES[:8]))


@pytest.mark.parametrize(
    "proof",
    [
        ["not hex"],
        [1, 2],
        "abcd",
        {"type": "consistency", "path": []},
        None,
    ],
    ids=["not hex", "numbers", "a string", "pymerkle's layout", "nothing"],
)
def test_proof_is_valid_refuses_what_is_no_rfc_9162_proof(proof: Any) -> None:
    assert not proof_is_valid(proof, 6, root_of(LEAVES[:6]), 8, root_of(LEAVES[:8]))


@settings(max_examples=200, deadline=None)
@given(size=st.integers(0, 600), seed=st.binary(min_size=1, max_size=8))
def test_a_chunk_reduced_a_level_at_a_time_is_the_tree_grown_a_leaf_at_a_time(
    size: int, seed: bytes
) -> None:
    leaves = [hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(size)]
    grown = Tree()
    for leaf in leaves:
        grown.add(leaf)
    assert subtrees(leaves) == grown.stack
    assert _root_of_subtrees(leaves) == grown.root() == root_of(leaves)
