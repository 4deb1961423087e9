"""The RFC 6962 Merkle tree over the ledger's leaves: roots and consistency proofs.

Roots are computed streaming, in O(log n) memory, so that a log of millions of events can be
verified. Consistency proofs between two tree sizes come from pymerkle, reading subtrees of
leaves from the ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pymerkle import BaseMerkleTree, ConsistencyProof, InvalidProof, verify_consistency

from approvals.audit.hashing import node_hash

__all__ = ["LeafTree", "RootBuilder", "proof_is_valid", "prove_consistency", "root_of"]

EMPTY_ROOT = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
"""SHA-256 of nothing: the root of the empty tree (RFC 6962)."""


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


class LeafTree(BaseMerkleTree):  # type: ignore[misc]
    """A read-only pymerkle tree whose leaf hashes come from a reader of leaf ranges."""

    def __init__(self, size: int, read: Callable[[int, int], Sequence[bytes]]) -> None:
        self._size = size
        self._read = read
        super().__init__("sha256")

    def _encode_entry(self, data: Any) -> bytes:
        raise NotImplementedError("the ledger is written by the recorder only")

    def _store_leaf(self, data: Any, digest: bytes) -> int:
        raise NotImplementedError("the ledger is written by the recorder only")

    def _get_leaf(self, index: int) -> bytes:
        return self._read(index - 1, 1)[0]

    def _get_leaves(self, offset: int, width: int) -> Sequence[bytes]:
        return self._read(offset, width)

    def _get_size(self) -> int:
        return self._size


def prove_consistency(tree: LeafTree, prior_size: int, later_size: int) -> dict[str, Any]:
    """Return the serialised proof that the first ``prior_size`` leaves are unchanged."""
    proof: ConsistencyProof = tree.prove_consistency(prior_size, later_size)
    serialised: dict[str, Any] = proof.serialize()
    return serialised


def proof_is_valid(
    proof: dict[str, Any], prior_size: int, prior_root: bytes, later_size: int, later_root: bytes
) -> bool:
    """Return whether ``proof`` shows the tree of ``prior_root`` is a prefix of ``later_root``."""
    try:
        verify_consistency(
            prior_root,
            later_root,
            ConsistencyProof.deserialize(proof),
            prior_size=prior_size,
            later_size=later_size,
        )
    except (InvalidProof, KeyError, ValueError, TypeError):
        return False
    return True
