"""The server sees nothing: no plaintext, image bytes or secret key reaches its wire, files or logs.

A scripted session (private messages, channel chat, an image, key rotations, a kick) runs
through the recording relay while the server logs at DEBUG. Then every byte relayed in both
directions, the SQLite files (database, -wal, -shm) and the log text are searched for each
plaintext string, for 32-byte windows of the image and for every secret key the clients hold,
raw and encoded (hex, base64 at each alignment). asyncio only: one long scripted scenario.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from justirc_sdk import Session, events
from server.embedded import EmbeddedServer

from .relay import Relay
from .support import capture_logs, encodings_of, is_from, secrets_of
from .test_attacks import noise_png

PLAINTEXTS = [
    "zk-private-alpha-91f3c2",
    "zk-private-reply-44d0ab",
    "zk-channel-bravo-7e12f9",
    "zk-channel-charlie-0b5a6d",
    "zk-after-rotation-delta-3c9e1f",
    "zk-after-kick-echo-e7a428",
    "zk-image-caption-foxtrot-55aa01",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _joined(nick: str) -> Callable[[events.MemberJoined], bool]:
    return lambda event: event.nick == nick


def _data_files(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file())


def _leaks(haystacks: dict[str, bytes], secret: bytes) -> list[str]:
    return [
        where for where, data in haystacks.items() if any(f in data for f in encodings_of(secret))
    ]


@pytest.mark.anyio
async def test_server_sees_no_plaintext_image_or_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with (
        capture_logs("server", "justirc_sdk") as logs,
        EmbeddedServer(data_dir, log_level="debug") as server,
        Relay("127.0.0.1", server.port) as relay,
    ):

        async def connect(nick: str) -> Session:
            return await Session.connect("127.0.0.1", relay.port, nick=nick, reconnect=False)

        alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
        sessions = [alice, bob, carol]
        try:
            got = bob.wait_for(events.Message, check=is_from("alice", PLAINTEXTS[0]), timeout=10)
            await alice.send("bob", PLAINTEXTS[0])
            await got
            got = alice.wait_for(events.Message, check=is_from("bob", PLAINTEXTS[1]), timeout=10)
            await bob.send("alice", PLAINTEXTS[1])
            await got

            room = await alice.join("#zk")
            for member in (bob, carol):
                joined = alice.wait_for(events.MemberJoined, check=_joined(member.nick), timeout=10)
                await member.join("#zk")
                await joined
            got = carol.wait_for(
                events.Message, check=is_from("alice", PLAINTEXTS[2], "#zk"), timeout=10
            )
            await room.send(PLAINTEXTS[2])
            await got
            got = alice.wait_for(
                events.Message, check=is_from("carol", PLAINTEXTS[3], "#zk"), timeout=10
            )
            await carol.channel("#zk").send(PLAINTEXTS[3])
            await got

            image = bob.wait_for(events.ImageMessage, timeout=10)
            await alice.send_image("bob", noise_png(), caption=PLAINTEXTS[6])
            received = await image
            assert received.caption == PLAINTEXTS[6]

            await alice.rotate_keys("bob")
            await room.rotate_keys()
            got = bob.wait_for(
                events.Message, check=is_from("alice", PLAINTEXTS[4], "#zk"), timeout=10
            )
            await room.send(PLAINTEXTS[4])
            await got

            kicked = carol.wait_for(events.Kicked, timeout=10)
            await room.kick("carol", "zk test")
            await kicked
            got = bob.wait_for(
                events.Message, check=is_from("alice", PLAINTEXTS[5], "#zk"), timeout=10
            )
            await room.send(PLAINTEXTS[5])
            await got
            await bob.ping()

            secrets = [s for session in sessions for s in secrets_of(session)]
            wire_live = relay.bytes_seen()
            files_live = _data_files(data_dir)
        finally:
            for session in sessions:
                await session.close()
        await anyio.to_thread.run_sync(server.stop)
        files_stopped = _data_files(data_dir)

    haystacks = {
        "wire": relay.bytes_seen(),
        "wire (live)": wire_live,
        "database (live, with -wal)": files_live,
        "database (stopped)": files_stopped,
        "server logs": logs.text().encode(),
    }
    assert b'"type":"chanmsg"' in haystacks["wire"]  # the recording is real
    assert files_live and b"#zk" in files_live + files_stopped  # so is the database
    assert any(r.levelname == "DEBUG" and r.name.startswith("server") for r in logs.records)
    for text in PLAINTEXTS:
        assert _leaks(haystacks, text.encode()) == [], text
    data = received.data
    assert len(data) > 64 * 1024
    for start in range(0, len(data) - 32, len(data) // 12):
        assert _leaks(haystacks, data[start : start + 32]) == [], f"image bytes at {start}"
    assert len(secrets) > 10
    for secret in secrets:
        assert _leaks(haystacks, secret) == [], "a secret key"
