"""Sender Keys for channels: one chain and one signing key per member per epoch (pure).

Wire layout of a channel payload (before base64)::

    ver u8 | kind u8 (=3) | epoch u32 | n u32 | ciphertext+tag | signature 64

AEAD: key = the chain's message key for ``n`` (used once), nonce = ``n``, associated data =
``MAGIC | lp(channel) | lp(sender) | header``. The Ed25519 signature (the sender's per-epoch
channel signing key) covers ``LABEL | aad | ciphertext``, so a member who holds the chain key
still cannot forge another member's message. Cost per message: one HMAC, one AEAD, one
signature, whatever the channel size.

A distribution message (the plaintext of a pairwise control message) is::

    type u8 (=1) | lp(channel) | epoch u32 | n u32 | chain_key 32 | signing_pub 32
"""

from __future__ import annotations

import os
import struct
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ._primitives import (
    LABEL_CHANNEL_SIG,
    MAGIC,
    VERSION,
    b64d,
    b64e,
    chain_step,
    counter_nonce,
    lp,
    open_,
    seal,
)
from .errors import (
    BadSignatureError,
    DecryptionError,
    ReplayError,
    TooManySkippedError,
)
from .identity import raw_pub
from .ratchet import KIND_CHANNEL, RatchetLimits

__all__ = ["ChannelHeader", "Distribution", "OwnChain", "PeerChain", "SenderKeyMessage"]

_HDR = struct.Struct(">BBII")
_SKDM = struct.Struct(">II32s32s")
CONTROL_SENDER_KEY = 1


