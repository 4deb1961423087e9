"""Signed checkpoints: the size and root of the log at a moment, kept outside the database.

A checkpoint is a JSON file holding a statement (log identity, tree size, root, time, key id,
the previous checkpoint and the proof that this log extends it) and an Ed25519 signature over
the statement's RFC 8785 form. An auditor who keeps the files and the public key can later
prove that the log was not rewritten or cut short since.

Format ``approvals-checkpoint/3`` carries the RFC 9162 §2.1.4 consistency proof from the
previous checkpoint as a list of hex hashes (empty when the sizes are equal), which any RFC 9162
verifier checks, and signs ``verified``: how the log was verified before it was signed
(``"full"``: every layer, every rule, nothing found), which incremental verification relies on.
Format ``approvals-checkpoint/2``, written before, is the same without ``verified``: it loads and
verifies, and an incremental verification refuses to start from it. Format
``approvals-checkpoint/1``, written before that, carried a pymerkle proof of
another layout: such a checkpoint still loads, and its signature and root are checked, but its
old proof is kept only because the signature covers it and is never checked
(:attr:`Checkpoint.consistency` is ``None``). ``audit verify`` recomputes the root at every
checkpoint's size from the log itself and compares it with the signed root: given the earlier
checkpoint as well, that is stronger than any proof between the two signed roots.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from approvals.errors import InvalidValue, Label

__all__ = [
    "FORMAT",
    "FORMAT_1",
    "FORMAT_2",
    "VERIFIED_FULL",
    "Checkpoint",
    "generate_keys",
    "key_id",
    "load_checkpoint",
    "load_private_key",
    "load_public_key",
    "sign",
]

FORMAT = "approvals-checkpoint/3"
"""The format written: the consistency proof is RFC 9162's, a list of hex hashes."""

FORMAT_2 = "approvals-checkpoint/2"
"""The format written before ``verified`` was signed: read and checked in full."""
FORMAT_1 = "approvals-checkpoint/1"
"""The format written before: read, its signature and root checked, its proof not checked."""

VERIFIED_FULL = "full"
"""What a checkpoint's signed ``verified`` says when it was made after a full verification
(integrity, writers' signatures, decoding, every case's rules) that found nothing."""


def key_id(public: Ed25519PublicKey) -> str:
    """Return the short id of a public key: the first 16 hex digits of its SHA-256."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_keys(folder: Path) -> tuple[Path, Path, str]:
    """Write a new Ed25519 key pair into ``folder``; return the two paths and the key id."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    ident = key_id(public)
    folder.mkdir(parents=True, exist_ok=True)
    private_path = folder / f"approvals-{ident}.key"
    public_path = folder / f"approvals-{ident}.pub"
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(pem)
    public_path.write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_path, public_path, ident


