"""Trust on first use: pinned identities per nick, verification and key-change handling."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..protocol.limits import nick_key
from ._primitives import b64d, b64e, ct_equal
from .errors import KeyChangedError, SafetyNumberMismatchError, UntrustedKeyError
from .identity import PublicBundle, fingerprint, safety_number

__all__ = ["BundleResult", "TrustState", "TrustStore"]


class TrustState(Enum):
    """How far the user trusts a contact's pinned identity key."""

    UNVERIFIED = "unverified"
    """Pinned on first use, never compared out of band."""
    VERIFIED = "verified"
    """The user compared safety numbers and they matched."""
    CHANGED = "changed"
    """The key changed: unacknowledged, or acknowledged but the contact was verified before."""


@dataclass(frozen=True, slots=True)
class BundleResult:
    """What :meth:`TrustStore.add` (``CryptoEngine.add_bundle``) did with a bundle."""

    nick: str
    status: str
    """``"new"`` (pinned on first use), ``"unchanged"``, ``"prekey_updated"`` (same identity,
    new signed prekey) or ``"changed"`` (a different identity key: a key-change event)."""
    state: TrustState
    fingerprint: str
    previous_fingerprint: str | None = None

    @property
    def key_changed(self) -> bool:
        return self.status == "changed"


@dataclass(slots=True)
class _Pin:
    bundle: PublicBundle
    verified: bool = False
    pending: PublicBundle | None = None
    needs_reverify: bool = False

    @property
    def state(self) -> TrustState:
        if self.pending is not None or self.needs_reverify:
            return TrustState.CHANGED
        return TrustState.VERIFIED if self.verified else TrustState.UNVERIFIED


def _digits_only(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


class TrustStore:
    """Pinned bundles by (case-insensitive) nick."""

    def __init__(self) -> None:
        self._pins: dict[str, _Pin] = {}

    def add(self, nick: str, bundle: PublicBundle) -> BundleResult:
        """Pin on first use; record a different identity as a pending key change."""
        key = nick_key(nick)
        if nick_key(bundle.nick) != key:
            raise UntrustedKeyError(
                f"the key bundle offered for {nick!r} is signed for {bundle.nick!r}; refused"
            )
        fp = fingerprint(bundle.identity)
        pin = self._pins.get(key)
        if pin is None:
            self._pins[key] = _Pin(bundle)
            return BundleResult(key, "new", TrustState.UNVERIFIED, fp)
        if ct_equal(pin.bundle.identity, bundle.identity):
            status = "unchanged"
            if (pin.bundle.prekey_id, pin.bundle.prekey, pin.bundle.identity_dh) != (
                bundle.prekey_id,
                bundle.prekey,
                bundle.identity_dh,
            ):
                pin.bundle = bundle
                status = "prekey_updated"
            return BundleResult(key, status, pin.state, fp)
        pin.pending = bundle
        return BundleResult(key, "changed", pin.state, fp, fingerprint(pin.bundle.identity))

    def get(self, nick: str) -> PublicBundle | None:
        pin = self._pins.get(nick_key(nick))
        return None if pin is None else pin.bundle

    def state(self, nick: str) -> TrustState | None:
        pin = self._pins.get(nick_key(nick))
        return None if pin is None else pin.state

    def nicks(self) -> list[str]:
        return sorted(self._pins)

    def require_sendable(self, nick: str) -> PublicBundle:
        """The pinned bundle, or raise if we must not encrypt to this peer now."""
        pin = self._pins.get(nick_key(nick))
        if pin is None:
            raise UntrustedKeyError(
                f"no key bundle known for {nick!r}: fetch it (fetch_keys) and call add_bundle"
            )
        if pin.pending is not None:
            raise KeyChangedError(
                f"{nick!r} has a new identity key: call accept_key_change({nick!r}) first",
                nick=nick,
                old_fingerprint=fingerprint(pin.bundle.identity),
                new_fingerprint=fingerprint(pin.pending.identity),
            )
        if pin.needs_reverify:
            raise KeyChangedError(
                f"{nick!r} was verified and their key changed: compare safety numbers and "
                f"call verify({nick!r}, number) before sending",
                nick=nick,
                new_fingerprint=fingerprint(pin.bundle.identity),
            )
        return pin.bundle

    def require_identity(self, nick: str, identity: bytes) -> None:
        """Raise unless *identity* is the accepted pinned key for *nick*."""
        pin = self._pins.get(nick_key(nick))
        if pin is None:
            raise UntrustedKeyError(f"no key bundle known for {nick!r}")
        if not ct_equal(pin.bundle.identity, identity):
            raise KeyChangedError(
                f"{nick!r} used an identity key that differs from the pinned one; "
                f"call accept_key_change({nick!r}) to trust it"
            )

    def accept_change(self, nick: str) -> TrustState:
        """Install a pending key; a formerly verified contact stays blocked until re-verified."""
        pin = self._pins.get(nick_key(nick))
        if pin is None or pin.pending is None:
            raise UntrustedKeyError(f"no pending key change for {nick!r}")
        pin.bundle, pin.pending = pin.pending, None
        if pin.verified:
            pin.verified, pin.needs_reverify = False, True
        return pin.state

    def reject_change(self, nick: str) -> TrustState:
        """Discard a pending key (e.g. a forged one): the pinned key and its state stay."""
        pin = self._pins.get(nick_key(nick))
        if pin is None or pin.pending is None:
            raise UntrustedKeyError(f"no pending key change for {nick!r}")
        pin.pending = None
        return pin.state

    def verify(self, nick: str, own_identity: bytes, number: str) -> None:
        """Mark verified if *number* matches the safety number with the (pending or pinned) key."""
        pin = self._pins.get(nick_key(nick))
        if pin is None:
            raise UntrustedKeyError(f"no key bundle known for {nick!r}")
        target = pin.pending or pin.bundle
        expected = _digits_only(safety_number(own_identity, target.identity))
        if not ct_equal(expected.encode(), _digits_only(number).encode()):
            raise SafetyNumberMismatchError(
                f"the safety number for {nick!r} does not match: do not trust this contact "
                "until you find out why"
            )
        pin.bundle, pin.pending = target, None
        pin.verified, pin.needs_reverify = True, False

    def pending(self, nick: str) -> PublicBundle | None:
        pin = self._pins.get(nick_key(nick))
        return None if pin is None else pin.pending

    def to_dict(self) -> dict[str, Any]:
        return {
            k: {
                "bundle": b64e(p.bundle.to_bytes()),
                "verified": p.verified,
                "pending": None if p.pending is None else b64e(p.pending.to_bytes()),
                "needs_reverify": p.needs_reverify,
            }
            for k, p in self._pins.items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrustStore:
        ts = cls()
        for k, d in data.items():
            pend = d["pending"]
            ts._pins[k] = _Pin(
                PublicBundle.from_bytes(b64d(d["bundle"])),
                bool(d["verified"]),
                None if pend is None else PublicBundle.from_bytes(b64d(pend)),
                bool(d["needs_reverify"]),
            )
        return ts
