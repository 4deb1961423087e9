"""Case keys sealed to the auditor: a libsodium sealed box to the auditor's own key pair.

A bundle never carries a case's data key in clear. For an auditor who must replay the cases
(decrypted), ``audit export --seal-to AUDITOR.pub`` seals the keys with libsodium's
``crypto_box_seal`` (PyNaCl :class:`nacl.public.SealedBox`: an ephemeral X25519 key agreement,
XSalsa20-Poly1305), which only the holder of the matching private key opens.

One key pair serves both purposes. The auditor's key pair from ``audit keygen`` is Ed25519
(it signs checkpoints); its X25519 form is derived with libsodium's own
``crypto_sign_ed25519_pk_to_curve25519`` / ``crypto_sign_ed25519_sk_to_curve25519`` (PyNaCl's
:meth:`VerifyKey.to_curve25519_public_key` / :meth:`SigningKey.to_curve25519_private_key`),
rather than ``keygen`` also writing an X25519 pair, because:

- the key a bundle is sealed to is the very key the auditor pins with ``--key``: there is no
  second public key that could be swapped or mixed up, and no second private file to keep;
- the conversion is libsodium's, made for this use (Ed25519 and X25519 are the same curve);
  the two uses do not meet: signatures are over RFC 8785 checkpoint statements, the box's key
  agreement is with a fresh ephemeral key, and neither yields anything the other accepts.

The price is that the auditor's one private key both signs and opens: it was already the key
that had to be kept safest.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.exceptions import CryptoError
from nacl.public import SealedBox
from nacl.signing import SigningKey, VerifyKey

__all__ = ["NotSealedToThisKey", "open_sealed", "seal"]


class NotSealedToThisKey(ValueError):
    """The sealed box does not open with this private key (another key, or altered)."""


def seal(plain: bytes, public: Ed25519PublicKey) -> bytes:
    """Return ``plain`` sealed to the auditor's (Ed25519) public key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return bytes(SealedBox(VerifyKey(raw).to_curve25519_public_key()).encrypt(plain))


def open_sealed(sealed: bytes, private: Ed25519PrivateKey) -> bytes:
    """Return what was sealed to the public half of ``private``."""
    seed = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    try:
        return bytes(SealedBox(SigningKey(seed).to_curve25519_private_key()).decrypt(sealed))
    except CryptoError:
        raise NotSealedToThisKey("the sealed box does not open with this key") from None