@dataclass(frozen=True, slots=True)
class SenderKeyMessage:
    """A sender-key distribution: 'my chain in *channel* for *epoch* is at *n* with this key'."""

    channel: str
    epoch: int
    n: int
    chain_key: bytes
    signing_pub: bytes

    def to_bytes(self) -> bytes:
        return (
            bytes([CONTROL_SENDER_KEY])
            + lp(self.channel.encode())
            + _SKDM.pack(self.epoch, self.n, self.chain_key, self.signing_pub)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SenderKeyMessage:
        try:
            if data[0] != CONTROL_SENDER_KEY:
                raise DecryptionError("unknown control message type")
            ln = data[1]
            channel = data[2 : 2 + ln].decode("ascii")
            if len(data) != 2 + ln + _SKDM.size:
                raise DecryptionError("malformed sender-key message")
            epoch, n, ck, sp = _SKDM.unpack_from(data, 2 + ln)
        except (IndexError, UnicodeDecodeError, struct.error):
            raise DecryptionError("malformed sender-key message") from None
        return cls(channel, epoch, n, ck, sp)


@dataclass(frozen=True, slots=True)
class ChannelHeader:
    """A parsed channel payload."""

    epoch: int
    n: int
    header: bytes
    ciphertext: bytes
    signature: bytes

    @classmethod
    def parse(cls, data: bytes) -> ChannelHeader:
        if len(data) < _HDR.size + 16 + 64:
            raise DecryptionError("malformed channel message")
        ver, kind, epoch, n = _HDR.unpack_from(data)
        if ver != VERSION:
            raise DecryptionError(f"unsupported message version {ver}")
        if kind != KIND_CHANNEL:
            raise DecryptionError("not a channel message")
        return cls(epoch, n, data[: _HDR.size], data[_HDR.size : -64], data[-64:])


def _aad(channel: str, sender: str, header: bytes) -> bytes:
    return MAGIC + lp(channel.encode()) + lp(sender.encode()) + header


@dataclass(slots=True)
class OwnChain:
    """This member's sending chain in one channel for one epoch."""

    epoch: int
    ck: bytes
    signing: Ed25519PrivateKey
    started: float
    n: int = 0
    reserved: int = 0
    distributed: set[str] = field(default_factory=set)
    """Members (nick keys) this epoch's key was handed to."""
    handed: dict[str, bytes] = field(default_factory=dict)
    """The exact distribution each member was handed (in memory only), so a member whose
    copy was lost can be handed the same one again, from the same chain position."""

    @classmethod
    def fresh(cls, epoch: int, now: float) -> OwnChain:
        return cls(epoch, os.urandom(32), Ed25519PrivateKey.generate(), now)

    def distribution(self, channel: str) -> SenderKeyMessage:
        """The chain as of now: a newcomer can read what follows, never what came before."""
        return SenderKeyMessage(
            channel, self.epoch, self.n, self.ck, raw_pub(self.signing.public_key())
        )

    def encrypt(self, channel: str, sender: str, plaintext: bytes) -> bytes:
        if self.n >= self.reserved:
            raise RuntimeError("counter reservation exhausted; persist first")
        mk, self.ck = chain_step(self.ck)
        n = self.n
        self.n = n + 1
        header = _HDR.pack(VERSION, KIND_CHANNEL, self.epoch, n)
        aad = _aad(channel, sender, header)
        ct = seal(mk, counter_nonce(n), plaintext, aad)
        return header + ct + self.signing.sign(LABEL_CHANNEL_SIG + aad + ct)

    def to_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "ck": b64e(self.ck),
            "signing": b64e(self.signing.private_bytes_raw()),
            "started": self.started,
            "n": self.n,
            "reserved": self.reserved,
            "distributed": sorted(self.distributed),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OwnChain:
        """Restore, skipping ahead to the persisted reservation so no counter is reused."""
        c = cls(
            d["epoch"],
            b64d(d["ck"]),
            Ed25519PrivateKey.from_private_bytes(b64d(d["signing"])),
            d["started"],
            d["n"],
            d["reserved"],
            set(d["distributed"]),
        )
        while c.n < c.reserved:
            _, c.ck = chain_step(c.ck)
            c.n += 1
        return c


@dataclass(slots=True)
class PeerChain:
    """Another member's chain in one channel for one epoch, as distributed to us."""

    epoch: int
    ck: bytes
    n: int
    signing_pub: bytes
    limits: RatchetLimits
    skipped: OrderedDict[int, tuple[bytes, float]] = field(default_factory=OrderedDict)
    _verifier: Ed25519PublicKey | None = None

    def decrypt(self, channel: str, sender: str, msg: ChannelHeader, now: float) -> bytes:
        """Verify the signature, then two-phase decrypt; state is unchanged on any failure."""
        lim = self.limits
        n = msg.n
        if n in self.skipped:
            if now - self.skipped[n][1] > lim.skipped_ttl:
                raise ReplayError("message key expired")
        elif n < self.n:
            raise ReplayError("channel message already received")
        elif n - self.n > lim.max_skip:
            raise TooManySkippedError("channel message counter too far ahead")
        aad = _aad(channel, sender, msg.header)
        if self._verifier is None:
            self._verifier = Ed25519PublicKey.from_public_bytes(self.signing_pub)
        try:
            self._verifier.verify(msg.signature, LABEL_CHANNEL_SIG + aad + msg.ciphertext)
        except InvalidSignature:
            raise BadSignatureError("channel message signature does not verify") from None
        nonce = counter_nonce(n)
        if n in self.skipped:
            pt = open_(self.skipped[n][0], nonce, msg.ciphertext, aad)
            del self.skipped[n]
            return pt
        ck = self.ck
        keys = []
        for _ in range(self.n, n):
            mk, ck = chain_step(ck)
            keys.append(mk)
        mk, ck = chain_step(ck)
        pt = open_(mk, nonce, msg.ciphertext, aad)
        for i, k in enumerate(keys):
            self.skipped[self.n + i] = (k, now)
        self.ck, self.n = ck, n + 1
        if keys:
            self._trim(now)
        return pt

    def _trim(self, now: float) -> None:
        cutoff = now - self.limits.skipped_ttl
        while self.skipped and (
            len(self.skipped) > self.limits.max_stored
            or next(iter(self.skipped.values()))[1] < cutoff
        ):
            self.skipped.popitem(last=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "ck": b64e(self.ck),
            "n": self.n,
            "signing_pub": b64e(self.signing_pub),
            "skipped": [[n, b64e(k), t] for n, (k, t) in self.skipped.items()],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], limits: RatchetLimits) -> PeerChain:
        return cls(
            d["epoch"],
            b64d(d["ck"]),
            d["n"],
            b64d(d["signing_pub"]),
            limits,
            OrderedDict((n, (b64d(k), t)) for n, k, t in d["skipped"]),
        )


@dataclass(frozen=True, slots=True)
class Distribution:
    """What :meth:`CryptoEngine.channel_prepare_send` produced."""

    channel: str
    epoch: int
    rotated: bool
    """True when this call started a new epoch (first send, leave/kick/ban, N messages, T time)."""
    payloads: list[tuple[str, str]]
    """``(peer, payload)``: send each as a ``privmsg`` (kind ``ctl``) BEFORE the channel message."""
    missing: list[str]
    """Members whose bundle is unknown: fetch it, ``add_bundle``, call ``channel_prepare_send``
    again. Until then they cannot read this member's channel messages."""
    blocked: list[str]
    """Members refused keys: key changed (unacknowledged / needs re-verification), or not
    verified while ``require_verified`` is set."""
