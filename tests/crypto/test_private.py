"""Pairwise sessions: X3DH + Double Ratchet, adversarial cases, rotation."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from justirc_sdk.crypto import (
    CryptoEngine,
    DecryptionError,
    MissingKeysError,
    ReplayError,
    StaleEpochError,
    TooManySkippedError,
)
from justirc_sdk.crypto.ratchet import PrivateHeader

from .conftest import FakeClock, Net, introduce, snapshot

Make = Callable[..., CryptoEngine]
Trio = tuple[CryptoEngine, CryptoEngine, CryptoEngine]


def _b(p: str) -> bytearray:
    return bytearray(base64.b64decode(p))


def _s(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _established(a: CryptoEngine, b: CryptoEngine) -> None:
    assert b.decrypt_private(a.nick, a.encrypt_private(b.nick, b"hello")) == b"hello"
    assert a.decrypt_private(b.nick, b.encrypt_private(a.nick, b"hi")) == b"hi"


def test_conversation_with_direction_changes_and_out_of_order(trio: Trio) -> None:
    a, b, _ = trio
    _established(a, b)
    burst = [a.encrypt_private("bob", f"m{i}".encode()) for i in range(5)]
    for i in (3, 0, 4, 1, 2):
        assert b.decrypt_private("alice", burst[i]) == f"m{i}".encode()
    for i in range(20):
        x, y = (a, b) if i % 3 else (b, a)
        assert y.decrypt_private(x.nick, x.encrypt_private(y.nick, b"%d" % i)) == b"%d" % i


def test_handshake_header_is_repeated_until_the_first_reply(trio: Trio) -> None:
    a, b, _ = trio
    first, second = a.encrypt_private("bob", b"1"), a.encrypt_private("bob", b"2")
    assert PrivateHeader.parse(_b(second)).is_prekey
    assert b.decrypt_private("alice", second) == b"2"  # first one lost or late
    assert b.decrypt_private("alice", first) == b"1"
    a.decrypt_private("bob", b.encrypt_private("alice", b"ack"))
    assert not PrivateHeader.parse(_b(a.encrypt_private("bob", b"3"))).is_prekey


def test_replay_is_rejected_and_state_unchanged(trio: Trio) -> None:
    a, b, _ = trio
    _established(a, b)
    p = a.encrypt_private("bob", b"pay 10")
    later = a.encrypt_private("bob", b"later")
    assert b.decrypt_private("alice", p) == b"pay 10"
    before = snapshot(b)
    with pytest.raises(ReplayError):
        b.decrypt_private("alice", p)
    assert snapshot(b) == before
    assert b.decrypt_private("alice", later) == b"later"


def test_replayed_initial_handshake_is_rejected(trio: Trio) -> None:
    a, b, _ = trio
    first = a.encrypt_private("bob", b"hello")
    b.decrypt_private("alice", first)
    for _ in range(3):  # several DH steps later
        _established(a, b)
    before = snapshot(b)
    with pytest.raises(DecryptionError):
        b.decrypt_private("alice", first)
    assert snapshot(b) == before


def test_reflection_back_to_sender_fails(trio: Trio) -> None:
    a, b, _ = trio
    _established(a, b)
    p = a.encrypt_private("bob", b"to bob")
    before = snapshot(a)
    with pytest.raises(DecryptionError):
        a.decrypt_private("bob", p)  # the server reflects A->B as B->A
    assert snapshot(a) == before
    assert b.decrypt_private("alice", p) == b"to bob"


def test_message_to_bob_relabelled_for_carol_fails(trio: Trio) -> None:
    a, b, c = trio
    _established(a, b)
    _established(a, c)
    p = a.encrypt_private("bob", b"for bob")
    before = snapshot(c)
    with pytest.raises(DecryptionError):
        c.decrypt_private("alice", p)
    assert snapshot(c) == before


def test_sender_relabelled_fails(trio: Trio) -> None:
    a, b, c = trio
    _established(a, b)
    _established(c, b)
    p = a.encrypt_private("bob", b"from alice")
    before = snapshot(b)
    with pytest.raises(DecryptionError):
        b.decrypt_private("carol", p)  # the server stamps another sender
    assert snapshot(b) == before
    assert b.decrypt_private("alice", p) == b"from alice"


def test_pm_fed_as_channel_and_channel_fed_as_pm_fail(trio: Trio) -> None:
    a, b, c = trio
    _established(a, b)
    Net(a, b, c).join("#room", "alice", "bob", "carol")
    pm = a.encrypt_private("bob", b"private")
    ch = a.encrypt_channel("#room", b"public")
    before = snapshot(b)
    with pytest.raises(DecryptionError):
        b.decrypt_channel("#room", "alice", pm)
    with pytest.raises(DecryptionError):
        b.decrypt_private("alice", ch)
    with pytest.raises(DecryptionError):
        b.handle_control("alice", pm)  # an application message relabelled as key management
    assert snapshot(b) == before
    assert b.decrypt_private("alice", pm) == b"private"
    assert b.decrypt_channel("#room", "alice", ch) == b"public"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(handshake=st.booleans(), where=st.integers(0, 10**6), flip=st.integers(1, 255))
def test_any_edited_byte_fails_with_state_unchanged(
    trio: Trio, handshake: bool, where: int, flip: int
) -> None:
    """Version, kind, flags, epoch, bundle, session id, ratchet key, counters, ciphertext."""
    a, b, _ = trio
    if b.session_epoch("alice") is None:
        _established(a, b)
    if handshake:
        a.rotate_peer("bob")
    p = _b(a.encrypt_private("bob", b"the message"))
    p[where % len(p)] ^= flip
    before = snapshot(b)
    with pytest.raises(DecryptionError):
        b.decrypt_private("alice", _s(bytes(p)))
    assert snapshot(b) == before
    assert b.decrypt_private("alice", a.encrypt_private("bob", b"next")) == b"next"


def test_truncated_and_garbage_payloads_are_typed_errors(trio: Trio) -> None:
    a, b, _ = trio
    p = _b(a.encrypt_private("bob", b"x"))
    for bad in [b"", p[:3], p[:40], p[:-17], b"\x01" * 10]:
        with pytest.raises(DecryptionError):
            b.decrypt_private("alice", _s(bytes(bad)))
    with pytest.raises(DecryptionError):
        b.decrypt_private("alice", "not base64!!")


def test_forward_secrecy_snapshot_cannot_decrypt_earlier_messages(trio: Trio) -> None:
    a, b, _ = trio
    _established(a, b)
    old = [a.encrypt_private("bob", b"old secret %d" % i) for i in range(3)]
    for p in old:
        b.decrypt_private("alice", p)
    _established(a, b)
    stolen = CryptoEngine.from_state(b.export_state())  # everything Bob has, keys included
    for p in old:
        with pytest.raises(DecryptionError):
            stolen.decrypt_private("alice", p)


def test_post_compromise_old_snapshot_cannot_read_after_dh_step(trio: Trio) -> None:
    a, b, _ = trio
    _established(a, b)
    stolen = CryptoEngine.from_state(b.export_state())
    # Right after the theft the attacker can follow the conversation (that is compromise)...
    exposed = a.encrypt_private("bob", b"still exposed")
    assert stolen.decrypt_private("alice", exposed) == b"still exposed"
    assert b.decrypt_private("alice", exposed) == b"still exposed"
    # ...but Bob's reply carries a DH key generated after the theft: Alice ratchets onto it
    # and from then on the stolen state is useless.
    a.decrypt_private("bob", b.encrypt_private("alice", b"reply with a fresh DH key"))
    healed = a.encrypt_private("bob", b"after healing")
    assert b.decrypt_private("alice", healed) == b"after healing"
    with pytest.raises(DecryptionError):
        stolen.decrypt_private("alice", healed)


def test_counter_jump_of_a_billion_is_rejected_without_storing_keys(trio: Trio) -> None:
    a, b, _ = trio
    _established(a, b)
    raw = PrivateHeader.parse(_b(a.encrypt_private("bob", b"x")))
    forged = bytearray(raw.header)
    forged[-4:] = (10**9).to_bytes(4, "big")
    before = snapshot(b)
    with pytest.raises(TooManySkippedError):
        b.decrypt_private("alice", _s(bytes(forged) + raw.ciphertext))
    assert snapshot(b) == before
    forged[-8:-4] = (10**9).to_bytes(4, "big")  # the previous-chain length too
    forged[-4:] = bytes(4)
    with pytest.raises(DecryptionError):
        b.decrypt_private("alice", _s(bytes(forged) + raw.ciphertext))
    assert snapshot(b) == before


def test_skipped_keys_are_capped_and_expire(make: Make, clock: FakeClock) -> None:
    a = make("alice", max_skip=300, reserve_block=10, max_stored_skipped=50, skipped_ttl=60.0)
    b = make("bob", max_skip=300, reserve_block=10, max_stored_skipped=50, skipped_ttl=60.0)
    introduce(a, b)
    _established(a, b)
    sent = [a.encrypt_private("bob", b"%d" % i) for i in range(200)]
    assert b.decrypt_private("alice", sent[-1]) == b"199"
    skipped = sum(len(s["skipped"]) for s in b.export_state()["peers"]["alice"]["sessions"])
    assert skipped == 50  # capped: the oldest were evicted
    with pytest.raises(DecryptionError):
        b.decrypt_private("alice", sent[0])  # evicted
    assert b.decrypt_private("alice", sent[190]) == b"190"  # still stored
    clock.advance(61)
    with pytest.raises(ReplayError):
        b.decrypt_private("alice", sent[191])  # expired


def test_unknown_session_without_handshake(trio: Trio) -> None:
    a, b, c = trio
    _established(a, b)
    p = a.encrypt_private("bob", b"x")
    with pytest.raises(MissingKeysError):
        c.decrypt_private("alice", p)


def test_simultaneous_first_messages_converge(trio: Trio) -> None:
    a, b, _ = trio
    pa, pb = a.encrypt_private("bob", b"from a"), b.encrypt_private("alice", b"from b")
    assert b.decrypt_private("alice", pa) == b"from a"
    assert a.decrypt_private("bob", pb) == b"from b"
    for i in range(4):
        assert b.decrypt_private("alice", a.encrypt_private("bob", b"%d" % i)) == b"%d" % i
        assert a.decrypt_private("bob", b.encrypt_private("alice", b"%d" % i)) == b"%d" % i
    assert a.session_epoch("bob") == b.session_epoch("alice") == 1


def test_rotation_on_demand_is_a_new_epoch_and_leaves_carol_untouched(trio: Trio) -> None:
    a, b, c = trio
    _established(a, b)
    _established(a, c)
    carol_view = snapshot(c)
    alice_carol = a.export_state()["peers"]["carol"]
    in_flight = a.encrypt_private("bob", b"sent before rotation")
    a.rotate_peer("bob")
    p = a.encrypt_private("bob", b"after rotation")
    assert PrivateHeader.parse(_b(p)).is_prekey
    assert b.decrypt_private("alice", p) == b"after rotation"
    assert a.session_epoch("bob") == b.session_epoch("alice") == 2
    assert b.decrypt_private("alice", in_flight) == b"sent before rotation"
    assert snapshot(c) == carol_view
    assert a.export_state()["peers"]["carol"] == alice_carol
    assert c.decrypt_private("alice", a.encrypt_private("carol", b"still fine")) == b"still fine"


def test_automatic_rotation_after_n_messages_and_after_t_seconds(
    make: Make, clock: FakeClock
) -> None:
    a = make("alice", private_rotate_messages=5, private_rotate_seconds=100.0)
    b = make("bob")
    introduce(a, b)
    _established(a, b)
    epochs = []
    for _ in range(12):
        b.decrypt_private("alice", a.encrypt_private("bob", b"."))
        epochs.append(a.session_epoch("bob"))
    assert epochs[0] == 1 and epochs[-1] == 3
    assert b.session_epoch("alice") == 3
    b.decrypt_private("alice", a.encrypt_private("bob", b"."))
    clock.advance(101)
    b.decrypt_private("alice", a.encrypt_private("bob", b"."))
    assert a.session_epoch("bob") == b.session_epoch("alice") == 4


def test_older_epoch_handshake_is_ignored(trio: Trio) -> None:
    a, b, _ = trio
    old_handshake = a.encrypt_private("bob", b"epoch 1")
    a.rotate_peer("bob")
    newer = a.encrypt_private("bob", b"epoch 2")
    assert b.decrypt_private("alice", newer) == b"epoch 2"
    before = snapshot(b)
    with pytest.raises(StaleEpochError):
        b.decrypt_private("alice", old_handshake)
    assert snapshot(b) == before


def test_handshake_from_an_impostor_key_never_reaches_the_session(trio: Trio, make: Make) -> None:
    """The server forges a 'rotation' for alice with its own keys: refused, session intact."""
    a, b, _ = trio
    _established(a, b)
    fake_alice = make("alice")
    fake_alice.add_bundle("bob", b.bundle())
    fake_alice.rotate_peer("bob")
    fake_alice.encrypt_private("bob", b"x")  # epoch 1
    fake_alice.rotate_peer("bob")
    forged = fake_alice.encrypt_private("bob", b"rotate to my keys")  # epoch 2
    with pytest.raises(DecryptionError.__base__):  # KeyChangedError is a CryptoError
        b.decrypt_private("alice", forged)
    assert b.session_epoch("alice") == 1
    assert b.decrypt_private("alice", a.encrypt_private("bob", b"real")) == b"real"


def test_nicks_with_capitals_talk_both_ways_whatever_the_case_used(make: Make) -> None:
    a, b = make("Alice"), make("BoB")
    a.add_bundle("bob", b.bundle())
    b.add_bundle("ALICE", a.bundle())
    assert b.receive_private("Alice", a.encrypt_private("BOB", b"hi")).data == b"hi"
    assert a.receive_private("bob", b.encrypt_private("alice", b"back")).data == b"back"
    assert b.receive_private("aLiCe", a.encrypt_private("bob", b"again")).data == b"again"


def test_renamed_engine_starts_fresh_sessions_under_its_new_nick(make: Make) -> None:
    a, b = make("alice"), make("bob")
    a.add_bundle("bob", b.bundle())
    b.receive_private("alice", a.encrypt_private("bob", b"as alice"))
    a.rename("Guest42")
    assert b.receive_private("Guest42", a.encrypt_private("bob", b"as guest")).data == b"as guest"
    assert b.peer_fingerprint("guest42") == b.peer_fingerprint("alice")
