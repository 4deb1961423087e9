"""What is hashed: each stored event as RFC 8785 JSON, chained globally and per case.

leaf hash = SHA-256(0x00 || RFC 8785 form of {originator_id, originator_version, topic,
state(base64)}), node = SHA-256(0x01 || left || right) (RFC 6962 §2.1 / RFC 9162 §2.1.1).

The record holds exactly what was stored: ``originator_id`` (the UUID as text),
``originator_version`` (an integer), ``topic`` and ``state`` (the stored bytes, base64).
The Merkle tree over the leaves in log order is RFC 9162's, so its roots and proofs check
with any RFC 9162 implementation (see :mod:`approvals.audit.merkle`). The chains are
``SHA-256(0x02 || previous || leaf)``, starting from 32 zero bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json.encoder
from collections.abc import Callable
from uuid import UUID

import rfc8785

__all__ = ["GENESIS", "chain_hash", "leaf_data", "leaf_hash", "node_hash"]

GENESIS = bytes(32)
"""The chain value before the first event."""

# RFC 8785 §3.2.3 sorts keys by UTF-16 code units: originator_id < originator_version <
# state < topic.  Strings are escaped as RFC 8785 §3.2.2.2 says (", \\, \b \f \n \r \t by
# name, other controls as \u00xx in lowercase, everything else as itself in UTF-8), which
# is exactly what the json module's C escaper does when not asked for ASCII; integers are
# RFC 8785's only within ±(2**53 - 1) (I-JSON), outside which rfc8785 refuses them.
_LEAF = '{"originator_id":%s,"originator_version":%d,"state":"%s","topic":%s}'
_INT_MAX = 2**53 - 1
_INT_MIN = -(2**53) + 1
_escape: Callable[[str], str] = json.encoder.encode_basestring
_b64 = binascii.b2a_base64


def leaf_data(
    originator_id: UUID | str, originator_version: int, topic: str, state: bytes
) -> bytes:
    """Return the canonical serialisation of one stored event: exactly ``rfc8785.dumps`` of
    its record, built directly for the record's fixed shape (four keys, in RFC 8785's order)."""
    if type(originator_id) is not str:
        originator_id = str(originator_id)
    if (
        type(originator_version) is int
        and _INT_MIN <= originator_version <= _INT_MAX
        and type(topic) is str
        and type(state) is bytes
    ):
        text = _LEAF % (
            _escape(originator_id),
            originator_version,
            _b64(state, newline=False).decode("ascii"),
            _escape(topic),
        )
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: rfc8785 refuses it, as it refuses anything else amiss
    return _canonical(originator_id, originator_version, topic, state)


def _canonical(originator_id: str, originator_version: int, topic: str, state: bytes) -> bytes:
    """The record through the ``rfc8785`` package: for whatever the fixed shape does not fit."""
    record: dict[str, str | int] = {
        "originator_id": originator_id,
        "originator_version": originator_version,
        "topic": topic,
        "state": base64.b64encode(state).decode("ascii"),
    }
    return rfc8785.dumps(record)


def leaf_hash(data: bytes) -> bytes:
    """Return the Merkle leaf hash of ``data`` (RFC 9162 §2.1.1: 0x00 prefix)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the Merkle node hash of two children (RFC 9162 §2.1.1: 0x01 prefix)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def chain_hash(previous: bytes, leaf: bytes) -> bytes:
    """Return the next value of a hash chain."""
    return hashlib.sha256(b"\x02" + previous + leaf).digest()
