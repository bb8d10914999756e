"""Network attacks between real SDK sessions and the real server, through the hostile relay.

For each attack the receiving user never sees forged, replayed or tampered content as a
message, sees the right event instead, and the conversation carries on afterwards. These
run on asyncio and trio (each test is a few round trips).
"""

from __future__ import annotations

import base64
import io
import json
import os
import random
from typing import Any

import anyio
import pytest
from PIL import Image

from justirc_sdk import Session, events
from justirc_sdk.crypto import CryptoEngine
from justirc_sdk.crypto.errors import KeyChangedError, SafetyNumberMismatchError

from .conftest import Connect
from .relay import (
    Delay,
    Drop,
    Duplicate,
    FlipBit,
    Gate,
    Hold,
    Pass,
    Relay,
    RelayConn,
    Rewrite,
    Rule,
)
from .support import collect_until, is_from, shown

pytestmark = pytest.mark.anyio

Frame = dict[str, Any]


def to(nick: str, sender: str, kind: str = "msg") -> Any:
    """Match relayed messages from *sender* to *nick*'s connection, of one kind."""

    def match(conn: RelayConn, frame: Frame) -> bool:
        return (
            conn.nick == nick and frame.get("sender") == sender and frame.get("kind", "msg") == kind
        )

    return match


async def wait_rule(rule: Rule, count: int = 1) -> list[Frame]:
    return await anyio.to_thread.run_sync(rule.wait, count)


async def pair(connect: Connect) -> tuple[Session, Session]:
    """alice and bob with a pairwise session established in both directions."""
    alice, bob = await connect("alice"), await connect("bob")
    got = bob.wait_for(events.Message, check=is_from("alice"), timeout=10)
    await alice.send("bob", "hello bob")
    await got
    got_a = alice.wait_for(events.Message, check=is_from("bob"), timeout=10)
    await bob.send("alice", "hello alice")
    await got_a
    return alice, bob


async def chat_resumes(alice: Session, bob: Session, tag: str) -> None:
    """Both directions still decrypt after an attack."""
    got = bob.wait_for(events.Message, check=is_from("alice", f"{tag} a->b"), timeout=10)
    await alice.send("bob", f"{tag} a->b")
    await got
    got = alice.wait_for(events.Message, check=is_from("bob", f"{tag} b->a"), timeout=10)
    await bob.send("alice", f"{tag} b->a")
    await got


async def room(connect: Connect, name: str = "#h") -> tuple[Session, Session]:
    """alice (owner) and bob in *name*, with alice's sender key already delivered."""
    alice, bob = await pair(connect)
    await alice.join(name)
    joined = alice.wait_for(events.MemberJoined, check=lambda e: e.nick == "bob", timeout=10)
    await bob.join(name)
    await joined
    got = bob.wait_for(events.Message, check=is_from("alice", None, name), timeout=10)
    await alice.channel(name).send("welcome")
    await got
    return alice, bob


def noise_png(side: int = 180) -> bytes:
    """An incompressible PNG (random pixels): several attachment chunks on the wire."""
    img = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


# -- tampering ------------------------------------------------------------------------------


@pytest.mark.parametrize("bit", [0, 24, 8 * 60, -1, -8 * 20], ids=lambda b: f"bit{b}")
async def test_flipped_bit_in_private_message_is_rejected(
    connect: Connect, relay: Relay, bit: int
) -> None:
    alice, bob = await pair(connect)
    stream = bob.events()
    rule = relay.add(Rule("s2c", FlipBit(bit), "privmsg", to("bob", "alice"), limit=1))
    await alice.send("bob", "tampered text")
    await wait_rule(rule)
    await alice.send("bob", "after tampering")
    seen = await collect_until(stream, is_from("alice", "after tampering"))
    assert shown(seen) == ["after tampering"]
    failed = [e for e in seen if isinstance(e, events.DecryptionFailed)]
    assert [(e.sender, e.channel) for e in failed] == [("alice", None)]
    await chat_resumes(alice, bob, "post-flip")


