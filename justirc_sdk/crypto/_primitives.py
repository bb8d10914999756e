"""Thin wrappers over pyca/cryptography: AEAD, chain/root KDFs, encoding helpers.

Every ChaCha20-Poly1305 encryption of the package goes through :func:`seal`, so a test can
observe each (key, nonce) pair at the one boundary where they meet (:func:`set_seal_observer`).
"""

from __future__ import annotations

import base64
import binascii
import hmac as _std_hmac
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as _hmac
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import DecryptionError

VERSION = 1
"""Version of the crypto envelope formats (first byte of every payload and of the bundle)."""

MAGIC = b"JIRC"
LABEL_X3DH = b"JustIRC/v1/x3dh"
LABEL_ROOT = b"JustIRC/v1/ratchet-root"
LABEL_CHAIN = b"JustIRC/v1/chain-step"
LABEL_SESSION_ID = b"JustIRC/v1/session-id"
LABEL_BUNDLE_SIG = b"JustIRC/v1/bundle-sig"
LABEL_CHANNEL_SIG = b"JustIRC/v1/channel-sig"
LABEL_FINGERPRINT = b"JustIRC/v1/fingerprint"
LABEL_KEYSTORE = b"JustIRC/v1/keystore"
LABEL_FILE = b"JustIRC/v1/file-chunk"

SealObserver = Callable[[bytes, bytes], None]
_observer: SealObserver | None = None


def set_seal_observer(observer: SealObserver | None) -> None:
    """Install (or remove with ``None``) a callback ``observer(key, nonce)`` run on every seal.

    Used by tests to prove no (key, nonce) pair is ever used twice; never set in production.
    """
    global _observer
    _observer = observer


def seal(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """ChaCha20-Poly1305 encrypt; the single place where keys meet nonces."""
    if _observer is not None:
        _observer(key, nonce)
    return ChaCha20Poly1305(key).encrypt(nonce, plaintext, aad)


def open_(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    """ChaCha20-Poly1305 decrypt, raising :class:`DecryptionError` on any failure."""
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise DecryptionError("message failed authentication") from None


def counter_nonce(n: int) -> bytes:
    """A 96-bit nonce holding the message counter (keys are used once; this binds n too)."""
    return n.to_bytes(12, "big")


def chain_step(ck: bytes) -> tuple[bytes, bytes]:
    """One symmetric-ratchet step: ``(message_key, next_chain_key)`` from one HMAC-SHA512."""
    h = _hmac.HMAC(ck, hashes.SHA512())
    h.update(LABEL_CHAIN)
    out = h.finalize()
    return out[:32], out[32:]


def hkdf(ikm: bytes, *, salt: bytes | None, info: bytes, length: int = 32) -> bytes:
    """HKDF-SHA256 with an explicit, domain-separating ``info`` label."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def sha256(*parts: bytes) -> bytes:
    """SHA-256 of the concatenation of length-prefixed *parts* (unambiguous)."""
    h = hashes.Hash(hashes.SHA256())
    for p in parts:
        h.update(len(p).to_bytes(4, "big"))
        h.update(p)
    return h.finalize()


def ct_equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison."""
    return _std_hmac.compare_digest(a, b)


def lp(data: bytes) -> bytes:
    """One-byte length prefix (for nicks and channel names, all < 256 bytes)."""
    return len(data).to_bytes(1, "big") + data


def b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64d(text: str, what: str = "payload") -> bytes:
    """Strict base64 decoding; malformed input is a :class:`DecryptionError`."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise DecryptionError(f"{what} is not valid base64") from None
