"""Surviving a server restart: reconnect, re-register, rejoin, keep chatting encrypted."""

from __future__ import annotations

import anyio
import pytest

from justirc_sdk import events
from justirc_sdk.errors import NotConnected
from server.embedded import EmbeddedServer

from .conftest import Connect
from .test_chat import message_from

pytestmark = pytest.mark.anyio


async def test_reconnect_after_server_restart(connect: Connect, server: EmbeddedServer) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    room = await alice.join("#keep")
    joined = alice.wait_for(events.MemberJoined, check=lambda e: e.nick == "bob", timeout=10)
    await bob.join("#keep")
    await joined
    got = message_from(bob, "alice", "#keep")
    await room.send("before restart")
    await got

    down = [
        alice.wait_for(events.Disconnected, timeout=10),
        bob.wait_for(events.Disconnected, timeout=10),
    ]
    back = [
        alice.wait_for(events.Reconnected, timeout=30),
        bob.wait_for(events.Reconnected, timeout=30),
    ]
    await anyio.to_thread.run_sync(server.restart)
    for waiter in down:
        assert (await waiter).will_reconnect  # type: ignore[attr-defined]
    for waiter in back:
        await waiter
    assert "#keep" in alice.channels
    assert "#keep" in bob.channels
    with anyio.fail_after(10):
        while set(alice.channel("#keep").members) != {"alice", "bob"}:
            await alice.wait_for(events.MemberJoined, timeout=10)

    got = message_from(bob, "alice", "#keep")
    await alice.channel("#keep").send("after restart")
    assert (await got).text == "after restart"
    got = message_from(alice, "bob")
    await bob.send("alice", "private after restart")
    assert (await got).text == "private after restart"


async def test_sending_while_disconnected_raises_not_connected(
    connect: Connect, server: EmbeddedServer
) -> None:
    alice = await connect("alice")
    await connect("bob")
    down = alice.wait_for(events.Disconnected, timeout=10)
    await anyio.to_thread.run_sync(server.stop)
    await down
    assert not alice.connected
    with pytest.raises(NotConnected, match="reconnecting"):
        await alice.send("bob", "into the void")


async def test_no_reconnect_when_disabled(connect: Connect, server: EmbeddedServer) -> None:
    alice = await connect("alice", reconnect=False)
    down = alice.wait_for(events.Disconnected, timeout=10)
    stream = alice.events()
    await anyio.to_thread.run_sync(server.stop)
    assert (await down).will_reconnect is False
    with anyio.fail_after(10):
        async for _ in stream:
            pass  # ends because the session closed itself
    assert alice.closed
