"""The crypto facade the session layer talks to: bytes and strings in, bytes and strings out.

:class:`CryptoEngine` owns the identity, the trust store, the pairwise Double Ratchet sessions,
the channel Sender Keys and (optionally) the keystore. It performs no network I/O: the caller
moves the returned strings over the wire and feeds received ones back in. Every method that
produces something to send persists the counters it used *before* returning (when a keystore
is attached), so nothing leaves the process on a counter that a crash could reuse.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ..protocol.limits import channel_key, is_valid_channel, nick_key
from ._primitives import VERSION, b64d, b64e, ct_equal
from ._tables import PEER_EPOCHS_KEPT, ChannelTable, PeerTable
from .attachments import (
    DEFAULT_CHUNK_SIZE,
    AttachmentDecryptor,
    AttachmentDescriptor,
    encrypt_attachment,
)
from .errors import (
    CryptoError,
    DecryptionError,
    KeyChangedError,
    KeystoreError,
    MissingKeysError,
    RekeyRequiredError,
    ReplayError,
    StaleEpochError,
    UntrustedKeyError,
)
from .identity import IdentityKeys, PublicBundle, fingerprint, safety_number
from .keystore import Keystore
from .ratchet import KIND_CONTROL, KIND_PRIVATE, PrivateHeader, RatchetLimits, RatchetSession
from .sender_keys import ChannelHeader, Distribution, OwnChain, PeerChain, SenderKeyMessage
from .trust import BundleResult, TrustState, TrustStore

__all__ = ["ControlResult", "CryptoEngine", "EngineConfig", "Received"]

log = logging.getLogger(__name__)
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Tunables; the defaults suit an interactive chat client."""

    reserve_block: int = 256
    """Sending counters reserved (and persisted) at a time; a crash skips at most this many."""
    max_skip: int = 1000
    """Largest counter gap accepted in one message; must exceed ``reserve_block``."""
    max_stored_skipped: int = 1000
    skipped_ttl: float = 7 * 24 * 3600.0
    private_rotate_messages: int = 1000
    """Start a fresh handshake after this many messages sent without a DH ratchet step."""
    private_rotate_seconds: float = 7 * 24 * 3600.0
    channel_rotate_messages: int = 5000
    """Move our channel chain to a new epoch after this many messages ..."""
    channel_rotate_seconds: float = 24 * 3600.0
    """... or after this long."""
    require_verified: bool = False
    """Hand channel keys only to members whose safety number was verified."""

    def __post_init__(self) -> None:
        if self.max_skip <= self.reserve_block:
            raise ValueError("max_skip must be larger than reserve_block")


@dataclass(frozen=True, slots=True)
class ControlResult:
    """What a key-management message did; ``accepted=False`` means it was ignored (see reason)."""

    sender: str
    channel: str
    epoch: int
    accepted: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Received:
    """A decrypted private payload: an application message or a handled control message."""

    sender: str
    kind: str
    """``"message"`` (``data`` is the plaintext) or ``"control"`` (see ``control``)."""
    data: bytes = b""
    control: ControlResult | None = None


