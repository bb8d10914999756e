"""End-to-end chat through the SDK: real server, real sockets, asyncio and trio."""

from __future__ import annotations

import anyio
import pytest

from justirc_sdk import Channel, JustIRCError, events
from justirc_sdk.errors import (
    Banned,
    Forbidden,
    MessageTooLarge,
    NickInUse,
    NoSuchNick,
    NotConnected,
)
from justirc_sdk.session import EventWaiter, Session

from .conftest import Connect

pytestmark = pytest.mark.anyio


def message_from(
    session: Session, sender: str, channel: str | None = None
) -> EventWaiter[events.Message]:
    return session.wait_for(
        events.Message, check=lambda e: e.sender == sender and e.channel == channel, timeout=10
    )


async def test_private_messages_both_ways_unicode_empty_and_max(connect: Connect) -> None:
    alice = await connect("alice")
    bob = await connect("bob")
    for text in ["hello bob", "", "ünïcödé ✓ 🎉 \u2028 <b>x</b>", "é" * (16 * 1024)]:
        got = message_from(bob, "alice")
        await alice.send("bob", text)
        message = await got
        assert message.text == text
        assert message.channel is None
        assert message.verified is False
    got = message_from(alice, "bob")
    await bob.send("alice", "hi alice")
    assert (await got).text == "hi alice"


async def test_message_too_large_is_refused_before_sending(connect: Connect) -> None:
    alice = await connect("alice")
    await connect("bob")
    with pytest.raises(MessageTooLarge):
        await alice.send("bob", "x" * (33 * 1024))


async def test_unknown_nick_and_taken_nick_raise_typed_errors(connect: Connect) -> None:
    alice = await connect("alice")
    with pytest.raises(NoSuchNick):
        await alice.send("nobody", "hello?")
    with pytest.raises(NickInUse):
        await connect("ALICE")
    assert alice.connected


async def _three_in(connect: Connect, channel: str) -> tuple[Session, Session, Session, Channel]:
    alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
    room = await alice.join(channel)
    joined = alice.wait_for(events.MemberJoined, check=lambda e: e.nick == "carol", timeout=10)
    await bob.join(channel)
    await carol.join(channel)
    await joined
    return alice, bob, carol, room


async def test_channel_chat_among_three_members(connect: Connect) -> None:
    alice, bob, carol, room = await _three_in(connect, "#Room")
    assert room.name == "#Room"
    assert room.members == {"alice": "owner", "bob": "member", "carol": "member"}
    at_bob, at_carol = message_from(bob, "alice", "#Room"), message_from(carol, "alice", "#Room")
    await room.send("hi all")
    assert (await at_bob).text == "hi all"
    assert (await at_carol).text == "hi all"
    at_alice, at_bob = message_from(alice, "carol", "#Room"), message_from(bob, "carol", "#Room")
    await carol.channel("#room").send("hi from carol", action=True)
    first, second = await at_alice, await at_bob
    assert (first.text, first.action) == ("hi from carol", True)
    assert second.text == "hi from carol"


async def test_member_who_left_receives_nothing_and_keys_rotate(connect: Connect) -> None:
    alice, bob, carol, room = await _three_in(connect, "#r")
    at_carol = message_from(carol, "alice", "#r")
    await room.send("before")
    await at_carol
    epoch_before = alice.crypto.channel_epoch("#r")

    left = alice.wait_for(events.MemberLeft, check=lambda e: e.nick == "carol", timeout=10)
    await carol.channel("#r").leave()
    await left
    carol_events = carol.events()
    at_bob = message_from(bob, "alice", "#r")
    await room.send("after carol left")
    assert (await at_bob).text == "after carol left"
    assert alice.crypto.channel_epoch("#r") > epoch_before
    await carol.ping()  # carol is online and in sync, but got no channel message
    await alice.send("carol", "marker")
    async with carol_events:
        async for event in carol_events:
            if isinstance(event, events.Message):
                assert event.text == "marker"
                break


async def test_kick_and_ban_through_channel_methods(connect: Connect) -> None:
    _alice, bob, carol, room = await _three_in(connect, "#mod")
    with pytest.raises(Forbidden):
        await bob.channel("#mod").kick("carol")
    kicked = carol.wait_for(events.Kicked, timeout=10)
    await room.kick("carol", "bye")
    event = await kicked
    assert (event.nick, event.by, event.reason) == ("carol", "alice", "bye")
    assert not carol.channels
    assert "carol" not in room.members

    left = bob.wait_for(events.ChannelLeft, timeout=10)
    await room.ban("bob", "no")
    await left
    with pytest.raises(Banned):
        await bob.join("#mod")
    await room.unban("bob")
    assert (await bob.join("#mod")).joined