@pytest.mark.parametrize("bit", [0, 8 * 12, -1, -8 * 80], ids=lambda b: f"bit{b}")
async def test_flipped_bit_in_channel_message_is_rejected(
    connect: Connect, relay: Relay, bit: int
) -> None:
    alice, bob = await room(connect)
    stream = bob.events()
    rule = relay.add(Rule("s2c", FlipBit(bit), "chanmsg", to("bob", "alice"), limit=1))
    await alice.channel("#h").send("tampered channel text")
    await wait_rule(rule)
    await alice.channel("#h").send("channel after tampering")
    seen = await collect_until(stream, is_from("alice", "channel after tampering", "#h"))
    assert shown(seen) == ["channel after tampering"]
    assert [e.channel for e in seen if isinstance(e, events.DecryptionFailed)] == ["#h"]


async def test_flipped_bit_in_image_chunk_rejects_the_image(connect: Connect, relay: Relay) -> None:
    alice, bob = await pair(connect)
    png = noise_png()
    stream = bob.events()
    rule = relay.add(Rule("s2c", FlipBit(8 * 100), "privmsg", to("bob", "alice", "file"), limit=1))
    await alice.send_image("bob", png, caption="tampered image")
    await wait_rule(rule)
    await alice.send("bob", "after the image")
    seen = await collect_until(stream, is_from("alice", "after the image"))
    assert not [e for e in seen if isinstance(e, events.ImageMessage)]
    reasons = [e.reason for e in seen if isinstance(e, events.DecryptionFailed)]
    assert reasons and "image rejected" in reasons[0]
    got = bob.wait_for(events.ImageMessage, timeout=10)
    await alice.send_image("bob", png, caption="clean image")
    image = await got
    assert (image.caption, image.width, image.height) == ("clean image", 180, 180)


# -- replay, duplication, loss, delay, reordering ---------------------------------------------


async def test_replayed_private_messages_are_rejected(connect: Connect, relay: Relay) -> None:
    alice, bob = await pair(connect)
    for text in ("first", "second"):
        got = bob.wait_for(events.Message, check=is_from("alice", text), timeout=10)
        await alice.send("bob", text)
        await got
    old = relay.frames("bob", "s2c", "privmsg")
    assert len(old) >= 3
    # a DH ratchet step, so that some replays come from a retired chain
    await chat_resumes(alice, bob, "step")
    stream = bob.events()
    for frame in old:
        relay.conn("bob").inject("s2c", frame)
    await alice.send("bob", "marker")
    seen = await collect_until(stream, is_from("alice", "marker"))
    assert shown(seen) == ["marker"]
    failed = [e for e in seen if isinstance(e, events.DecryptionFailed)]
    assert len(failed) == len(old)
    await chat_resumes(alice, bob, "post-replay")


async def test_replayed_channel_message_is_rejected(connect: Connect, relay: Relay) -> None:
    alice, bob = await room(connect)
    old = relay.frames("bob", "s2c", "chanmsg")
    stream = bob.events()
    for frame in old:
        relay.conn("bob").inject("s2c", frame)
    # the sender-key distribution too: a replayed key message changes nothing
    for frame in relay.frames("bob", "s2c", "privmsg"):
        if frame.get("kind") == "ctl":
            relay.conn("bob").inject("s2c", frame)
    await alice.channel("#h").send("channel marker")
    seen = await collect_until(stream, is_from("alice", "channel marker", "#h"))
    assert shown(seen) == ["channel marker"]
    failed = [e for e in seen if isinstance(e, events.DecryptionFailed)]
    assert len([e for e in failed if e.channel == "#h"]) == len(old)


async def test_replayed_image_is_not_shown_twice(connect: Connect, relay: Relay) -> None:
    alice, bob = await pair(connect)
    got = bob.wait_for(events.ImageMessage, timeout=10)
    await alice.send_image("bob", noise_png(), caption="once")
    await got
    frames = [f for f in relay.frames("bob", "s2c", "privmsg") if f.get("sender") == "alice"]
    image_frames = frames[-5:]  # the descriptor message and its chunks
    assert any(f.get("kind") == "file" for f in image_frames)
    stream = bob.events()
    for frame in image_frames:
        relay.conn("bob").inject("s2c", frame)
    await alice.send("bob", "marker")
    seen = await collect_until(stream, is_from("alice", "marker"))
    assert shown(seen) == ["marker"]


