"""The leaf's canonical form, built directly for its fixed shape, is RFC 8785's to the byte."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from approvals.audit.hashing import leaf_data


def _published_vectors() -> Path:
    """The folder of RFC 8785's published vectors: APPROVALS_CONFORMANCE_VECTORS, else the
    shared folder kept beside the project's checkout (an sdist has none: the tests that need
    them are skipped, saying so)."""
    given = os.environ.get("APPROVALS_CONFORMANCE_VECTORS")
    if given:
        return Path(given) / "jcs"
    shared = Path("/work/shared/conformance-vectors/jcs")
    if shared.is_dir():
        return shared
    return Path(__file__).resolve().parents[3] / "shared" / "conformance-vectors" / "jcs"


VECTORS = _published_vectors()
needs_vectors = pytest.mark.skipif(
    not VECTORS.is_dir(),
    reason=f"the published RFC 8785 vectors are not at {VECTORS} (not part of the sdist; set "
    "APPROVALS_CONFORMANCE_VECTORS to the conformance-vectors folder)",
)

SAFE = 2**53 - 1


def reference(originator_id: Any, version: Any, topic: Any, state: Any) -> bytes:
    """What the rfc8785 package makes of the leaf's record."""
    import base64

    return rfc8785.dumps(
        {
            "originator_id": str(originator_id),
            "originator_version": version,
            "topic": topic,
            "state": base64.b64encode(state).decode("ascii"),
        }
    )


def topic_part(data: bytes) -> bytes:
    """The topic's JSON string as the leaf holds it (the last member)."""
    return data[data.index(b',"topic":') + len(b',"topic":') : -1]


@given(
    originator=st.uuids(),
    version=st.integers(min_value=-SAFE, max_value=SAFE),
    topic=st.text(st.characters(blacklist_categories=["Cs"])),
    state=st.binary(max_size=300),
)
def test_the_leaf_is_byte_identical_to_rfc8785_for_any_row(
    originator: UUID, version: int, topic: str, state: bytes
) -> None:
    expected = reference(originator, version, topic, state)
    assert leaf_data(originator, version, topic, state) == expected
    assert leaf_data(str(originator), version, topic, state) == expected


@given(
    topic=st.text(st.sampled_from('"\\/\x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f\x80é€😂\u2028\u2029'))
    | st.text(),
    version=st.sampled_from([0, 1, SAFE, -SAFE, 2**31, 2**32 + 1]),
)
def test_characters_json_must_escape_and_big_versions_come_out_as_rfc8785_says(
    topic: str, version: int
) -> None:
    originator = uuid4()
    try:
        expected: bytes | type[Exception] = reference(originator, version, topic, b"\x00\xff")
    except rfc8785.CanonicalizationError:
        expected = rfc8785.CanonicalizationError
    if isinstance(expected, bytes):
        assert leaf_data(originator, version, topic, b"\x00\xff") == expected
    else:  # a lone surrogate: refused the same way
        with pytest.raises(expected):
            leaf_data(originator, version, topic, b"\x00\xff")


@pytest.mark.parametrize("version", [SAFE + 1, -SAFE - 1, 2**64])
def test_a_version_outside_the_safe_integers_is_refused_as_rfc8785_refuses_it(
    version: int,
) -> None:
    with pytest.raises(rfc8785.IntegerDomainError):
        leaf_data(uuid4(), version, "topic", b"")


def test_a_lone_surrogate_is_refused_as_rfc8785_refuses_it() -> None:
    with pytest.raises(rfc8785.CanonicalizationError):
        leaf_data(uuid4(), 1, "a\ud800b", b"")


def test_values_outside_the_fixed_shape_go_through_rfc8785() -> None:
    class Topic(str):
        pass

    originator = uuid4()
    assert leaf_data(originator, True, "t", b"x") == reference(originator, True, "t", b"x")
    assert leaf_data(originator, 2, Topic("t\n"), b"x") == reference(originator, 2, "t\n", b"x")
    assert leaf_data(originator, 2, "t", bytearray(b"x")) == reference(originator, 2, "t", b"x")
    assert leaf_data(originator, 2, "t", memoryview(b"xy")) == reference(originator, 2, "t", b"xy")


def _strings_and_integers(value: Any) -> tuple[list[str], list[int]]:
    strings: list[str] = []
    integers: list[int] = []

    def walk(item: Any) -> None:
        if isinstance(item, str):
            strings.append(item)
        elif isinstance(item, bool) or item is None or isinstance(item, float):
            return
        elif isinstance(item, int):
            integers.append(item)
        elif isinstance(item, list):
            for element in item:
                walk(element)
        elif isinstance(item, dict):
            for key, element in item.items():
                walk(key)
                walk(element)

    walk(value)
    return strings, integers


VECTOR_NAMES = sorted(p.stem for p in (VECTORS / "input").glob("*.json"))


@needs_vectors
def test_the_published_vectors_are_there() -> None:
    assert {"weird", "values", "unicode", "french"} <= set(VECTOR_NAMES)


@needs_vectors
@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_every_string_and_integer_of_the_published_vectors_is_written_as_they_publish(
    name: str,
) -> None:
    value = json.loads((VECTORS / "input" / f"{name}.json").read_text(encoding="utf-8"))
    published = (VECTORS / "output" / f"{name}.json").read_bytes().strip()
    hexed = (VECTORS / "outhex" / f"{name}.txt").read_text()
    assert bytes.fromhex("".join(hexed.split())) == published
    strings, integers = _strings_and_integers(value)
    originator = uuid4()
    for text in strings:
        data = leaf_data(originator, 1, text, b"")
        assert data == reference(originator, 1, text, b"")
        assert topic_part(data) in published, text
    for number in integers:
        data = leaf_data(originator, number, "t", b"")
        assert data == reference(originator, number, "t", b"")
        assert f":{number},".encode() in data
        assert str(number).encode() in published


@given(
    position=st.integers(min_value=0, max_value=SAFE),
    leaf=st.binary(min_size=32, max_size=32),
    writer=st.text(st.characters(blacklist_categories=["Cs"])),
)
def test_the_signed_statement_built_directly_is_the_documented_one(
    position: int, leaf: bytes, writer: str
) -> None:
    from approvals.audit.signing import statement
    from approvals.audit.writers import _statement

    assert _statement(position, leaf, writer) == statement(position, leaf, writer)


def test_signatures_verified_in_batches_agree_with_the_single_check() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
    )

    from approvals.audit.signing import WriterKey, signature_is_valid, statement
    from approvals.audit.writers import verify_batch

    key, other = (WriterKey("x", Ed25519PrivateKey.generate()) for _ in range(2))
    leaf = bytes(range(32))
    good = key.sign(7, leaf, "sato")
    cases = [
        (key.public_key, 7, "sato", good),
        (other.public_key, 7, "sato", good),  # another key
        (key.public_key, 8, "sato", good),  # another position
        (key.public_key, 7, "suzuki", good),  # another writer
        (key.public_key, 7, "sato", good[:-2] + ("00" if good[-2:] != "00" else "01")),
        (key.public_key, 7, "sato", "not hex"),
        ("not a key", 7, "sato", good),
        (key.public_key[:-2], 7, "sato", good),
    ]
    batch = [(public, statement(at, leaf, who), sig) for public, at, who, sig in cases]
    expected = [signature_is_valid(public, at, leaf, who, sig) for public, at, who, sig in cases]
    assert verify_batch(batch) == expected == [True] + [False] * 7