class CryptoEngine:
    """End-to-end encryption for one user (device). See docs/SECURITY.md for the protocol."""

    def __init__(
        self,
        identity: IdentityKeys,
        *,
        keystore: Keystore | None = None,
        config: EngineConfig | None = None,
        clock: Clock = time.time,
        trust: TrustStore | None = None,
    ) -> None:
        self._id = identity
        self._me = nick_key(identity.nick)
        self._store = keystore
        self._cfg = config or EngineConfig()
        self._clock = clock
        self._limits = RatchetLimits(
            self._cfg.max_skip, self._cfg.max_stored_skipped, self._cfg.skipped_ttl
        )
        self._trust = trust or TrustStore()
        self._peers: dict[str, PeerTable] = {}
        self._channels: dict[str, ChannelTable] = {}
        self._bundle_cache: str | None = None
        self._need_commit = False
        self._dirty = False

    # -- lifecycle ------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        nick: str,
        *,
        keystore: Keystore | None = None,
        config: EngineConfig | None = None,
        clock: Clock = time.time,
    ) -> CryptoEngine:
        """A new identity for *nick*; saved at once when a keystore is given."""
        eng = cls(IdentityKeys.generate(nick), keystore=keystore, config=config, clock=clock)
        if keystore is not None:
            eng.save()
        return eng

    @classmethod
    def open(
        cls,
        keystore: Keystore,
        *,
        config: EngineConfig | None = None,
        clock: Clock = time.time,
    ) -> CryptoEngine:
        """Load the state from *keystore* (raises ``KeystoreError``/``WrongPassphraseError``)."""
        state = keystore.load()
        try:
            return cls._from_state(state, keystore, config, clock)
        except (KeyError, TypeError, ValueError, DecryptionError) as exc:
            raise KeystoreError(f"keystore {keystore.path} has invalid content: {exc}") from None

    @property
    def nick(self) -> str:
        return self._id.nick

    @property
    def dirty(self) -> bool:
        """True when received-side state changed since the last save (call :meth:`save`)."""
        return self._dirty

    def save(self) -> None:
        """Persist the whole state now (no-op without a keystore)."""
        if self._store is not None:
            self._store.save(self.export_state())
        self._need_commit = self._dirty = False

    def _commit(self) -> None:
        if self._need_commit and self._store is not None:
            self.save()
        self._need_commit = False

    # -- identity and trust ---------------------------------------------------------------

    def bundle(self) -> str:
        """Our signed public key bundle (base64), to publish with ``publish_keys``."""
        if self._bundle_cache is None:
            self._bundle_cache = self._id.bundle().encode()
        return self._bundle_cache

    def rename(self, nick: str) -> str:
        """Our nick changed: bind the identity to *nick* and return the bundle to publish.

        Nicks are bound into bundles and into every message's associated data, so
        pairwise sessions start over (fresh handshakes on the next send) and every
        channel chain moves to a new epoch. Contacts pin the new nick on first use.
        """
        self._id.nick = nick
        self._me = nick_key(nick)
        self._bundle_cache = None
        self._peers.clear()
        for t in self._channels.values():
            t.members.discard(self._me)
            t.rotate = True
        self._need_commit = True
        self._commit()
        return self.bundle()

    def peer_renamed(self, old: str, new: str) -> None:
        """Another user changed nick: treat it as leaving and joining under the new name."""
        for ck, t in self._channels.items():
            if nick_key(old) in t.members:
                self.member_left(ck, old)
                self.member_joined(ck, new)

    def rotate_prekey(self) -> str:
        """Make a new signed prekey; returns the new bundle to publish."""
        self._id.rotate_prekey()
        self._bundle_cache = None
        self._need_commit = True
        self._commit()
        return self.bundle()

    def fingerprint(self) -> str:
        """Our identity fingerprint as six groups of five digits."""
        return fingerprint(self._id.public_identity)

    def peer_fingerprint(self, nick: str) -> str:
        """The pinned (or pending, if a key change awaits) fingerprint of *nick*."""
        return fingerprint(self._peer_bundle(nick).identity)

    def safety_number(self, nick: str) -> str:
        """The safety number for us and *nick* (pending key if a change awaits), 12 groups."""
        return safety_number(self._id.public_identity, self._peer_bundle(nick).identity)

    def _peer_bundle(self, nick: str) -> PublicBundle:
        b = self._trust.pending(nick) or self._trust.get(nick)
        if b is None:
            raise UntrustedKeyError(f"no key bundle known for {nick!r}")
        return b

    def add_bundle(self, nick: str, bundle: str) -> BundleResult:
        """Verify and pin *nick*'s bundle (trust on first use); a different key is reported
        as ``status="changed"`` and blocks sending until :meth:`accept_key_change`."""
        result = self._trust.add(nick, PublicBundle.decode(bundle))
        if result.status == "changed":
            log.warning("identity key of %s changed", nick)
        elif result.status == "new":
            self._mark_undistributed(nick_key(nick))
        self._need_commit = True
        self._commit()
        return result

    def knows(self, nick: str) -> bool:
        """True when a bundle for *nick* is pinned."""
        return self._trust.get(nick) is not None

    def trust_state(self, nick: str) -> TrustState | None:
        return self._trust.state(nick)

    def verify(self, nick: str, number: str) -> None:
        """Mark *nick* verified if *number* matches; raises ``SafetyNumberMismatchError``."""
        before = self._trust.get(nick)
        self._trust.verify(nick, self._id.public_identity, number)
        after = self._trust.get(nick)
        if before is not None and after is not None and before.identity != after.identity:
            self._identity_replaced(nick_key(nick))
        self._need_commit = True
        self._commit()

    def accept_key_change(self, nick: str) -> TrustState:
        """Acknowledge a changed key: the new key is pinned and old sessions are dropped.
        A contact that was verified stays ``CHANGED`` (no sending) until :meth:`verify`."""
        state = self._trust.accept_change(nick)
        self._identity_replaced(nick_key(nick))
        self._need_commit = True
        self._commit()
        return state

    def reject_key_change(self, nick: str) -> TrustState:
        """Refuse a pending key change: keep talking to the pinned key."""
        state = self._trust.reject_change(nick)
        self._need_commit = True
        self._commit()
        return state

    def _identity_replaced(self, peer: str) -> None:
        self._peers.pop(peer, None)
        for t in self._channels.values():
            t.peers.pop(peer, None)
            t.peer_epoch_hw.pop(peer, None)
            if peer in t.members:
                t.rotate = True

    def _mark_undistributed(self, peer: str) -> None:
        for t in self._channels.values():
            if peer in t.members and (t.own is None or peer not in t.own.distributed):
                t.undistributed = True

    # -- private messages -----------------------------------------------------------------

    def encrypt_private(self, peer: str, plaintext: bytes) -> str:
        """Encrypt an application message for *peer*; returns the ``privmsg`` payload."""
        return self._send_private(nick_key(peer), KIND_PRIVATE, plaintext)

    def rotate_peer(self, nick: str) -> None:
        """Start a fresh authenticated handshake (new epoch) with *nick* on the next send."""
        self._peers.setdefault(nick_key(nick), PeerTable()).rekey = True

    def session_epoch(self, nick: str) -> int | None:
        t = self._peers.get(nick_key(nick))
        s = None if t is None else t.current()
        return None if s is None else s.epoch

    def _sendable_session(self, peer: str) -> RatchetSession:
        """The session to send on (a new handshake if none, or rotation is due), with its
        counters reserved; the caller must :meth:`_commit` before sealing anything."""
        bundle = self._trust.require_sendable(peer)
        table = self._peers.setdefault(peer, PeerTable())
        s = table.current()
        now = self._clock()
        cfg = self._cfg
        if (
            s is None
            or not s.can_send
            or table.rekey
            or s.ns >= cfg.private_rotate_messages
            or now - s.chain_started >= cfg.private_rotate_seconds
        ):
            s = RatchetSession.initiate(self._id, bundle, table.epoch_hw + 1, now, self._limits)
            table.add(s, True)
            table.rekey = False
        if s.needs_reservation():
            s.reserve(cfg.reserve_block)
            self._need_commit = True
        self._dirty = True
        return s

    def _send_private(self, peer: str, kind: int, plaintext: bytes) -> str:
        s = self._sendable_session(peer)
        self._commit()
        return b64e(s.encrypt(kind, plaintext, self._me, peer))

    def decrypt_private(self, sender: str, payload: str) -> bytes:
        """Decrypt an application ``privmsg`` payload from *sender* (the server-stamped nick)."""
        return self._receive(sender, payload, KIND_PRIVATE)[1]

    def handle_control(self, sender: str, payload: str) -> ControlResult:
        """Process a key-management ``privmsg`` (kind ``ctl``) from *sender*."""
        _, pt = self._receive(sender, payload, KIND_CONTROL)
        return self._apply_control(nick_key(sender), pt)

    def receive_private(self, sender: str, payload: str) -> Received:
        """Decrypt any private payload, dispatching on its authenticated kind."""
        kind, pt = self._receive(sender, payload, None)
        if kind == KIND_CONTROL:
            return Received(sender, "control", control=self._apply_control(nick_key(sender), pt))
        return Received(sender, "message", pt)

    def _receive(self, sender: str, payload: str, expect: int | None) -> tuple[int, bytes]:
        peer = nick_key(sender)
        msg = PrivateHeader.parse(b64d(payload))
        if expect is not None and msg.kind != expect:
            raise DecryptionError("message kind does not match (relabelled message?)")
        now = self._clock()
        table = self._peers.get(peer)
        s = None if table is None else table.sessions.get(msg.session_id)
        if s is not None:
            pt = s.decrypt(msg, peer, self._me, now)
            self._dirty = True
            return msg.kind, pt
        if not msg.is_prekey:
            raise MissingKeysError(
                f"no session with {sender!r} for this message (lost state?); it was dropped"
            )
        if table is not None:
            if msg.session_id in table.retired:
                raise ReplayError("handshake of a retired session")
            if msg.epoch < table.epoch_hw:
                raise StaleEpochError(f"handshake from {sender!r} for an old epoch ignored")
        bundle = PublicBundle.decode(b64e(msg.bundle))
        if nick_key(bundle.nick) != peer:
            raise UntrustedKeyError(f"handshake from {sender!r} carries another user's bundle")
        new = RatchetSession.respond(self._id, bundle, msg, self._limits)
        pt = new.decrypt(msg, peer, self._me, now)
        pinned = self._trust.get(peer)
        if pinned is not None and not ct_equal(pinned.identity, bundle.identity):
            self._trust.add(peer, bundle)
            self._need_commit = True
            self._commit()
            raise KeyChangedError(
                f"{sender!r} now uses a different identity key; call accept_key_change("
                f"{sender!r}) and then retry this payload",
                nick=sender,
                old_fingerprint=fingerprint(pinned.identity),
                new_fingerprint=fingerprint(bundle.identity),
            )
        result = self._trust.add(peer, bundle)
        if result.status == "new":
            self._mark_undistributed(peer)
        table = self._peers.setdefault(peer, PeerTable())
        cur = table.current()
        table.add(
            new,
            cur is None
            or new.epoch > cur.epoch
            or (new.epoch == cur.epoch and new.initiator_nick <= cur.initiator_nick),
        )
        self._dirty = True
        return msg.kind, pt

    # -- channels -------------------------------------------------------------------------

    def member_joined(self, channel: str, nick: str) -> None:
        """The session layer saw *nick* join *channel*: hand them our key before next send."""
        peer = nick_key(nick)
        if peer == self._me:
            return
        t = self._channels.setdefault(channel_key(channel), ChannelTable())
        if peer not in t.members:
            t.members.add(peer)
            t.undistributed = True
            self._dirty = True

    def member_left(self, channel: str, nick: str) -> None:
        """*nick* left, was kicked or banned: our chain moves to a new epoch before next send."""
        t = self._channels.get(channel_key(channel))
        peer = nick_key(nick)
        if t is None or peer == self._me:
            return
        t.members.discard(peer)
        t.peers.pop(peer, None)
        t.rotate = True
        self._dirty = True

    def left_channel(self, channel: str) -> None:
        """We left (or were removed from) *channel*: forget all its keys."""
        self._channels.pop(channel_key(channel), None)
        self._need_commit = True
        self._commit()

    def rotate_channel(self, channel: str) -> None:
        """Move our chain in *channel* to a new epoch before the next send."""
        self._channels.setdefault(channel_key(channel), ChannelTable()).rotate = True

    def channel_epoch(self, channel: str) -> int | None:
        t = self._channels.get(channel_key(channel))
        return None if t is None or t.own is None else t.own.epoch

    def channel_members(self, channel: str) -> list[str]:
        t = self._channels.get(channel_key(channel))
        return [] if t is None else sorted(t.members)

    def channel_prepare_send(
        self, channel: str, members: Iterable[str] | None = None
    ) -> Distribution:
        """Rotate if due and produce the key distributions to deliver before a channel send.

        *members* (optional) is the full member list as the session layer knows it; members
        missing from it are treated as removed (rotation), new ones get our current key.
        Keys go only to members the caller named whose bundle we hold (and, with
        ``require_verified``, whom the user verified).
        """
        ck = channel_key(channel)
        if not is_valid_channel(ck):
            raise CryptoError(f"invalid channel name {channel!r}")
        t = self._channels.setdefault(ck, ChannelTable())
        now = self._clock()
        if members is not None:
            new = {nick_key(m) for m in members} - {self._me}
            gone = t.members - new
            for g in gone:
                t.peers.pop(g, None)
            if gone:
                t.rotate = True
            t.members = new
        own = t.own
        rotated = (
            own is None
            or t.rotate
            or own.n >= self._cfg.channel_rotate_messages
            or now - own.started >= self._cfg.channel_rotate_seconds
        )
        if rotated:
            epoch = max(t.own_epoch_hw + 1, int(now))
            own = t.own = OwnChain.fresh(epoch, now)
            t.own_epoch_hw, t.rotate = epoch, False
            self._need_commit = True
        assert own is not None
        skdm = own.distribution(ck).to_bytes()
        sessions: list[tuple[str, RatchetSession]] = []
        missing: list[str] = []
        blocked: list[str] = []
        for m in sorted(t.members - own.distributed):
            state = self._trust.state(m)
            if state is None:
                missing.append(m)
            elif state is TrustState.CHANGED or (
                self._cfg.require_verified and state is not TrustState.VERIFIED
            ):
                blocked.append(m)
            else:
                sessions.append((m, self._sendable_session(m)))
                own.distributed.add(m)
                own.handed[m] = skdm
        t.undistributed = False
        self._dirty = True
        self._commit()  # one save for every new session / reservation, before anything leaves
        payloads = [(m, b64e(s.encrypt(KIND_CONTROL, skdm, self._me, m))) for m, s in sessions]
        return Distribution(ck, own.epoch, rotated, payloads, missing, blocked)

    def resend_channel_key(self, channel: str, nick: str) -> str | None:
        """A member says our key for *channel* never reached them: the payload to resend.

        They get exactly the distribution they were handed before (same chain position),
        so nothing earlier becomes readable; ``None`` when *nick* is not a member we
        would hand keys to.
        """
        ck, peer = channel_key(channel), nick_key(nick)
        t = self._channels.get(ck)
        if t is None or t.own is None or peer not in t.members:
            return None
        state = self._trust.state(peer)
        if state is None or state is TrustState.CHANGED:
            return None
        if self._cfg.require_verified and state is not TrustState.VERIFIED:
            return None
        own = t.own
        skdm = own.handed.get(peer) or own.distribution(ck).to_bytes()
        own.handed[peer] = skdm
        own.distributed.add(peer)
        payload = self._send_private(peer, KIND_CONTROL, skdm)
        self._commit()
        return payload

    def encrypt_channel(self, channel: str, plaintext: bytes) -> str:
        """Encrypt once for the whole channel; raises ``RekeyRequiredError`` when
        :meth:`channel_prepare_send` must run first (new epoch due, or undistributed key)."""
        ck = channel_key(channel)
        t = self._channels.get(ck)
        if t is None or t.own is None or t.rotate or t.undistributed:
            raise RekeyRequiredError(f"call channel_prepare_send({channel!r}) before sending")
        own = t.own
        cfg = self._cfg
        if (
            own.n >= cfg.channel_rotate_messages
            or self._clock() - own.started >= cfg.channel_rotate_seconds
        ):
            raise RekeyRequiredError(f"key rotation due in {channel!r}: call channel_prepare_send")
        if own.n >= own.reserved:
            own.reserved = own.n + cfg.reserve_block
            self._need_commit = True
            self._commit()
        self._dirty = True
        return b64e(own.encrypt(ck, self._me, plaintext))

    def decrypt_channel(self, channel: str, sender: str, payload: str) -> bytes:
        """Verify and decrypt a ``chanmsg`` payload from *sender* (server-stamped)."""
        msg = ChannelHeader.parse(b64d(payload))
        ck, peer = channel_key(channel), nick_key(sender)
        t = self._channels.get(ck)
        chains = None if t is None else t.peers.get(peer)
        chain = None if chains is None else chains.get(msg.epoch)
        if chain is None:
            if t is not None and msg.epoch < t.peer_epoch_hw.get(peer, 0):
                raise StaleEpochError(f"message from {sender!r} uses a retired channel epoch")
            raise MissingKeysError(
                f"no key from {sender!r} for this {channel} epoch yet; retry after their "
                "key distribution arrives"
            )
        pt = chain.decrypt(ck, peer, msg, self._clock())
        self._dirty = True
        return pt

    def _apply_control(self, sender: str, pt: bytes) -> ControlResult:
        try:
            skdm = SenderKeyMessage.from_bytes(pt)
        except DecryptionError as exc:
            return ControlResult(sender, "", 0, False, str(exc))
        ck = channel_key(skdm.channel)
        if not is_valid_channel(ck):
            return ControlResult(sender, skdm.channel, skdm.epoch, False, "invalid channel")
        t = self._channels.setdefault(ck, ChannelTable())
        hw = t.peer_epoch_hw.get(sender, 0)
        chains = t.peers.setdefault(sender, {})
        if skdm.epoch < hw:
            return ControlResult(sender, ck, skdm.epoch, False, "older epoch ignored")
        old = chains.get(skdm.epoch)
        if old is not None:
            reason = "duplicate" if old.signing_pub == skdm.signing_pub else "conflicting key"
            return ControlResult(sender, ck, skdm.epoch, False, reason)
        chains[skdm.epoch] = PeerChain(
            skdm.epoch, skdm.chain_key, skdm.n, skdm.signing_pub, self._limits
        )
        for e in sorted(chains)[:-PEER_EPOCHS_KEPT]:
            del chains[e]
        t.peer_epoch_hw[sender] = max(hw, skdm.epoch)
        self._dirty = True
        return ControlResult(sender, ck, skdm.epoch, True)

    # -- attachments ----------------------------------------------------------------------

    @staticmethod
    def encrypt_attachment(
        data: bytes,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        name: str = "",
        mime: str = "application/octet-stream",
        width: int | None = None,
        height: int | None = None,
    ) -> tuple[AttachmentDescriptor, list[bytes]]:
        """Encrypt a file under a fresh key: send ``descriptor.to_bytes()`` inside an
        encrypted message, and the chunks (base64) as ``kind="file"`` payloads."""
        return encrypt_attachment(
            data, chunk_size=chunk_size, name=name, mime=mime, width=width, height=height
        )

    @staticmethod
    def attachment_decryptor(descriptor: AttachmentDescriptor | bytes) -> AttachmentDecryptor:
        if isinstance(descriptor, bytes):
            descriptor = AttachmentDescriptor.from_bytes(descriptor)
        return AttachmentDecryptor(descriptor)

    # -- persistence ----------------------------------------------------------------------

    def export_state(self) -> dict[str, Any]:
        """The whole state as JSON-able data (secret keys included: handle like the keystore)."""
        i = self._id
        return {
            "v": VERSION,
            "nick": i.nick,
            "signing": b64e(i.signing.private_bytes_raw()),
            "identity_dh": b64e(i.identity_dh.private_bytes_raw()),
            "prekeys": {str(k): b64e(v.private_bytes_raw()) for k, v in i.prekeys.items()},
            "prekey_id": i.prekey_id,
            "trust": self._trust.to_dict(),
            "peers": {k: t.to_dict() for k, t in self._peers.items()},
            "channels": {k: t.to_dict() for k, t in self._channels.items()},
        }

    @classmethod
    def _from_state(
        cls,
        st: dict[str, Any],
        keystore: Keystore | None,
        config: EngineConfig | None,
        clock: Clock,
    ) -> CryptoEngine:
        if st.get("v") != VERSION:
            raise ValueError(f"unsupported state version {st.get('v')}")
        ident = IdentityKeys(
            st["nick"],
            Ed25519PrivateKey.from_private_bytes(b64d(st["signing"])),
            X25519PrivateKey.from_private_bytes(b64d(st["identity_dh"])),
            {
                int(k): X25519PrivateKey.from_private_bytes(b64d(v))
                for k, v in st["prekeys"].items()
            },
            st["prekey_id"],
        )
        eng = cls(
            ident,
            keystore=keystore,
            config=config,
            clock=clock,
            trust=TrustStore.from_dict(st["trust"]),
        )
        for k, d in st["peers"].items():
            eng._peers[k] = PeerTable.from_dict(d, eng._limits)
        for k, d in st["channels"].items():
            eng._channels[k] = ChannelTable.from_dict(d, eng._limits)
        return eng

    @classmethod
    def from_state(
        cls, state: dict[str, Any], *, config: EngineConfig | None = None, clock: Clock = time.time
    ) -> CryptoEngine:
        """Rebuild an engine from :meth:`export_state` output (no keystore attached)."""
        return cls._from_state(state, None, config, clock)