async def test_image_chunks_travel_as_binary_bodies(connect: Connect, relay: Relay) -> None:
    alice, bob = await pair(connect)
    png = noise_png(300)  # ~270 KB: five chunks
    got = bob.wait_for(events.ImageMessage, timeout=10)
    await alice.send_image("bob", png)
    assert (await got).data == png
    for nick, direction in (("alice", "c2s"), ("bob", "s2c")):
        chunks = [f for f in relay.frames(nick, direction, "privmsg") if f.get("kind") == "file"]
        assert len(chunks) == -(-len(png) // (60 * 1024))
        assert all(isinstance(f["payload"], bytes) for f in chunks)
        assert all(len(f["payload"]) <= 64 * 1024 for f in chunks)
    sent = relay.bytes_seen()
    assert png[1000:1064] not in sent  # ciphertext only, in both directions


async def test_duplicated_frames_show_once(connect: Connect, relay: Relay) -> None:
    alice, bob = await room(connect)
    stream = bob.events()
    relay.add(Rule("s2c", Duplicate(3), "privmsg", to("bob", "alice")))
    relay.add(Rule("s2c", Duplicate(3), "chanmsg", to("bob", "alice")))
    await alice.send("bob", "dup private")
    await alice.channel("#h").send("dup channel")
    relay.rules.clear()
    await alice.send("bob", "marker")
    seen = await collect_until(stream, is_from("alice", "marker"))
    assert shown(seen) == ["dup private", "dup channel", "marker"]
    assert len([e for e in seen if isinstance(e, events.DecryptionFailed)]) == 4


async def test_dropped_message_never_appears_and_chat_goes_on(
    connect: Connect, relay: Relay
) -> None:
    alice, bob = await room(connect)
    stream = bob.events()
    rule = relay.add(Rule("s2c", Drop(), "privmsg", to("bob", "alice"), limit=1))
    chan_rule = relay.add(Rule("s2c", Drop(), "chanmsg", to("bob", "alice"), limit=1))
    await alice.send("bob", "lost private")
    await alice.channel("#h").send("lost channel")
    await wait_rule(rule)
    await wait_rule(chan_rule)
    await alice.channel("#h").send("kept channel")
    await alice.send("bob", "kept private")
    seen = await collect_until(stream, is_from("alice", "kept private"))
    assert shown(seen) == ["kept channel", "kept private"]
    assert not [e for e in seen if isinstance(e, events.DecryptionFailed)]
    await chat_resumes(alice, bob, "post-drop")


async def test_delayed_and_reordered_messages_each_show_once(
    connect: Connect, relay: Relay
) -> None:
    alice, bob = await room(connect)
    stream = bob.events()
    relay.add(Rule("s2c", Hold(2), "privmsg", to("bob", "alice"), limit=2))
    relay.add(Rule("s2c", Hold(3), "chanmsg", to("bob", "alice"), limit=3))
    for n in (1, 2):
        await alice.send("bob", f"p{n}")
    for n in (1, 2, 3):
        await alice.channel("#h").send(f"c{n}")
    late = relay.add(Rule("s2c", Delay(0.2), "privmsg", to("bob", "alice"), limit=1))
    await alice.send("bob", "delayed")
    await wait_rule(late)
    await alice.send("bob", "overtaking")
    seen = await collect_until(stream, is_from("alice", "delayed"))
    assert shown(seen) == ["p2", "p1", "c3", "c2", "c1", "overtaking", "delayed"]
    assert not [e for e in seen if isinstance(e, events.DecryptionFailed)]


async def test_channel_message_overtaking_its_key_waits_for_it(
    connect: Connect, relay: Relay
) -> None:
    alice, bob = await pair(connect)
    await alice.join("#late")
    joined = alice.wait_for(events.MemberJoined, check=lambda e: e.nick == "bob", timeout=10)
    await bob.join("#late")
    await joined
    gate = Gate()
    held = relay.add(Rule("s2c", gate, "privmsg", to("bob", "alice", "ctl")))
    passed = relay.add(Rule("s2c", Pass(), "chanmsg", to("bob", "alice")))
    stream = bob.events()
    await alice.channel("#late").send("before the key")
    await wait_rule(held)
    await wait_rule(passed)  # the channel message reached bob ahead of its key
    held.enabled = False
    gate.release()
    await alice.channel("#late").send("after the key")
    seen = await collect_until(stream, is_from("alice", "after the key", "#late"))
    assert shown(seen) == ["before the key", "after the key"]
    assert not [e for e in seen if isinstance(e, events.DecryptionFailed)]


async def test_channel_recovers_after_a_lost_key_distribution(
    connect: Connect, relay: Relay
) -> None:
    alice, bob = await pair(connect)
    await alice.join("#lost")
    joined = alice.wait_for(events.MemberJoined, check=lambda e: e.nick == "bob", timeout=10)
    await bob.join("#lost")
    await joined
    rule = relay.add(Rule("s2c", Drop(), "privmsg", to("bob", "alice", "ctl"), limit=1))
    await alice.channel("#lost").send("first")
    await wait_rule(rule)
    stream = bob.events()
    await alice.channel("#lost").send("second")
    await alice.send("bob", "marker")
    seen = await collect_until(stream, is_from("alice", "marker"))
    assert "second" in shown(seen)


# -- forgery and key substitution -------------------------------------------------------------


async def test_forged_sender_is_rejected(connect: Connect, relay: Relay) -> None:
    alice, bob = await room(connect)
    carol = await connect("carol")
    got = bob.wait_for(events.Message, check=is_from("carol"), timeout=10)
    await carol.send("bob", "carol here")
    await got
    privs = relay.frames("bob", "s2c", "privmsg")
    from_alice = [f for f in privs if f["sender"] == "alice" and f["kind"] == "msg"][-1]
    from_carol = [f for f in privs if f["sender"] == "carol"][-1]
    chan = relay.frames("bob", "s2c", "chanmsg")[-1]
    stream = bob.events()
    bob_conn = relay.conn("bob")
    random_payload = base64.b64encode(b"\x01" + random.Random(7).randbytes(119)).decode()
    forged = [
        {**from_alice, "sender": "carol"},  # alice's ciphertext relabelled as carol's
        {**from_carol, "sender": "alice"},  # carol's as alice's
        {"type": "privmsg", "to": "bob", "sender": "alice", "kind": "msg", "payload": "AAAA"},
        {
            "type": "privmsg",
            "to": "bob",
            "sender": "alice",
            "kind": "msg",
            "payload": random_payload,
        },
        {**chan, "sender": "carol"},
        {**chan, "payload": random_payload},
        {
            "type": "privmsg",
            "to": "bob",
            "sender": "dave",
            "kind": "msg",
            "payload": random_payload,
        },
    ]
    for frame in forged:
        bob_conn.inject("s2c", frame)
    await alice.send("bob", "marker")
    seen = await collect_until(stream, is_from("alice", "marker"))
    assert shown(seen) == ["marker"]
    # every forgery is reported, except alice's channel ciphertext relabelled as carol's: it
    # waits for a key from carol that never comes (reported when the wait expires, 30 s)
    failed = [e for e in seen if isinstance(e, events.DecryptionFailed)]
    assert len(failed) == len(forged) - 1
    assert ("carol", "#h") not in [(e.sender, e.channel) for e in failed]
    await chat_resumes(alice, bob, "post-forgery")


async def test_client_cannot_claim_another_sender(connect: Connect, relay: Relay) -> None:
    """The server stamps the sender: a forged ``sender`` field from a client is overwritten."""
    alice, bob = await pair(connect)
    rule = relay.add(Rule("c2s", Rewrite(lambda f: {**f, "sender": "carol"}), "privmsg", limit=1))
    got = bob.wait_for(events.Message, check=is_from("alice", "stamped"), timeout=10)
    await alice.send("bob", "stamped")
    await got
    await wait_rule(rule)
    assert b'"sender":"carol"' in relay.bytes_seen()  # the client did claim to be carol
    assert relay.frames("bob", "s2c", "privmsg")[-1]["sender"] == "alice"


async def test_impostor_handshake_raises_key_changed_not_a_message(
    connect: Connect, relay: Relay
) -> None:
    alice, bob = await pair(connect)
    impostor = CryptoEngine.create("alice")
    impostor.add_bundle("bob", bob.crypto.bundle())
    forged = impostor.encrypt_private("bob", json.dumps({"t": "text", "text": "evil"}).encode())
    stream = bob.events()
    relay.conn("bob").inject(
        "s2c", {"type": "privmsg", "to": "bob", "sender": "alice", "kind": "msg", "payload": forged}
    )
    seen = await collect_until(stream, lambda e: isinstance(e, events.KeyChanged))
    change = seen[-1]
    assert isinstance(change, events.KeyChanged)
    assert change.nick == "alice"
    assert change.old_fingerprint == alice.fingerprint
    assert change.new_fingerprint == impostor.fingerprint()
    assert "evil" not in shown(seen)
    assert bob.trust_state("alice") == "changed"
    with pytest.raises(KeyChangedError):
        await bob.send("alice", "must not go to an unacknowledged key")
    got = bob.wait_for(events.Message, check=is_from("alice", "real alice"), timeout=10)
    await alice.send("bob", "real alice")
    assert (await got).text == "real alice"


def _substitute_bundle(nick: str, bundle: str) -> Rule:
    return Rule(
        "s2c",
        Rewrite(lambda f: {**f, "bundle": bundle}),
        "keys",
        lambda conn, f: f.get("nick") == nick,
    )


async def test_substituted_bundle_on_first_contact_is_caught_by_safety_numbers(
    connect: Connect, relay: Relay
) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    impostor = CryptoEngine.create("alice")
    rule = relay.add(_substitute_bundle("alice", impostor.bundle()))
    failed = alice.wait_for(events.DecryptionFailed, timeout=10)
    await bob.send("alice", "for alice's eyes only")
    await wait_rule(rule)
    # trust on first use pinned the impostor: the real alice cannot read the message ...
    assert (await failed).sender == "bob"
    assert bob.fingerprint_of("alice") == impostor.fingerprint() != alice.fingerprint
    # comparing safety numbers out of band exposes the substitution
    alice.crypto.add_bundle("bob", bob.crypto.bundle())  # alice's side of the comparison
    assert bob.safety_number("alice") != alice.safety_number("bob")
    with pytest.raises(SafetyNumberMismatchError):
        bob.verify("alice", alice.safety_number("bob"))
    # when the real alice writes, bob sees a key change, not her message
    waiter = bob.wait_for(events.KeyChanged, timeout=10)
    await alice.send("bob", "hello bob")
    change = await waiter
    assert (change.old_fingerprint, change.new_fingerprint) == (
        impostor.fingerprint(),
        alice.fingerprint,
    )
    assert bob.trust_state("alice") == "changed"
    # the safety number bob now shows is the real one: verifying it pins the real alice
    assert bob.safety_number("alice") == alice.safety_number("bob")
    bob.verify("alice", alice.safety_number("bob"))
    assert bob.trust_state("alice") == "verified"
    assert bob.fingerprint_of("alice") == alice.fingerprint


async def test_key_change_of_a_verified_contact_blocks_sending_until_reverified(
    connect: Connect, relay: Relay
) -> None:
    alice, bob = await pair(connect)
    bob.verify("alice", alice.safety_number("bob"))
    assert bob.trust_state("alice") == "verified"
    impostor = CryptoEngine.create("alice")
    impostor.add_bundle("bob", bob.crypto.bundle())
    forged = impostor.encrypt_private("bob", json.dumps({"t": "text", "text": "bait"}).encode())
    stream = bob.events()
    relay.conn("bob").inject(
        "s2c", {"type": "privmsg", "to": "bob", "sender": "alice", "kind": "msg", "payload": forged}
    )
    seen = await collect_until(stream, lambda e: isinstance(e, events.KeyChanged))
    change = seen[-1]
    assert isinstance(change, events.KeyChanged)
    assert (change.nick, change.new_fingerprint) == ("alice", impostor.fingerprint())
    assert "bait" not in shown(seen)
    assert bob.trust_state("alice") == "changed"
    with pytest.raises(KeyChangedError):
        await bob.send("alice", "blocked")
    bob.accept_key_change("alice")
    # a verified contact whose key changed stays blocked until re-verified ...
    assert bob.trust_state("alice") == "changed"
    with pytest.raises(KeyChangedError):
        await bob.send("alice", "still blocked")
    # ... and the real alice's safety number does not match the impostor's key
    with pytest.raises(SafetyNumberMismatchError):
        bob.verify("alice", alice.safety_number("bob"))
