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
import hashlib
from uuid import UUID

import rfc8785

__all__ = ["GENESIS", "chain_hash", "leaf_data", "leaf_hash", "node_hash"]

GENESIS = bytes(32)
"""The chain value before the first event."""


def leaf_data(
    originator_id: UUID | str, originator_version: int, topic: str, state: bytes
) -> bytes:
    """Return the canonical serialisation of one stored event."""
    record: dict[str, str | int] = {
        "originator_id": str(originator_id),
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