async def test_rotation_keeps_everyone_talking(connect: Connect) -> None:
    alice, bob, carol, room = await _three_in(connect, "#rot")
    at_bob, at_carol = message_from(bob, "alice", "#rot"), message_from(carol, "alice", "#rot")
    await room.send("one")
    await at_bob
    await at_carol
    rotated = alice.crypto.channel_epoch("#rot")
    await room.rotate_keys()
    assert alice.crypto.channel_epoch("#rot") > rotated
    at_bob, at_carol = message_from(bob, "alice", "#rot"), message_from(carol, "alice", "#rot")
    await room.send("two")
    assert (await at_bob).text == "two"
    assert (await at_carol).text == "two"

    got = message_from(bob, "alice")
    await alice.send("bob", "pm one")
    await got
    await alice.rotate_keys("bob")
    got = message_from(bob, "alice")
    await alice.send("bob", "pm two")
    assert (await got).text == "pm two"
    got = message_from(alice, "bob")
    await bob.send("alice", "pm back")
    assert (await got).text == "pm back"
    got = message_from(alice, "carol")
    await carol.send("alice", "carol unaffected")
    assert (await got).text == "carol unaffected"


async def test_safety_numbers_match_and_verify(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    got = message_from(bob, "alice")
    await alice.send("bob", "hi")
    await got
    assert alice.safety_number("bob") == bob.safety_number("alice")
    assert alice.fingerprint_of("bob") == bob.fingerprint
    alice.verify("bob", bob.safety_number("alice"))
    assert alice.trust_state("bob") == "verified"
    got = message_from(alice, "bob")
    await bob.send("alice", "now verified")
    assert (await got).verified is True
    with pytest.raises(JustIRCError):
        bob.verify("alice", "1" * 60)


async def test_key_change_is_an_event_and_blocks_a_verified_contact(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    got = message_from(bob, "alice")
    await alice.send("bob", "hi")
    await got
    alice.verify("bob", bob.safety_number("alice"))
    old_fp = bob.fingerprint
    gone = alice.wait_for(events.UserOffline, check=lambda e: e.nick == "bob", timeout=10)
    await bob.close()
    await gone
    new_bob = await connect("bob")  # a new identity under the same nick
    changed = alice.wait_for(events.KeyChanged, timeout=10)
    await new_bob.send("alice", "it is me, honest")
    event = await changed
    assert event.nick == "bob"
    assert event.old_fingerprint == old_fp
    assert event.new_fingerprint == new_bob.fingerprint
    assert alice.trust_state("bob") == "changed"
    with pytest.raises(JustIRCError):
        await alice.send("bob", "should not go out")
    alice.accept_key_change("bob")
    alice.verify("bob", new_bob.safety_number("alice"))
    got = message_from(new_bob, "alice")
    await alice.send("bob", "welcome back")
    assert (await got).text == "welcome back"


async def test_events_with_two_consumers_each_see_everything(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    first, second = bob.events(), bob.events()
    for i in range(5):
        await alice.send("bob", f"m{i}")

    async def take(stream: object) -> list[str]:
        out: list[str] = []
        async for event in stream:  # type: ignore[attr-defined]
            if isinstance(event, events.Message):
                out.append(event.text)
                if len(out) == 5:
                    break
        return out

    with anyio.fail_after(10):
        assert await take(first) == [f"m{i}" for i in range(5)]
        assert await take(second) == [f"m{i}" for i in range(5)]
    await first.aclose()
    await second.aclose()


async def test_slow_consumer_overflow_is_reported_not_blocking(connect: Connect) -> None:
    alice = await connect("alice")
    bob = await connect("bob", event_buffer=3)
    slow = bob.events()
    last = bob.wait_for(events.Message, check=lambda e: e.text == "m7", timeout=10)
    for i in range(8):
        await alice.send("bob", f"m{i}")
    await last  # the session and other consumers kept going
    seen: list[events.Event] = []
    with anyio.fail_after(5):
        async for event in slow:
            seen.append(event)
            if isinstance(event, events.EventsDropped):
                break
    texts = [e.text for e in seen if isinstance(e, events.Message)]
    assert texts == ["m0", "m1", "m2"]
    assert isinstance(seen[-1], events.EventsDropped)
    assert seen[-1].count == 5


async def test_notebook_style_use_across_separate_tasks(connect: Connect) -> None:
    """Connect in one task ("cell"), send from later ones; events flow in between."""
    sessions: dict[str, Session] = {}

    async def cell_1() -> None:
        sessions["a"] = await connect("alice")
        sessions["b"] = await connect("bob")

    async def cell_2() -> None:
        sessions["waiter"] = message_from(sessions["b"], "alice")  # type: ignore[assignment]
        await sessions["a"].send("bob", "from cell 2")

    async def cell_3() -> None:
        message = await sessions["waiter"]  # type: ignore[misc]
        assert message.text == "from cell 2"

    for cell in (cell_1, cell_2, cell_3):
        async with anyio.create_task_group() as tg:
            tg.start_soon(cell)
    assert sessions["b"].connected


async def test_closed_session_refuses_to_send(connect: Connect) -> None:
    alice = await connect("alice")
    await connect("bob")
    await alice.close()
    assert alice.closed
    with pytest.raises(NotConnected):
        await alice.send("bob", "late")
    await alice.close()  # idempotent


async def test_handler_exceptions_are_reported_not_swallowed(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    seen: list[str] = []

    @bob.on(events.Message)
    async def broken(event: events.Message) -> None:
        seen.append(event.text)
        raise RuntimeError("handler bug")

    failed = bob.wait_for(events.HandlerFailed, timeout=10)
    await alice.send("bob", "trigger")
    report = await failed
    assert isinstance(report.error, RuntimeError)
    assert "broken" in report.handler
    assert seen == ["trigger"]
    failed = bob.wait_for(events.HandlerFailed, timeout=10)
    await alice.send("bob", "again")
    await failed  # the handler stays registered
    assert seen == ["trigger", "again"]


async def test_nick_change_keeps_private_and_channel_chat_working(connect: Connect) -> None:
    alice, bob, carol, room = await _three_in(connect, "#nicks")
    got = message_from(alice, "bob")
    await bob.send("alice", "before")
    await got
    renamed = alice.wait_for(events.NickChanged, timeout=10)
    await bob.change_nick("robert")
    assert (await renamed).new == "robert"
    assert bob.nick == "robert"
    assert "robert" in room.members
    got = message_from(alice, "robert")
    await bob.send("alice", "new name, same me")
    assert (await got).text == "new name, same me"
    assert alice.fingerprint_of("robert") == bob.fingerprint
    got = message_from(bob, "alice")
    await alice.send("robert", "hi robert")
    assert (await got).text == "hi robert"
    at_alice, at_carol = (
        message_from(alice, "robert", "#nicks"),
        message_from(carol, "robert", "#nicks"),
    )
    await bob.channel("#nicks").send("channel as robert")
    assert (await at_alice).text == "channel as robert"
    assert (await at_carol).text == "channel as robert"
    at_bob = message_from(bob, "alice", "#nicks")
    await room.send("to robert in channel")
    assert (await at_bob).text == "to robert in channel"


async def test_fetch_keys_before_the_first_message(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    assert alice.fingerprint_of("bob") is None
    assert await alice.fetch_keys("bob") == bob.fingerprint
    await bob.fetch_keys("alice")
    assert alice.safety_number("bob") == bob.safety_number("alice")


async def test_rejecting_a_key_change_keeps_the_pinned_key(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    got = message_from(bob, "alice")
    await alice.send("bob", "hi")
    await got
    alice.verify("bob", bob.safety_number("alice"))
    pinned = alice.fingerprint_of("bob")
    gone = alice.wait_for(events.UserOffline, check=lambda e: e.nick == "bob", timeout=10)
    await bob.close()
    await gone
    impostor = await connect("bob")
    changed = alice.wait_for(events.KeyChanged, timeout=10)
    await impostor.send("alice", "trust me")
    await changed
    assert alice.trust_state("bob") == "changed"
    stream = alice.events()
    alice.reject_key_change("bob")
    assert alice.trust_state("bob") == "verified"
    assert alice.fingerprint_of("bob") == pinned
    await impostor.send("alice", "really, trust me")  # a new handshake: a new key change
    async with stream:
        async for event in stream:
            assert not isinstance(event, events.Message), "a held message was shown"
            if isinstance(event, events.KeyChanged):
                break
    assert alice.trust_state("bob") == "changed"


async def test_server_renaming_us_rebinds_our_keys(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    await alice.create_account("a long enough password")
    assert alice.account == "alice"
    renamed = alice.wait_for(events.NickChanged, timeout=10)
    await alice.logout()  # a guest may not keep a registered nick: the server renames us
    event = await renamed
    assert event.old == "alice"
    assert alice.nick == event.new != "alice"
    got = message_from(bob, alice.nick)
    await alice.send("bob", "still me")
    assert (await got).text == "still me"
    got = message_from(alice, "bob")
    await bob.send(alice.nick, "hello guest")
    assert (await got).text == "hello guest"


async def test_nicks_with_capitals_chat_privately_and_in_channels(connect: Connect) -> None:
    alice, bob = await connect("Alice"), await connect("BOB")
    got = message_from(bob, "Alice")
    await alice.send("bob", "case does not matter")
    assert (await got).text == "case does not matter"
    got = message_from(alice, "BOB")
    await bob.send("ALICE", "indeed")
    assert (await got).text == "indeed"
    room = await alice.join("#Caps")
    joined = alice.wait_for(events.MemberJoined, timeout=10)
    await bob.join("#caps")
    await joined
    got = message_from(bob, "Alice", "#Caps")
    await room.send("channel too")
    assert (await got).text == "channel too"
