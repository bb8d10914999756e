"""The session's use of the crypto engine, in the session's terms (sans-IO).

:class:`E2E` opens or creates the engine (with its keystore), and turns the engine's
results into what the session needs: key-change tuples, decrypted bodies with
rotation notices, and the private-message payloads that carry channel keys.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from .crypto import CryptoEngine, EngineConfig, Keystore, TrustState
from .crypto.errors import CryptoError

__all__ = ["E2E", "Inbound"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Inbound:
    """A decrypted payload: an application body and/or a key-rotation notice."""

    body: bytes | None
    notice: tuple[str, int] | None = None
    """``(peer or channel, epoch)`` when the payload rotated keys."""
    unlocked: str | None = None
    """The channel (key form) whose sender key this payload delivered."""


class E2E:
    """One user's end-to-end state, as the session uses it."""

    def __init__(self, engine: CryptoEngine) -> None:
        self.engine = engine
        self._saved_at = 0.0

    @classmethod
    def open(
        cls,
        nick: str,
        *,
        keystore: str | Path | None = None,
        passphrase: str | None = None,
        config: EngineConfig | None = None,
    ) -> E2E:
        """Load the identity from *keystore* (creating it on first use), or a fresh one."""
        if keystore is None:
            return cls(CryptoEngine.create(nick, config=config))
        store = Keystore(keystore, passphrase)
        if store.exists():
            engine = CryptoEngine.open(store, config=config)
            if engine.nick.lower() != nick.lower():
                _log.warning("keystore %s belongs to %s, used as %s", keystore, engine.nick, nick)
            return cls(engine)
        return cls(CryptoEngine.create(nick, keystore=store, config=config))

    def close(self) -> None:
        """Persist whatever changed since the last save."""
        try:
            self.engine.save()
        except CryptoError:
            _log.exception("could not save the keystore")

    # -- identity and trust -----------------------------------------------------------

    @property
    def fingerprint(self) -> str:
        """Own identity fingerprint."""
        return self.engine.fingerprint()

    def bundle(self) -> str:
        """Own public key bundle to publish."""
        return self.engine.bundle()

    def knows(self, nick: str) -> bool:
        """True when a key for *nick* is pinned."""
        return self.engine.knows(nick)

    def maybe_save(self, now: float) -> None:
        """Persist receive-side state at most once a second (sends persist themselves)."""
        if self.engine.dirty and now - self._saved_at >= 1.0:
            self._saved_at = now
            try:
                self.engine.save()
            except CryptoError:
                _log.exception("could not save the keystore")

    def add_bundle(self, nick: str, bundle: str) -> tuple[str, str] | None:
        """Pin or check a fetched bundle; ``(old, new)`` fingerprints when the key changed."""
        result = self.engine.add_bundle(nick, bundle)
        if result.key_changed:
            return (result.previous_fingerprint or "", result.fingerprint)
        return None

    def peer_fingerprint(self, nick: str) -> str | None:
        """The fingerprint pinned for *nick* (or the pending one after a change)."""
        if not self.knows(nick):
            return None
        return self.engine.peer_fingerprint(nick)

    def safety_number(self, nick: str) -> str:
        """The safety number shared with *nick*."""
        return self.engine.safety_number(nick)

    def verify(self, nick: str, number: str) -> None:
        """Mark *nick* verified (raises on mismatch)."""
        self.engine.verify(nick, number)

    def accept_key_change(self, nick: str) -> None:
        """Accept *nick*'s new identity key."""
        self.engine.accept_key_change(nick)

    def reject_key_change(self, nick: str) -> None:
        """Discard *nick*'s pending new identity key."""
        self.engine.reject_key_change(nick)

    def trust_state(self, nick: str) -> str | None:
        """Trust state name of *nick*."""
        state = self.engine.trust_state(nick)
        return None if state is None else state.value

    def is_verified(self, nick: str) -> bool:
        """True when *nick*'s current key was verified."""
        return self.engine.trust_state(nick) is TrustState.VERIFIED

    # -- private ----------------------------------------------------------------------

    def seal_private(self, nick: str, body: bytes) -> str:
        """Encrypt an application body for *nick*."""
        return self.engine.encrypt_private(nick, body)

    def open_private(self, sender: str, payload: str) -> Inbound:
        """Decrypt any private payload (application message or channel key)."""
        received = self.engine.receive_private(sender, payload)
        if received.kind == "control":
            control = received.control
            if control is None or not control.accepted:
                reason = control.reason if control is not None else "unknown"
                _log.info("ignored key message from %s: %s", sender, reason)
                return Inbound(None)
            return Inbound(None, unlocked=control.channel)
        if _is_rekey(received.data):
            epoch = self.engine.session_epoch(sender) or 0
            return Inbound(None, (sender, epoch))
        return Inbound(received.data)

    def rotate_private(self, nick: str) -> tuple[str, int]:
        """Start a new handshake with *nick*; returns the payload announcing it and its epoch."""
        self.engine.rotate_peer(nick)
        payload = self.engine.encrypt_private(nick, _REKEY)
        return payload, self.engine.session_epoch(nick) or 0

    # -- channels ---------------------------------------------------------------------

    def channel_distributions(self, channel: str, members: list[str]) -> list[tuple[str, str]]:
        """Private payloads carrying our channel key to members who lack it."""
        dist = self.engine.channel_prepare_send(channel, members)
        for nick in dist.blocked:
            _log.info("not handing the %s key to %s: key changed or unverified", channel, nick)
        return list(dist.payloads)

    def resend_channel_key(self, channel: str, nick: str) -> str | None:
        """The payload re-handing our channel key to a member who lost it, if entitled."""
        return self.engine.resend_channel_key(channel, nick)

    def seal_channel(self, channel: str, body: bytes) -> str:
        """Encrypt once for the whole channel (after :meth:`channel_distributions`)."""
        return self.engine.encrypt_channel(channel, body)

    def open_channel(self, channel: str, sender: str, payload: str) -> bytes:
        """Verify and decrypt a channel payload."""
        return self.engine.decrypt_channel(channel, sender, payload)

    def channel_epoch(self, channel: str) -> int:
        """Our current sender-key epoch in *channel* (0 before the first send)."""
        return self.engine.channel_epoch(channel) or 0

    def rotate_channel(self, channel: str) -> None:
        """New epoch before the next send."""
        self.engine.rotate_channel(channel)

    def joined_channel(self, channel: str, members: list[str]) -> None:
        """We joined: everyone there will need our key."""
        for nick in members:
            self.engine.member_joined(channel, nick)

    def member_joined(self, channel: str, nick: str) -> None:
        """A newcomer gets our current key before our next send."""
        self.engine.member_joined(channel, nick)

    def member_left(self, channel: str, nick: str) -> None:
        """A removal moves our chain to a new epoch before our next send."""
        self.engine.member_left(channel, nick)

    def left_channel(self, channel: str) -> None:
        """We are out: forget the channel's keys."""
        self.engine.left_channel(channel)

    def renamed(self, nick: str) -> str:
        """Our nick changed; returns the new bundle to publish."""
        return self.engine.rename(nick)

    def peer_renamed(self, old: str, new: str) -> None:
        """A peer changed nick: keys are pinned per nick, so the new nick starts fresh."""
        self.engine.peer_renamed(old, new)


_REKEY = json.dumps({"t": "rekey"}).encode()


def _is_rekey(body: bytes) -> bool:
    return body == _REKEY
