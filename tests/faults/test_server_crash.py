"""kill -9 of the server mid-traffic, then a restart on the same port.

The database passes ``PRAGMA integrity_check``; channels, bans and accounts survive; the
sessions reconnect by themselves and keep chatting end to end, and no (key, nonce) pair is
ever used twice over the whole test (recorded at the crypto package's single AEAD boundary).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import anyio
import pytest

from justirc_sdk import JustIRCError, Session, events
from justirc_sdk.crypto import _primitives as prim
from server.store import DB_FILENAME
from tests.hostile.support import is_from
from tests.server.client import RawClient

from .conftest import ServerProcess

pytestmark = pytest.mark.anyio


@pytest.fixture
def seals() -> Iterator[list[tuple[bytes, bytes]]]:
    pairs: list[tuple[bytes, bytes]] = []
    prim.set_seal_observer(lambda key, nonce: pairs.append((key, nonce)))
    try:
        yield pairs
    finally:
        prim.set_seal_observer(None)


def integrity(server: ServerProcess) -> str:
    db = sqlite3.connect(server.data_dir / DB_FILENAME)
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        db.close()


async def test_kill9_mid_traffic_then_restart(
    server_process: ServerProcess, seals: list[tuple[bytes, bytes]]
) -> None:
    port = server_process.port
    alice = await Session.connect("127.0.0.1", port, nick="alice")
    bob = await Session.connect("127.0.0.1", port, nick="bob")
    try:
        await alice.create_account("correct horse battery staple")
        room = await alice.join("#keep")
        await room.set_topic("survives kill -9")
        joined = alice.wait_for(events.MemberJoined, check=lambda e: e.nick == "bob", timeout=10)
        await bob.join("#keep")
        await joined
        await room.ban("mallory", reason="spam")
        got = bob.wait_for(events.Message, check=is_from("alice", "warm-up", "#keep"), timeout=10)
        await room.send("warm-up")
        await got

        down = [s.wait_for(events.Disconnected, timeout=20) for s in (alice, bob)]
        back = [s.wait_for(events.Reconnected, timeout=60) for s in (alice, bob)]
        sent: list[str] = []

        async def chatter() -> None:
            # keeps sending until the connection drops under it
            for n in range(10_000):
                try:
                    await alice.send("bob", f"in flight {n}")
                    await room.send(f"channel in flight {n}")
                except JustIRCError:
                    return
                sent.append(f"in flight {n}")

        async with anyio.create_task_group() as tg:
            tg.start_soon(chatter)
            first = bob.wait_for(events.Message, check=is_from("alice", "in flight 3"), timeout=10)
            await first
            server_process.kill9()  # mid-traffic: alice is still sending
        for gone in down:
            assert (await gone).will_reconnect
        assert integrity(server_process) == "ok"

        server_process.start()  # same port, same data directory
        for returned in back:
            await returned
        with anyio.fail_after(10):
            while set(alice.channel("#keep").members) != {"alice", "bob"}:
                await alice.wait_for(events.MemberJoined, timeout=10)

        # the registry survived: owner, topic, ban; and the account
        assert alice.channel("#keep").my_role == "owner"
        assert alice.channel("#keep").topic == "survives kill -9"
        assert [b.nick for b in await alice.channel("#keep").bans()] == ["mallory"]
        mallory = RawClient(port)
        try:
            mallory.hello()
            assert mallory.register("mallory")["type"] == "registered"
            assert mallory.join("#keep")["code"] == "banned"
            login = mallory.request(
                {"type": "login", "account": "alice", "password": "correct horse battery staple"}
            )
            assert login["type"] == "logged_in", login
        finally:
            mallory.close()

        # encrypted chat continues both ways, private and channel
        got = bob.wait_for(events.Message, check=is_from("alice", "after restart"), timeout=10)
        await alice.send("bob", "after restart")
        await got
        got = alice.wait_for(events.Message, check=is_from("bob", "reply", "#keep"), timeout=10)
        await bob.channel("#keep").send("reply")
        await got
        got = bob.wait_for(
            events.Message, check=is_from("alice", "channel after restart", "#keep"), timeout=10
        )
        await alice.channel("#keep").send("channel after restart")
        await got
    finally:
        await alice.close()
        await bob.close()
    assert len(sent) >= 3
    assert len(seals) > 10
    assert len(set(seals)) == len(seals), "a (key, nonce) pair was used twice"
