"""Writers' signatures: every event appended once signing began is signed by a registered key.

The database holds the events, the ledger and the public keys the roster registered; it never
holds a private key.  A person's own key signs what they do at the command line; a host
application's service key signs for the people its sign-on authenticated.  Each event gets a
row of its own in the append-only ``approvals_signatures`` table, written in the same
transaction as the event and its ledger row::

    position   the event's position in the log (the ledger's)
    writer     who acted (the command's actor)
    key_id     the first 16 hex digits of SHA-256 of the signing key's 32 bytes
    signature  Ed25519 over the RFC 8785 form of
               {"leaf_hash": <hex>, "position": <n>, "writer": <name>}

so a row inserted with database credentials alone (the least-privilege role may INSERT) has no
valid signature by a key the roster registered for that writer at that moment, and
``audit verify`` names it.  Signing begins with the first key the roster registers (the
representative's own, registered by themselves): events before it are unsigned, and the
report says from which position on events are signed.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table

from approvals.domain.roster import key_id_of
from approvals.errors import InvalidValue, Label

__all__ = [
    "SIGNATURES_TABLE",
    "WriterKey",
    "key_file",
    "load_writer_key",
    "new_writer_key",
    "public_key_hex",
    "signature_is_valid",
    "signatures_table",
    "statement",
]

SIGNATURES_TABLE = "approvals_signatures"
_ID = BigInteger().with_variant(Integer(), "sqlite")


def signatures_table(metadata: MetaData | None = None) -> Table:
    """Return the signatures table's definition."""
    return Table(
        SIGNATURES_TABLE,
        metadata or MetaData(),
        Column("position", _ID, primary_key=True, autoincrement=False),
        Column("writer", String(200), nullable=False),
        Column("key_id", String(16), nullable=False),
        Column("signature", String(128), nullable=False),
    )


def statement(position: int, leaf: bytes, writer: str) -> bytes:
    """Return the bytes a writer signs for the event at ``position`` whose leaf is ``leaf``."""
    return rfc8785.dumps({"leaf_hash": leaf.hex(), "position": position, "writer": writer})


def signature_is_valid(
    public_key: str, position: int, leaf: bytes, writer: str, signature: str
) -> bool:
    """Return whether ``signature`` (hex) is ``public_key``'s (hex) over the event's statement."""
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
        key.verify(bytes.fromhex(signature), statement(position, leaf, writer))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class WriterKey:
    """A private key that signs events: a person's own, or a host application's service key."""

    holder: str
    private: Ed25519PrivateKey
    service: bool = False

    @property
    def public_key(self) -> str:
        """The public half, as 64 hex digits (what the roster registers)."""
        raw = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return raw.hex()

    @property
    def key_id(self) -> str:
        """The key's short id."""
        return key_id_of(self.public_key)

    def sign(self, position: int, leaf: bytes, writer: str) -> str:
        """Return the signature (hex) of the event at ``position`` written by ``writer``."""
        return self.private.sign(statement(position, leaf, writer)).hex()


def key_file(folder: Path, holder: str) -> Path:
    """Return where ``holder``'s private key is kept in ``folder``: ``<name>.key`` for a plain
    name, else a name made from its SHA-256 (any name a roster allows has a file)."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", holder):
        return folder / f"{holder}.key"
    return folder / f"writer-{hashlib.sha256(holder.encode('utf-8')).hexdigest()[:24]}.key"


def new_writer_key(folder: Path, holder: str, *, service: bool = False) -> tuple[WriterKey, Path]:
    """Make a new key for ``holder`` in ``folder`` (private key 0600, folder 0700; never over an
    existing key), with its public half beside it (``.pub``, PEM); return it and its path."""
    path = key_file(folder, holder)
    if path.exists():
        raise InvalidValue(
            "value.invalid",
            field=Label(f"The key file {path}", f"鍵ファイル {path}"),
            kind=Label("a file that does not exist yet", "まだ存在しないファイル"),
            value=str(path),
        )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(pem)
    path.with_suffix(".pub").write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return WriterKey(holder, private, service), path


def load_writer_key(path: Path, holder: str, *, service: bool = False) -> WriterKey:
    """Read ``holder``'s private key (PEM, as :func:`new_writer_key` writes it); refuse a key
    others may read (as ssh does): whoever reads it signs as its holder."""
    if os.name == "posix" and path.is_file() and path.stat().st_mode & 0o077:
        raise InvalidValue(
            "value.invalid",
            field=Label(f"The key file {path}", f"鍵ファイル {path}"),
            kind=Label(
                f"a file only its owner may read (chmod 600 {path})",
                f"所有者だけが読めるファイル(chmod 600 {path})",
            ),
            value="",
        )
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        private = None
    if not isinstance(private, Ed25519PrivateKey):
        raise InvalidValue(
            "value.invalid",
            field=Label(f"The key file {path}", f"鍵ファイル {path}"),
            kind=Label("an Ed25519 private key (PEM)", "Ed25519 秘密鍵(PEM)"),
            value="",
        )
    return WriterKey(holder, private, service)


def public_key_hex(path: Path) -> str:
    """Read a public key file (PEM, or 64 hex digits) and return its 32 bytes as hex."""
    try:
        data = path.read_bytes()
        if data.strip().startswith(b"-----"):
            key = serialization.load_pem_public_key(data)
            if isinstance(key, Ed25519PublicKey):
                return key.public_bytes(
                    serialization.Encoding.Raw, serialization.PublicFormat.Raw
                ).hex()
        else:
            text = data.decode("ascii").strip()
            if re.fullmatch(r"[0-9a-fA-F]{64}", text):
                return text.lower()
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    raise InvalidValue(
        "value.invalid",
        field=Label(f"The public key file {path}", f"公開鍵ファイル {path}"),
        kind=Label(
            "an Ed25519 public key (PEM or 64 hex digits)", "Ed25519 公開鍵(PEM か 16 進 64 桁)"
        ),
        value="",
    )