def _refuse(path: Path, what: str, what_ja: str) -> InvalidValue:
    return InvalidValue(
        "value.invalid",
        field=Label(str(path), str(path)),
        kind=Label(what, what_ja),
        value="",
    )


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read an Ed25519 private key (PEM)."""
    try:
        key: object = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        key = None  # unreadable, or not PEM: refused below like a key of another kind
    if not isinstance(key, Ed25519PrivateKey):
        raise _refuse(path, "an Ed25519 private key file (PEM)", "Ed25519 秘密鍵ファイル(PEM)")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read an Ed25519 public key (PEM)."""
    try:
        key: object = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError, TypeError):
        key = None  # unreadable, or not PEM: refused below like a key of another kind
    if not isinstance(key, Ed25519PublicKey):
        raise _refuse(path, "an Ed25519 public key file (PEM)", "Ed25519 公開鍵ファイル(PEM)")
    return key


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement of the log's size and root.

    ``consistency`` is the RFC 9162 consistency proof from ``previous`` (hex hashes), ``None``
    when there is no previous checkpoint or the checkpoint is of format /1, whose pymerkle
    proof is kept in ``legacy_consistency`` for the signature only.  ``verified`` is how the
    log was verified before signing (:data:`VERIFIED_FULL`), ``None`` when the checkpoint does
    not say.
    """

    log: str
    tree_size: int
    root: bytes
    time: datetime
    key_id: str
    public_key: bytes
    previous: tuple[int, bytes] | None
    consistency: tuple[str, ...] | None
    signature: bytes
    path: str = ""
    format: str = FORMAT
    legacy_consistency: dict[str, Any] | None = None
    verified: str | None = None

    def statement(self) -> dict[str, Any]:
        """Return what is signed."""
        proof: list[str] | dict[str, Any] | None
        if self.format == FORMAT_1:
            proof = self.legacy_consistency  # pymerkle's, signed as it was written
        else:
            proof = None if self.consistency is None else list(self.consistency)
        said: dict[str, Any] = {
            "format": self.format,
            "log": self.log,
            "tree_size": self.tree_size,
            "root": self.root.hex(),
            "time": self.time.isoformat(),
            "key_id": self.key_id,
            "public_key": base64.b64encode(self.public_key).decode("ascii"),
            "previous": None
            if self.previous is None
            else {"tree_size": self.previous[0], "root": self.previous[1].hex()},
            "consistency": proof,
        }
        if self.format == FORMAT:  # /3 signs it, null when it does not say
            said["verified"] = self.verified
        return said

    def signature_is_valid(self) -> bool:
        """Return whether the signature is the embedded key's signature of the statement."""
        try:
            public = Ed25519PublicKey.from_public_bytes(self.public_key)
            if key_id(public) != self.key_id:
                return False
            public.verify(self.signature, rfc8785.dumps(self.statement()))
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_json(self) -> str:
        """Return the file's content."""
        document = {
            **self.statement(),
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }
        return json.dumps(document, indent=2) + "\n"


def sign(
    private: Ed25519PrivateKey,
    *,
    log: str,
    tree_size: int,
    root: bytes,
    time: datetime,
    previous: tuple[int, bytes] | None = None,
    consistency: tuple[str, ...] | None = None,
    verified: str | None = None,
) -> Checkpoint:
    """Return a checkpoint of the log (format /3), signed with ``private``; ``verified`` says
    how the log was verified before (:data:`VERIFIED_FULL`)."""
    public = private.public_key()
    unsigned = Checkpoint(
        log=log,
        tree_size=tree_size,
        root=root,
        time=time,
        key_id=key_id(public),
        public_key=public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        previous=previous,
        consistency=consistency,
        signature=b"",
        verified=verified,
    )
    signature = private.sign(rfc8785.dumps(unsigned.statement()))
    return replace(unsigned, signature=signature)


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a checkpoint file; refuse one that is not a checkpoint (the signature is checked
    by whoever verifies)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        kind = document.get("format")
        if kind not in (FORMAT, FORMAT_2, FORMAT_1):
            raise ValueError(kind)
        previous = document["previous"]
        proof = document["consistency"]
        legacy = proof if kind == FORMAT_1 else None
        if legacy is not None and not isinstance(legacy, dict):
            raise TypeError(legacy)
        verified = document["verified"] if kind == FORMAT else None
        if verified is not None and not isinstance(verified, str):
            raise TypeError(verified)
        return Checkpoint(
            log=str(document["log"]),
            tree_size=int(document["tree_size"]),
            root=bytes.fromhex(document["root"]),
            time=datetime.fromisoformat(document["time"]),
            key_id=str(document["key_id"]),
            public_key=base64.b64decode(document["public_key"]),
            previous=None
            if previous is None
            else (int(previous["tree_size"]), bytes.fromhex(previous["root"])),
            consistency=None if kind == FORMAT_1 else _hex_hashes(proof),
            signature=base64.b64decode(document["signature"]),
            path=str(path),
            format=kind,
            legacy_consistency=legacy,
            verified=verified,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # JSON, but no object
        formats = f"{FORMAT}, {FORMAT_2} or {FORMAT_1}"
        raise _refuse(
            path, f"a checkpoint file ({formats})", f"チェックポイントファイル({formats})"
        ) from None


def _hex_hashes(proof: object) -> tuple[str, ...] | None:
    """Return a format /2 proof as read: nothing, or a list of hex strings (kept as written,
    so that the signed statement reads back the same; a bad hex digit fails the proof)."""
    if proof is None:
        return None
    if not isinstance(proof, list) or not all(isinstance(item, str) for item in proof):
        raise TypeError(proof)
    return tuple(proof)
