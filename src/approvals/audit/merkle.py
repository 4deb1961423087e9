"""The Merkle tree over the ledger's leaves, as RFC 9162 §2.1 defines it (RFC 6962's tree).

Roots are computed streaming, in O(log n) memory, so that a log of millions of events can be
verified. Inclusion proofs (§2.1.3) and consistency proofs (§2.1.4) are made from a reader of
leaf hashes, ``read(offset, width)``, asked for at most :data:`PAGE` leaves at a time; each
subtree hash a proof needs is streamed the same way. The verifiers follow the RFC's
algorithms step by step, so a proof made here verifies with any RFC 9162 implementation
(transparency-dev/merkle's ``proof.VerifyInclusion`` and ``proof.VerifyConsistency``, say),
and theirs with ours.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Sequence

from approvals.audit.hashing import node_hash

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "PAGE",
    "Read",
    "RootBuilder",
    "consistency_proof",
    "inclusion_proof",
    "inclusion_proofs",
    "proof_is_valid",
    "range_hash",
    "root_of",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
"""SHA-256 of nothing: the root of the empty tree (RFC 9162 §2.1.1)."""

HASH_SIZE = 32
"""The size of every leaf and node hash (SHA-256)."""

PAGE = 4096
"""The most leaf hashes asked of a reader at once."""

Read = Callable[[int, int], Sequence[bytes]]
"""``read(offset, width)``: the leaf hashes at positions ``offset`` to ``offset + width - 1``."""


class RootBuilder:
    """Takes leaf hashes one by one; tells the root of the tree of all leaves so far."""

    def __init__(self) -> None:
        # Perfect subtrees, largest first: (height, hash).
        self._stack: list[tuple[int, bytes]] = []
        self.size = 0

    def add(self, leaf: bytes) -> None:
        """Append one leaf hash."""
        height, value = 0, leaf
        while self._stack and self._stack[-1][0] == height:
            _, left = self._stack.pop()
            value = node_hash(left, value)
            height += 1
        self._stack.append((height, value))
        self.size += 1

    def root(self) -> bytes:
        """Return the root of the tree of every leaf added so far."""
        if not self._stack:
            return EMPTY_ROOT
        value = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            value = node_hash(left, value)
        return value


def root_of(leaves: Iterable[bytes]) -> bytes:
    """Return the root of the tree of ``leaves``."""
    builder = RootBuilder()
    for leaf in leaves:
        builder.add(leaf)
    return builder.root()


def range_hash(read: Read, start: int, end: int) -> bytes:
    """Return MTH(D[start:end]), reading the leaves in pages of at most :data:`PAGE`."""
    builder = RootBuilder()
    for offset in range(start, end, PAGE):
        width = min(PAGE, end - offset)
        page = read(offset, width)
        if len(page) != width:
            raise LookupError(
                f"asked for {width} leaves from {offset}, the reader gave {len(page)}"
            )
        for leaf in page:
            builder.add(leaf)
    return builder.root()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (> 1): where RFC 9162 splits a tree."""
    return 1 << ((size - 1).bit_length() - 1)


Subtree = Callable[[int, int], bytes]


def _path(index: int, start: int, end: int, subtree: Subtree) -> list[bytes]:
    """PATH(m, D[start:end]) of RFC 9162 §2.1.3.1, ``index`` counted from ``start``."""
    if end - start == 1:
        return []
    k = _split(end - start)
    if index < k:
        return [*_path(index, start, start + k, subtree), subtree(start + k, end)]
    return [*_path(index - k, start + k, end, subtree), subtree(start, start + k)]


def inclusion_proofs(indices: Sequence[int], size: int, read: Read) -> list[list[bytes]]:
    """Return the inclusion path of each leaf of ``indices`` in the tree of ``size`` leaves;
    a subtree the paths share is read once."""
    for index in indices:
        if not 0 <= index < size:
            raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    known: dict[tuple[int, int], bytes] = {}

    def subtree(start: int, end: int) -> bytes:
        if (start, end) not in known:
            known[start, end] = range_hash(read, start, end)
        return known[start, end]

    return [_path(index, 0, size, subtree) for index in indices]


def inclusion_proof(index: int, size: int, read: Read) -> list[bytes]:
    """Return the inclusion path of leaf ``index`` in the tree of ``size`` leaves (§2.1.3.1)."""
    return inclusion_proofs([index], size, read)[0]


def _subproof(prior: int, start: int, end: int, whole: bool, read: Read) -> list[bytes]:
    """SUBPROOF(m, D[start:end], b) of RFC 9162 §2.1.4.1."""
    if prior == end - start:
        return [] if whole else [range_hash(read, start, end)]
    k = _split(end - start)
    if prior <= k:
        return [*_subproof(prior, start, start + k, whole, read), range_hash(read, start + k, end)]
    return [*_subproof(prior - k, start + k, end, False, read), range_hash(read, start, start + k)]


def consistency_proof(prior_size: int, size: int, read: Read) -> list[bytes]:
    """Return the proof that the tree of ``prior_size`` leaves is a prefix of the tree of
    ``size`` leaves (§2.1.4.1; empty when the sizes are equal)."""
    if not 0 < prior_size <= size:
        raise ValueError(f"no consistency proof from size {prior_size} to size {size}")
    return _subproof(prior_size, 0, size, True, read)


def _shift_to_odd(first: int, second: int) -> tuple[int, int]:
    """Right-shift both until ``first``'s lowest bit is set or ``first`` is 0."""
    while first and not first & 1:
        first, second = first >> 1, second >> 1
    return first, second


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """Return whether ``path`` proves leaf ``index`` of the tree of ``size`` leaves and root
    ``root`` is ``leaf_hash`` (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size or any(len(h) != HASH_SIZE for h in (leaf_hash, *path)):
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _shift_to_odd(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and hmac.compare_digest(r, root)


def verify_consistency(
    prior_size: int, size: int, prior_root: bytes, root: bytes, proof: Sequence[bytes]
) -> bool:
    """Return whether ``proof`` shows the tree of ``prior_size`` leaves and root ``prior_root``
    is a prefix of the tree of ``size`` leaves and root ``root`` (RFC 9162 §2.1.4.2).

    Equal sizes need an empty proof and equal roots. A proof from the empty tree proves
    nothing and is refused, as the published vectors want (the RFC defines proofs for
    0 < first < second).
    """
    if not 0 < prior_size <= size or any(len(h) != HASH_SIZE for h in proof):
        return False
    if prior_size == size:
        return not proof and hmac.compare_digest(prior_root, root)
    if not proof:
        return False
    path = [prior_root, *proof] if prior_size & (prior_size - 1) == 0 else list(proof)
    fn, sn = prior_size - 1, size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            fn, sn = _shift_to_odd(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and hmac.compare_digest(fr, prior_root) and hmac.compare_digest(sr, root)


def proof_is_valid(
    proof: Sequence[str], prior_size: int, prior_root: bytes, later_size: int, later_root: bytes
) -> bool:
    """Return whether ``proof`` (a checkpoint's RFC 9162 consistency proof: hex hashes) shows
    the tree of ``prior_root`` is a prefix of ``later_root``."""
    if isinstance(proof, str | bytes) or not isinstance(proof, Sequence):
        return False  # a pymerkle proof (format /1) or something else: not an RFC 9162 proof
    try:
        hashes = [bytes.fromhex(item) for item in proof]
    except (TypeError, ValueError):
        return False
    return verify_consistency(prior_size, later_size, prior_root, later_root, hashes)
