"""Bundles, fingerprints, safety numbers, trust on first use and key changes."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from justirc_sdk.crypto import (
    BadSignatureError,
    CryptoEngine,
    KeyChangedError,
    SafetyNumberMismatchError,
    TrustState,
    UntrustedKeyError,
)

from .conftest import introduce, snapshot

Make = Callable[..., CryptoEngine]


def _raw(bundle: str) -> bytearray:
    return bytearray(base64.b64decode(bundle))


def _enc(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _offsets(raw: bytes) -> dict[str, slice]:
    o = 2 + raw[1]
    return {
        "identity": slice(o, o + 32),
        "identity_dh": slice(o + 32, o + 64),
        "prekey": slice(o + 68, o + 100),
        "signature": slice(o + 100, o + 164),
    }


@pytest.mark.parametrize("field", ["identity", "identity_dh", "prekey", "signature"])
def test_tampered_bundle_field_is_rejected(make: Make, field: str) -> None:
    alice, bob, mallory = make("alice"), make("bob"), make("mallory")
    raw = _raw(bob.bundle())
    swap = _raw(mallory.bundle())
    sl, msl = _offsets(raw)[field], _offsets(swap)[field]
    raw[sl] = swap[msl]
    with pytest.raises(BadSignatureError):
        alice.add_bundle("bob", _enc(raw))
    assert alice.trust_state("bob") is None


def test_bundle_signed_for_another_nick_is_refused(make: Make) -> None:
    alice, mallory = make("alice"), make("mallory")
    with pytest.raises(UntrustedKeyError):
        alice.add_bundle("bob", mallory.bundle())
    assert alice.trust_state("bob") is None


def test_garbage_bundle_is_a_typed_error(make: Make) -> None:
    alice = make("alice")
    for junk in ["", "!!!", _enc(b"\x01"), _enc(b"\x07" + bytes(200))]:
        with pytest.raises(BadSignatureError):
            alice.add_bundle("bob", junk)


def test_safety_numbers_match_on_both_sides_and_differ_per_pair(make: Make) -> None:
    a, b, c = make("alice"), make("bob"), make("carol")
    introduce(a, b, c)
    sn = a.safety_number("bob")
    assert sn == b.safety_number("alice")
    groups = sn.split()
    assert len(groups) == 12 and all(len(g) == 5 and g.isdigit() for g in groups)
    assert sn != a.safety_number("carol")
    assert a.peer_fingerprint("bob") == b.fingerprint()
    assert a.peer_fingerprint("bob") in sn


def test_tofu_then_verify_and_mismatch(make: Make) -> None:
    a, b = make("alice"), make("bob")
    r = a.add_bundle("bob", b.bundle())
    assert (r.status, r.state) == ("new", TrustState.UNVERIFIED)
    assert a.add_bundle("Bob", b.bundle()).status == "unchanged"
    with pytest.raises(SafetyNumberMismatchError):
        a.verify("bob", "12345 " * 12)
    assert a.trust_state("bob") is TrustState.UNVERIFIED
    b.add_bundle("alice", a.bundle())
    a.verify("bob", b.safety_number("alice"))
    assert a.trust_state("bob") is TrustState.VERIFIED


def test_swapped_identity_key_is_a_key_change_event(make: Make) -> None:
    a, b = make("alice"), make("bob")
    introduce(a, b)
    impostor = make("bob")
    r = a.add_bundle("bob", impostor.bundle())
    assert r.key_changed and r.state is TrustState.CHANGED
    assert r.previous_fingerprint == b.fingerprint() and r.fingerprint == impostor.fingerprint()
    with pytest.raises(KeyChangedError):
        a.encrypt_private("bob", b"hi")
    # Unverified contact: acknowledging is enough.
    assert a.accept_key_change("bob") is TrustState.UNVERIFIED
    assert impostor.decrypt_private("alice", a.encrypt_private("bob", b"hi")) == b"hi"


def test_verified_contact_with_changed_key_is_blocked_until_reverified(make: Make) -> None:
    a, b = make("alice"), make("bob")
    introduce(a, b)
    a.verify("bob", a.safety_number("bob"))
    new_bob = make("bob")
    a.add_bundle("bob", new_bob.bundle())
    with pytest.raises(KeyChangedError):
        a.encrypt_private("bob", b"secret")
    assert a.accept_key_change("bob") is TrustState.CHANGED
    with pytest.raises(KeyChangedError):
        a.encrypt_private("bob", b"secret")
    with pytest.raises(SafetyNumberMismatchError):
        a.verify("bob", b.safety_number("alice"))  # the OLD number no longer matches
    new_bob.add_bundle("alice", a.bundle())
    a.verify("bob", new_bob.safety_number("alice"))
    assert a.trust_state("bob") is TrustState.VERIFIED
    assert new_bob.decrypt_private("alice", a.encrypt_private("bob", b"ok")) == b"ok"


def test_handshake_from_a_changed_key_raises_then_retry_after_accept(make: Make) -> None:
    a, b = make("alice"), make("bob")
    introduce(a, b)
    new_bob = make("bob")
    new_bob.add_bundle("alice", a.bundle())
    payload = new_bob.encrypt_private("alice", b"it's me, new phone")
    before_sessions = snapshot(a)
    with pytest.raises(KeyChangedError) as exc:
        a.decrypt_private("bob", payload)
    assert exc.value.old_fingerprint == b.fingerprint()
    assert exc.value.new_fingerprint == new_bob.fingerprint()
    assert a.trust_state("bob") is TrustState.CHANGED
    assert a.peer_fingerprint("bob") == new_bob.fingerprint()  # the pending key is shown
    assert before_sessions != snapshot(a)  # only the pending pin was recorded
    a.accept_key_change("bob")
    assert a.decrypt_private("bob", payload) == b"it's me, new phone"


def test_forged_handshake_does_not_create_a_key_change_event(make: Make) -> None:
    """A bundle signed by someone else but carried in a handshake that fails is ignored."""
    a, b = make("alice"), make("bob")
    introduce(a, b)
    payload = bytearray(base64.b64decode(b.encrypt_private("alice", b"x")))
    payload[-1] ^= 1
    before = snapshot(a)
    with pytest.raises(Exception, match="authentication"):
        a.decrypt_private("bob", _enc(bytes(payload)))
    assert snapshot(a) == before


def test_unknown_peer_is_pinned_from_its_first_handshake(make: Make) -> None:
    a, b = make("alice"), make("bob")
    b.add_bundle("alice", a.bundle())
    assert a.decrypt_private("bob", b.encrypt_private("alice", b"hello")) == b"hello"
    assert a.trust_state("bob") is TrustState.UNVERIFIED
    assert a.peer_fingerprint("bob") == b.fingerprint()


def test_sending_without_a_bundle_is_a_clear_error(make: Make) -> None:
    a = make("alice")
    with pytest.raises(UntrustedKeyError, match="fetch"):
        a.encrypt_private("bob", b"x")
