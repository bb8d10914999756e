"""X3DH-style handshake and the Double Ratchet for one pairwise session (pure, no I/O).

Wire layout of a private payload (before base64)::

    ver u8 | kind u8 | flags u8
    [flags & 1: epoch u32 | prekey_id u32 | ephemeral 32 | bundle_len u16 | sender bundle]
    session_id 16 | ratchet_pub 32 | pn u32 | n u32 | ciphertext+tag

The AEAD key is a fresh per-message key from the symmetric ratchet, the nonce is the counter,
and the associated data is ``MAGIC | lp(sender) | lp(recipient) | epoch | ik_init | ik_resp |
header`` so version, kind, direction, session, epoch and counter are all authenticated.
Decryption is two-phase: every derivation happens on locals and is committed only after the
AEAD tag verifies.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from ..protocol.limits import nick_key
from ._primitives import (
    LABEL_ROOT,
    LABEL_SESSION_ID,
    LABEL_X3DH,
    MAGIC,
    VERSION,
    b64d,
    b64e,
    chain_step,
    counter_nonce,
    hkdf,
    lp,
    open_,
    seal,
    sha256,
)
from .errors import DecryptionError, ReplayError, TooManySkippedError
from .identity import IdentityKeys, PublicBundle, raw_pub

__all__ = ["KIND_CHANNEL", "KIND_CONTROL", "KIND_PRIVATE", "PrivateHeader", "RatchetSession"]

KIND_PRIVATE = 1
KIND_CONTROL = 2
KIND_CHANNEL = 3

_FLAG_PREKEY = 1
_TAIL = struct.Struct(">16s32sII")
_PREKEY = struct.Struct(">II32sH")


@dataclass(frozen=True, slots=True)
class RatchetLimits:
    """Bounds on out-of-order delivery."""

    max_skip: int = 1000
    """Largest counter gap accepted in one message (a larger jump is rejected at once)."""
    max_stored: int = 1000
    """Most skipped-message keys kept per session (oldest evicted first)."""
    skipped_ttl: float = 7 * 24 * 3600.0
    """Seconds a skipped-message key is kept before it expires."""


@dataclass(frozen=True, slots=True)
class PrivateHeader:
    """A parsed private payload."""

    kind: int
    header: bytes
    session_id: bytes
    ratchet_pub: bytes
    pn: int
    n: int
    ciphertext: bytes
    epoch: int = 0
    prekey_id: int = 0
    ephemeral: bytes = b""
    bundle: bytes = b""

    @property
    def is_prekey(self) -> bool:
        return bool(self.ephemeral)

    @classmethod
    def parse(cls, data: bytes) -> PrivateHeader:
        try:
            if data[0] != VERSION:
                raise DecryptionError(f"unsupported message version {data[0]}")
            kind, flags = data[1], data[2]
            if kind not in (KIND_PRIVATE, KIND_CONTROL):
                raise DecryptionError("not a private message")
            off = 3
            epoch = pid = 0
            eph = bundle = b""
            if flags & _FLAG_PREKEY:
                epoch, pid, eph, blen = _PREKEY.unpack_from(data, off)
                off += _PREKEY.size
                bundle = data[off : off + blen]
                if len(bundle) != blen:
                    raise DecryptionError("truncated message")
                off += blen
            sid, rpub, pn, n = _TAIL.unpack_from(data, off)
            off += _TAIL.size
        except (IndexError, struct.error):
            raise DecryptionError("malformed private message") from None
        if len(data) - off < 16:
            raise DecryptionError("truncated message")
        return cls(kind, data[:off], sid, rpub, pn, n, data[off:], epoch, pid, eph, bundle)


def _kdf_rk(rk: bytes, dh_out: bytes) -> tuple[bytes, bytes]:
    out = hkdf(dh_out, salt=rk, info=LABEL_ROOT, length=64)
    return out[:32], out[32:]


def _derive(ck: bytes, start: int, target: int) -> tuple[list[bytes], bytes, bytes]:
    """Keys for counters start..target-1 (skipped), the key for *target*, and the next chain key."""
    skipped = []
    for _ in range(start, target):
        mk, ck = chain_step(ck)
        skipped.append(mk)
    mk, ck = chain_step(ck)
    return skipped, mk, ck


def _x3dh_secret(
    parts: bytes, ik_a: bytes, ik_b: bytes, nick_a: str, nick_b: str, epoch: int
) -> bytes:
    # nicks are case-insensitive identities: bind their canonical form, so "Alice" and
    # the "alice" a peer derives from a server-stamped sender agree
    a, b = nick_key(nick_a).encode(), nick_key(nick_b).encode()
    info = LABEL_X3DH + ik_a + ik_b + lp(a) + lp(b)
    info += struct.pack(">I", epoch)
    return hkdf(b"\xff" * 32 + parts, salt=bytes(32), info=info)


@dataclass(slots=True)
class RatchetSession:
    """One Double Ratchet session with one peer."""

    session_id: bytes
    epoch: int
    initiator_nick: str
    ad: bytes
    """Initiator and responder identity keys, bound into every message."""
    rk: bytes
    dhs: X25519PrivateKey
    dhr: bytes | None = None
    cks: bytes | None = None
    ns: int = 0
    reserved: int = 0
    """Sending counters below this are persisted as possibly used (reservation block)."""
    pn: int = 0
    ckr: bytes | None = None
    nr: int = 0
    skipped: OrderedDict[tuple[bytes, int], tuple[bytes, float]] = field(
        default_factory=OrderedDict
    )
    old_dhr: list[bytes] = field(default_factory=list)
    prekey_part: bytes = b""
    """Initiator only: the handshake header repeated until the peer's first reply."""
    chain_started: float = 0.0
    limits: RatchetLimits = field(default_factory=RatchetLimits)

    # -- handshake ------------------------------------------------------------------------

    @classmethod
    def initiate(
        cls,
        me: IdentityKeys,
        peer: PublicBundle,
        epoch: int,
        now: float,
        limits: RatchetLimits,
    ) -> RatchetSession:
        """Start a session from the peer's verified bundle (X3DH initiator side)."""
        ek = X25519PrivateKey.generate()
        spk = X25519PublicKey.from_public_bytes(peer.prekey)
        dh1 = me.identity_dh.exchange(spk)
        dh2 = ek.exchange(X25519PublicKey.from_public_bytes(peer.identity_dh))
        dh3 = ek.exchange(spk)
        ik_a, ik_b = me.public_identity, peer.identity
        sk = _x3dh_secret(dh1 + dh2 + dh3, ik_a, ik_b, me.nick, peer.nick, epoch)
        ek_pub = raw_pub(ek.public_key())
        sid = sha256(LABEL_SESSION_ID, ik_a, ik_b, ek_pub)[:16]
        dhs = X25519PrivateKey.generate()
        rk, cks = _kdf_rk(sk, dhs.exchange(spk))
        own = me.bundle().to_bytes()
        prekey = _PREKEY.pack(epoch, peer.prekey_id, ek_pub, len(own)) + own
        return cls(
            sid, epoch, nick_key(me.nick), ik_a + ik_b, rk, dhs, dhr=peer.prekey, cks=cks,
            prekey_part=prekey, chain_started=now, limits=limits,
        )  # fmt: skip

    @classmethod
    def respond(
        cls,
        me: IdentityKeys,
        peer: PublicBundle,
        msg: PrivateHeader,
        limits: RatchetLimits,
    ) -> RatchetSession:
        """Build (not yet commit) the responder side from a handshake header."""
        spk_priv = me.prekeys.get(msg.prekey_id)
        if spk_priv is None:
            raise DecryptionError("the handshake used a prekey this device no longer has")
        try:
            ek = X25519PublicKey.from_public_bytes(msg.ephemeral)
            dh1 = spk_priv.exchange(X25519PublicKey.from_public_bytes(peer.identity_dh))
            dh2 = me.identity_dh.exchange(ek)
            dh3 = spk_priv.exchange(ek)
        except ValueError:
            raise DecryptionError("invalid handshake key") from None
        ik_a, ik_b = peer.identity, me.public_identity
        sk = _x3dh_secret(dh1 + dh2 + dh3, ik_a, ik_b, peer.nick, me.nick, msg.epoch)
        sid = sha256(LABEL_SESSION_ID, ik_a, ik_b, msg.ephemeral)[:16]
        if sid != msg.session_id:
            raise DecryptionError("handshake session id mismatch")
        return cls(sid, msg.epoch, nick_key(peer.nick), ik_a + ik_b, sk, spk_priv, limits=limits)

    # -- sending --------------------------------------------------------------------------

    @property
    def can_send(self) -> bool:
        return self.cks is not None

    def needs_reservation(self) -> bool:
        return self.ns >= self.reserved

    def reserve(self, block: int) -> None:
        self.reserved = self.ns + block

    def encrypt(self, kind: int, plaintext: bytes, sender: str, recipient: str) -> bytes:
        """Encrypt with the next message key; the caller has persisted the reservation."""
        if self.cks is None:
            raise DecryptionError("this session cannot send yet")
        if self.ns >= self.reserved:
            raise RuntimeError("counter reservation exhausted; persist first")
        mk, self.cks = chain_step(self.cks)
        n = self.ns
        self.ns += 1
        flags = _FLAG_PREKEY if self.prekey_part else 0
        header = (
            bytes([VERSION, kind, flags])
            + self.prekey_part
            + _TAIL.pack(self.session_id, raw_pub(self.dhs.public_key()), self.pn, n)
        )
        return header + seal(mk, counter_nonce(n), plaintext, self._aad(header, sender, recipient))

    def _aad(self, header: bytes, sender: str, recipient: str) -> bytes:
        return (
            MAGIC
            + lp(sender.encode())
            + lp(recipient.encode())
            + struct.pack(">I", self.epoch)
            + self.ad
            + header
        )

    # -- receiving ------------------------------------------------------------------------

    def decrypt(self, msg: PrivateHeader, sender: str, recipient: str, now: float) -> bytes:
        """Two-phase decrypt: verify on locals, then commit. Raises with state unchanged."""
        lim = self.limits
        aad = self._aad(msg.header, sender, recipient)
        nonce = counter_nonce(msg.n)
        slot = (msg.ratchet_pub, msg.n)
        if slot in self.skipped:
            mk, t = self.skipped[slot]
            if now - t > lim.skipped_ttl:
                raise ReplayError("message key expired")
            pt = open_(mk, nonce, msg.ciphertext, aad)
            del self.skipped[slot]
            self._received(now)
            return pt
        if self.dhr is not None and msg.ratchet_pub == self.dhr and self.ckr is not None:
            if msg.n < self.nr:
                raise ReplayError("message already received")
            if msg.n - self.nr > lim.max_skip:
                raise TooManySkippedError("message counter too far ahead")
            skipped, mk, ck = _derive(self.ckr, self.nr, msg.n)
            pt = open_(mk, nonce, msg.ciphertext, aad)
            self._store_skipped(self.dhr, self.nr, skipped, now)
            self.ckr, self.nr = ck, msg.n + 1
            self._received(now)
            return pt
        if msg.ratchet_pub in self.old_dhr or msg.ratchet_pub == raw_pub(self.dhs.public_key()):
            raise ReplayError("message from an old chain already received")
        # A DH ratchet step.
        old_skipped: list[bytes] = []
        if self.ckr is not None and msg.pn > self.nr:
            if msg.pn - self.nr > lim.max_skip:
                raise TooManySkippedError("previous chain counter too far ahead")
            old_skipped, mk_last, _ = _derive(self.ckr, self.nr, msg.pn - 1)
            old_skipped.append(mk_last)
        if msg.n > lim.max_skip:
            raise TooManySkippedError("message counter too far ahead")
        try:
            dh_out = self.dhs.exchange(X25519PublicKey.from_public_bytes(msg.ratchet_pub))
        except ValueError:
            raise DecryptionError("invalid ratchet key") from None
        rk1, ckr = _kdf_rk(self.rk, dh_out)
        skipped, mk, ckr = _derive(ckr, 0, msg.n)
        pt = open_(mk, nonce, msg.ciphertext, aad)
        # Commit.
        if self.dhr is not None:
            self._store_skipped(self.dhr, self.nr, old_skipped, now)
            self.old_dhr = [*self.old_dhr[-15:], self.dhr]
        self._store_skipped(msg.ratchet_pub, 0, skipped, now)
        self.dhr, self.ckr, self.nr = msg.ratchet_pub, ckr, msg.n + 1
        self.dhs = X25519PrivateKey.generate()
        self.rk, self.cks = _kdf_rk(
            rk1, self.dhs.exchange(X25519PublicKey.from_public_bytes(msg.ratchet_pub))
        )
        self.pn, self.ns, self.reserved, self.chain_started = self.ns, 0, 0, now
        self._received(now)
        return pt

    def _received(self, now: float) -> None:
        self.prekey_part = b""
        cutoff = now - self.limits.skipped_ttl
        while self.skipped:
            first = next(iter(self.skipped.values()))
            if first[1] >= cutoff:
                break
            self.skipped.popitem(last=False)

    def _store_skipped(self, dh: bytes, start: int, keys: list[bytes], now: float) -> None:
        for i, mk in enumerate(keys):
            self.skipped[(dh, start + i)] = (mk, now)
        while len(self.skipped) > self.limits.max_stored:
            self.skipped.popitem(last=False)

    # -- persistence ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        def o(b: bytes | None) -> str | None:
            return None if b is None else b64e(b)

        return {
            "sid": b64e(self.session_id),
            "epoch": self.epoch,
            "initiator": self.initiator_nick,
            "ad": b64e(self.ad),
            "rk": b64e(self.rk),
            "dhs": b64e(self.dhs.private_bytes_raw()),
            "dhr": o(self.dhr),
            "cks": o(self.cks),
            "ns": self.ns,
            "reserved": self.reserved,
            "pn": self.pn,
            "ckr": o(self.ckr),
            "nr": self.nr,
            "skipped": [[b64e(d), n, b64e(k), t] for (d, n), (k, t) in self.skipped.items()],
            "old_dhr": [b64e(d) for d in self.old_dhr],
            "prekey": b64e(self.prekey_part),
            "chain_started": self.chain_started,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], limits: RatchetLimits) -> RatchetSession:
        """Restore; the sending chain skips ahead to its reservation so no counter is reused."""

        def o(v: str | None) -> bytes | None:
            return None if v is None else b64d(v)

        s = cls(
            b64d(d["sid"]), d["epoch"], d["initiator"], b64d(d["ad"]), b64d(d["rk"]),
            X25519PrivateKey.from_private_bytes(b64d(d["dhs"])), o(d["dhr"]), o(d["cks"]),
            d["ns"], d["reserved"], d["pn"], o(d["ckr"]), d["nr"],
            OrderedDict(((b64d(x), n), (b64d(k), t)) for x, n, k, t in d["skipped"]),
            [b64d(x) for x in d["old_dhr"]], b64d(d["prekey"]), d["chain_started"], limits,
        )  # fmt: skip
        if s.cks is not None and s.reserved > s.ns:
            ck = s.cks
            for _ in range(s.ns, s.reserved):
                _, ck = chain_step(ck)
            s.cks, s.ns = ck, s.reserved
        return s
