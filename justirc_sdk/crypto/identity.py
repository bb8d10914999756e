"""Long-term identity, signed prekeys, public bundles, fingerprints and safety numbers.

A user (device) has one Ed25519 identity key. It signs a bundle holding an X25519
identity-DH key and an X25519 signed prekey, bound to the user's nick. The bundle is what
the server relays opaquely; receivers verify its signature themselves, the server is never
a trust anchor.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..protocol.limits import nick_key
from ._primitives import LABEL_BUNDLE_SIG, LABEL_FINGERPRINT, VERSION, b64d, b64e, lp, sha256
from .errors import BadSignatureError, DecryptionError

__all__ = [
    "IdentityKeys",
    "PublicBundle",
    "fingerprint",
    "safety_number",
]

MAX_OLD_PREKEYS = 2
"""Signed prekeys kept after a rotation, so handshakes in flight still complete."""


def raw_pub(key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class PublicBundle:
    """The public half of an identity, as published through ``publish_keys``."""

    nick: str
    identity: bytes
    """Ed25519 identity public key (32 bytes): what fingerprints are computed from."""
    identity_dh: bytes
    """X25519 identity-DH public key (32 bytes), signed by ``identity``."""
    prekey_id: int
    prekey: bytes
    """X25519 signed prekey (32 bytes)."""
    signature: bytes

    def _signed_part(self) -> bytes:
        return (
            LABEL_BUNDLE_SIG
            + bytes([VERSION])
            + lp(nick_key(self.nick).encode())
            + self.identity
            + self.identity_dh
            + struct.pack(">I", self.prekey_id)
            + self.prekey
        )

    def to_bytes(self) -> bytes:
        n = nick_key(self.nick).encode()
        return (
            bytes([VERSION])
            + lp(n)
            + self.identity
            + self.identity_dh
            + struct.pack(">I", self.prekey_id)
            + self.prekey
            + self.signature
        )

    def encode(self) -> str:
        """Base64 text for the ``publish_keys`` frame."""
        return b64e(self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> PublicBundle:
        """Parse and verify; raise :class:`BadSignatureError` for anything malformed or forged."""
        try:
            if data[0] != VERSION:
                raise BadSignatureError(f"unsupported key bundle version {data[0]}")
            ln = data[1]
            nick = data[2 : 2 + ln].decode("ascii")
            rest = data[2 + ln :]
            if len(rest) != 32 + 32 + 4 + 32 + 64:
                raise BadSignatureError("key bundle has the wrong length")
            ik, ikdh = rest[:32], rest[32:64]
            (pid,) = struct.unpack(">I", rest[64:68])
            b = cls(nick, ik, ikdh, pid, rest[68:100], rest[100:164])
        except (IndexError, UnicodeDecodeError):
            raise BadSignatureError("key bundle is malformed") from None
        b.verify()
        return b

    @classmethod
    def decode(cls, text: str) -> PublicBundle:
        try:
            return cls.from_bytes(b64d(text, "key bundle"))
        except DecryptionError as exc:
            if isinstance(exc, BadSignatureError):
                raise
            raise BadSignatureError(str(exc)) from None

    def verify(self) -> None:
        """Check the identity key's signature over the rest of the bundle."""
        try:
            Ed25519PublicKey.from_public_bytes(self.identity).verify(
                self.signature, self._signed_part()
            )
        except (InvalidSignature, ValueError):
            raise BadSignatureError(
                f"key bundle for {self.nick!r} has an invalid signature; it was refused"
            ) from None


@dataclass(slots=True)
class IdentityKeys:
    """The private identity of this device: signing key, identity-DH key and signed prekeys."""

    nick: str
    signing: Ed25519PrivateKey
    identity_dh: X25519PrivateKey
    prekeys: dict[int, X25519PrivateKey] = field(default_factory=dict)
    prekey_id: int = 0

    @classmethod
    def generate(cls, nick: str) -> IdentityKeys:
        ident = cls(nick, Ed25519PrivateKey.generate(), X25519PrivateKey.generate())
        ident.rotate_prekey()
        return ident

    def rotate_prekey(self) -> int:
        """Create a new signed prekey (keeping a few old ones for in-flight handshakes)."""
        new_id = (self.prekey_id + 1) & 0xFFFFFFFF or 1
        while new_id in self.prekeys:
            new_id = int.from_bytes(os.urandom(4), "big") or 1
        self.prekeys[new_id] = X25519PrivateKey.generate()
        self.prekey_id = new_id
        while len(self.prekeys) > 1 + MAX_OLD_PREKEYS:
            del self.prekeys[next(iter(self.prekeys))]  # dicts keep insertion order
        return new_id

    @property
    def public_identity(self) -> bytes:
        return raw_pub(self.signing.public_key())

    def bundle(self) -> PublicBundle:
        pre = raw_pub(self.prekeys[self.prekey_id].public_key())
        unsigned = PublicBundle(
            self.nick,
            self.public_identity,
            raw_pub(self.identity_dh.public_key()),
            self.prekey_id,
            pre,
            b"",
        )
        sig = self.signing.sign(unsigned._signed_part())
        return PublicBundle(
            unsigned.nick, unsigned.identity, unsigned.identity_dh, self.prekey_id, pre, sig
        )


def _digits(data: bytes, groups: int) -> list[str]:
    out = []
    for i in range(groups):
        chunk = int.from_bytes(data[i * 5 : i * 5 + 5], "big") % 100_000
        out.append(f"{chunk:05d}")
    return out


def fingerprint(identity: bytes) -> str:
    """Six groups of five digits identifying an Ed25519 identity key."""
    return " ".join(_digits(sha256(LABEL_FINGERPRINT, identity), 6))


def safety_number(identity_a: bytes, identity_b: bytes) -> str:
    """Twelve groups of five digits for a pair; the same on both sides (order-independent)."""
    fa, fb = sorted([fingerprint(identity_a), fingerprint(identity_b)])
    return f"{fa} {fb}"
