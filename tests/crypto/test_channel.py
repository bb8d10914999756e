"""Channels with Sender Keys: signatures, membership changes, rotation, relabelling."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from justirc_sdk.crypto import (
    BadSignatureError,
    CryptoEngine,
    DecryptionError,
    MissingKeysError,
    RekeyRequiredError,
    ReplayError,
    StaleEpochError,
    TooManySkippedError,
    TrustState,
)
from justirc_sdk.crypto import _primitives as prim
from justirc_sdk.crypto.ratchet import RatchetLimits
from justirc_sdk.crypto.sender_keys import _HDR, PeerChain, SenderKeyMessage, _aad

from .conftest import FakeClock, Net, introduce, snapshot

Make = Callable[..., CryptoEngine]
Trio = tuple[CryptoEngine, CryptoEngine, CryptoEngine]


def _b(p: str) -> bytearray:
    return bytearray(base64.b64decode(p))


def _s(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.fixture
def room(trio: Trio) -> Net:
    net = Net(*trio)
    net.join("#room", "alice", "bob", "carol")
    return net


def test_one_ciphertext_for_everyone(trio: Trio, room: Net) -> None:
    a, b, c = trio
    p = a.encrypt_channel("#room", b"hello all")
    assert b.decrypt_channel("#room", "alice", p) == b"hello all"
    assert c.decrypt_channel("#Room", "Alice", p) == b"hello all"
    q = c.encrypt_channel("#room", b"hi")
    assert a.decrypt_channel("#room", "carol", q) == b.decrypt_channel("#room", "carol", q)


def test_one_seal_and_one_signature_per_message_whatever_the_size(
    make: Make, seals: list[tuple[bytes, bytes]]
) -> None:
    a = make("alice")
    others = [make(f"user{i}") for i in range(30)]
    introduce(a, *others)
    a.channel_prepare_send("#big", [o.nick for o in others])
    seals.clear()
    p = a.encrypt_channel("#big", b"x")
    assert len(seals) == 1
    assert len(_b(p)) == 10 + 1 + 16 + 64  # header, ciphertext, tag, signature


def test_replay_and_reordering(trio: Trio, room: Net) -> None:
    a, b, _ = trio
    ps = [a.encrypt_channel("#room", b"%d" % i) for i in range(4)]
    assert b.decrypt_channel("#room", "alice", ps[2]) == b"2"
    assert b.decrypt_channel("#room", "alice", ps[0]) == b"0"
    before = snapshot(b)
    for p in (ps[2], ps[0]):
        with pytest.raises(ReplayError):
            b.decrypt_channel("#room", "alice", p)
    assert snapshot(b) == before
    assert b.decrypt_channel("#room", "alice", ps[3]) == b"3"
    assert b.decrypt_channel("#room", "alice", ps[1]) == b"1"


def test_member_cannot_forge_as_another_member(trio: Trio, room: Net) -> None:
    """Carol holds Alice's chain key, but not Alice's signing key."""
    a, b, c = trio
    chain = PeerChain.from_dict(
        c.export_state()["channels"]["#room"]["peers"]["alice"][0], RatchetLimits()
    )
    # Carol derives the next message key of Alice's chain and encrypts a forged message,
    # signing it with her own channel key (the only one she has).
    mk, _ = prim.chain_step(chain.ck)
    header = _HDR.pack(1, 3, chain.epoch, chain.n)
    aad = _aad("#room", "alice", header)
    ct = prim.seal(mk, prim.counter_nonce(chain.n), b"I owe carol 100", aad)
    carol_sig = c.export_state()["channels"]["#room"]["own"]["signing"]
    sk = Ed25519PrivateKey.from_private_bytes(base64.b64decode(carol_sig))
    forged = _s(header + ct + sk.sign(prim.LABEL_CHANNEL_SIG + aad + ct))
    before = snapshot(b)
    with pytest.raises(BadSignatureError):
        b.decrypt_channel("#room", "alice", forged)
    assert snapshot(b) == before
    assert b.decrypt_channel("#room", "alice", a.encrypt_channel("#room", b"real")) == b"real"


def test_sender_relabelled_fails(trio: Trio, room: Net) -> None:
    a, b, _ = trio
    p = a.encrypt_channel("#room", b"by alice")
    before = snapshot(b)
    with pytest.raises(DecryptionError):
        b.decrypt_channel("#room", "carol", p)
    assert snapshot(b) == before


def test_message_moved_to_another_channel_fails(trio: Trio, room: Net) -> None:
    a, b, _ = trio
    room.join("#other", "alice", "bob", "carol")
    p = a.encrypt_channel("#room", b"for #room only")
    before = snapshot(b)
    with pytest.raises(DecryptionError):
        b.decrypt_channel("#other", "alice", p)
    assert snapshot(b) == before
    assert b.decrypt_channel("#room", "alice", p) == b"for #room only"


@pytest.mark.parametrize("offset", [0, 1, 2, 5, 9, 10, -65, -1])
def test_edited_fields_fail_with_state_unchanged(trio: Trio, room: Net, offset: int) -> None:
    """version, kind, epoch, counter, ciphertext, signature."""
    a, b, _ = trio
    p = _b(a.encrypt_channel("#room", b"message"))
    p[offset] ^= 1
    before = snapshot(b)
    with pytest.raises(DecryptionError):
        b.decrypt_channel("#room", "alice", _s(bytes(p)))
    assert snapshot(b) == before
    assert b.decrypt_channel("#room", "alice", a.encrypt_channel("#room", b"ok")) == b"ok"


def test_counter_jump_of_a_billion_is_rejected(trio: Trio, room: Net) -> None:
    a, b, _ = trio
    p = _b(a.encrypt_channel("#room", b"x"))
    p[6:10] = (10**9).to_bytes(4, "big")
    before = snapshot(b)
    with pytest.raises(TooManySkippedError):
        b.decrypt_channel("#room", "alice", _s(bytes(p)))
    assert snapshot(b) == before


def test_kicked_member_full_old_state_cannot_read_next_message(trio: Trio, room: Net) -> None:
    a, b, c = trio
    assert c.decrypt_channel("#room", "alice", a.encrypt_channel("#room", b"before")) == b"before"
    carol_state = c.export_state()  # everything Carol ever had
    for e in (a, b):
        e.member_left("#room", "carol")
    with pytest.raises(RekeyRequiredError):
        a.encrypt_channel("#room", b"too early")
    dist = a.channel_prepare_send("#room")
    assert dist.rotated and [p for p, _ in dist.payloads] == ["bob"]
    b.handle_control("alice", dist.payloads[0][1])
    after = a.encrypt_channel("#room", b"after the kick")
    assert b.decrypt_channel("#room", "alice", after) == b"after the kick"
    thief = CryptoEngine.from_state(carol_state)
    with pytest.raises(DecryptionError):
        thief.decrypt_channel("#room", "alice", after)


def test_member_list_without_a_member_triggers_rotation(trio: Trio, room: Net) -> None:
    a, _, _ = trio
    epoch = a.channel_epoch("#room")
    dist = a.channel_prepare_send("#room", ["bob"])  # carol is gone, nobody told us
    assert dist.rotated and a.channel_epoch("#room") != epoch


def test_newcomer_gets_the_current_chain_only(trio: Trio, make: Make) -> None:
    a, b, _ = trio
    room = Net(a, b)
    room.join("#room", "alice", "bob")
    early = a.encrypt_channel("#room", b"before dave joined")
    dave = make("dave")
    introduce(a, b, dave)
    room.by_nick["dave"] = dave
    a.member_joined("#room", "dave")
    with pytest.raises(RekeyRequiredError):
        a.encrypt_channel("#room", b"x")
    room.distribute("alice", "#room")
    later = a.encrypt_channel("#room", b"after dave joined")
    assert dave.decrypt_channel("#room", "alice", later) == b"after dave joined"
    with pytest.raises(ReplayError):
        dave.decrypt_channel("#room", "alice", early)


def test_member_the_server_injected_gets_no_keys(trio: Trio, make: Make) -> None:
    """Keys go only to members the session layer names AND whose bundle we hold."""
    a, _, _ = trio
    dist = a.channel_prepare_send("#room", ["bob", "mallory"])
    assert [p for p, _ in dist.payloads] == ["bob"]
    assert dist.missing == ["mallory"]


def test_require_verified_withholds_keys_from_unverified(make: Make) -> None:
    a, b, c = make("alice", require_verified=True), make("bob"), make("carol")
    introduce(a, b, c)
    a.verify("bob", a.safety_number("bob"))
    dist = a.channel_prepare_send("#room", ["bob", "carol"])
    assert [p for p, _ in dist.payloads] == ["bob"] and dist.blocked == ["carol"]


def test_changed_key_member_is_blocked_and_channel_rotates_on_accept(
    trio: Trio, room: Net, make: Make
) -> None:
    a, _, _ = trio
    new_carol = make("carol")
    a.add_bundle("carol", new_carol.bundle())
    assert a.trust_state("carol") is TrustState.CHANGED
    epoch = a.channel_epoch("#room")
    a.accept_key_change("carol")
    dist = a.channel_prepare_send("#room")
    assert dist.rotated and a.channel_epoch("#room") != epoch
    assert sorted(p for p, _ in dist.payloads) == ["bob", "carol"]


def test_older_epoch_distribution_is_ignored(trio: Trio, room: Net, clock: FakeClock) -> None:
    a, b, _ = trio
    first = a.channel_epoch("#room")
    old_skdm = a.export_state()["channels"]["#room"]["own"]
    clock.advance(5)
    a.rotate_channel("#room")
    room.distribute("alice", "#room")
    assert a.channel_epoch("#room") == first + 5
    # Alice's (authentic) distribution of the old epoch arrives late: ignored.
    late = SenderKeyMessage(
        "#room", old_skdm["epoch"], 0, base64.b64decode(old_skdm["ck"]), bytes(32)
    )
    result = b._apply_control("alice", late.to_bytes())
    assert not result.accepted and "older epoch" in result.reason
    # Authentic traffic from an epoch older than the two kept ones is refused.
    stale = a.encrypt_channel("#room", b"held back by the server")
    for _ in range(2):
        clock.advance(5)
        a.rotate_channel("#room")
        room.distribute("alice", "#room")
    before = snapshot(b)
    with pytest.raises(StaleEpochError):
        b.decrypt_channel("#room", "alice", stale)
    assert snapshot(b) == before


def test_unsigned_rotation_is_rejected(trio: Trio, room: Net, make: Make) -> None:
    """A 'rotation' not carried by Alice's authenticated session never reaches Bob's chains."""
    _, b, c = trio
    before = snapshot(b)
    # 1. The server crafts a control payload from nothing.
    with pytest.raises(DecryptionError):
        b.handle_control("alice", _s(b"\x01\x02\x00" + bytes(120)))
    # 2. Carol's authentic distribution relabelled as coming from Alice.
    c.rotate_channel("#room")
    dist = c.channel_prepare_send("#room")
    to_bob = dict(dist.payloads)["bob"]
    with pytest.raises(DecryptionError):
        b.handle_control("alice", to_bob)
    assert snapshot(b) == before
    assert b.handle_control("carol", to_bob).accepted


def test_rotation_after_n_messages_and_t_seconds(make: Make, clock: FakeClock) -> None:
    a = make("alice", channel_rotate_messages=3, channel_rotate_seconds=50.0)
    b = make("bob")
    introduce(a, b)
    net = Net(a, b)
    net.join("#room", "alice", "bob")
    e1 = a.channel_epoch("#room")
    for _ in range(3):
        a.encrypt_channel("#room", b".")
    with pytest.raises(RekeyRequiredError):
        a.encrypt_channel("#room", b".")
    net.distribute("alice", "#room")
    e2 = a.channel_epoch("#room")
    assert e2 is not None and e1 is not None and e2 > e1
    assert b.decrypt_channel("#room", "alice", a.encrypt_channel("#room", b"e2")) == b"e2"
    clock.advance(51)
    with pytest.raises(RekeyRequiredError):
        a.encrypt_channel("#room", b".")
    net.distribute("alice", "#room")
    assert (a.channel_epoch("#room") or 0) > e2
    assert b.decrypt_channel("#room", "alice", a.encrypt_channel("#room", b"e3")) == b"e3"


def test_message_before_distribution_is_missing_keys_and_retry_works(
    trio: Trio,
) -> None:
    a, b, _ = trio
    dist = a.channel_prepare_send("#room", ["bob"])
    p = a.encrypt_channel("#room", b"early bird")
    with pytest.raises(MissingKeysError):
        b.decrypt_channel("#room", "alice", p)
    b.handle_control("alice", dist.payloads[0][1])
    assert b.decrypt_channel("#room", "alice", p) == b"early bird"


def test_a_lost_distribution_is_resent_from_the_same_chain_position(trio: Trio, make: Make) -> None:
    a, b, c = trio
    lost = a.channel_prepare_send("#room", ["bob", "carol"])
    for peer, payload in lost.payloads:
        if peer == "carol":
            assert c.handle_control("alice", payload).accepted  # bob's copy is lost
    first = a.encrypt_channel("#room", b"first")
    second = a.encrypt_channel("#room", b"second")
    with pytest.raises(MissingKeysError):
        b.decrypt_channel("#room", "alice", first)
    again = a.resend_channel_key("#room", "bob")
    assert again is not None
    assert b.handle_control("alice", again).accepted
    assert b.decrypt_channel("#room", "alice", first) == b"first"
    assert b.decrypt_channel("#room", "alice", second) == b"second"
    # carol already has it: a resend to her is a harmless duplicate
    dup = a.resend_channel_key("#room", "carol")
    assert dup is not None
    assert not c.handle_control("alice", dup).accepted


def test_key_resend_is_refused_to_non_members(trio: Trio, make: Make) -> None:
    a, _b, _c = trio
    eve = make("eve")
    a.channel_prepare_send("#room", ["bob"])
    assert a.resend_channel_key("#room", "carol") is None  # not a member
    assert a.resend_channel_key("#room", eve.nick) is None  # unknown, not a member
    assert a.resend_channel_key("#other", "bob") is None  # no such channel of ours
