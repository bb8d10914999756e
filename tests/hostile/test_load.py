"""Load and abuse: a thousand clients at once, a garbage flood, a reader that never reads.

asyncio only (raw sockets at volume; the SDK pair is backend-independent and covered
elsewhere on trio). Latency figures are printed and attached as test properties, never
asserted: only delivery is.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import resource
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from justirc_sdk import Session, events
from server.embedded import EmbeddedServer
from tests.server.client import Closed, RawClient

from .support import capture_logs, is_from

pytestmark = pytest.mark.anyio

N_CLIENTS = 1000


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def big_server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192) if hard != resource.RLIM_INFINITY else 8192
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < 2 * N_CLIENTS + 200:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is too low for {N_CLIENTS} clients")
    with EmbeddedServer(tmp_path / "data") as srv:
        yield srv
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def _raw_register(port: int, nick: str, start: asyncio.Event) -> asyncio.StreamWriter:
    await start.wait()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b'{"type":"hello","version":1,"id":"h"}\n'
        + json.dumps({"type": "register", "nick": nick, "id": "r"}).encode()
        + b"\n"
    )
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError(f"{nick}: closed before registration")
        frame = json.loads(line)
        if frame.get("id") == "r":
            assert frame["type"] == "registered", frame
            return writer


async def pair_latency(alice: Session, bob: Session, rounds: int, tag: str) -> list[float]:
    """Round trips alice -> bob -> alice through the server, in seconds."""
    samples: list[float] = []
    for n in range(rounds):
        start = time.perf_counter()
        got = bob.wait_for(events.Message, check=is_from("alice", f"{tag}{n}"), timeout=30)
        await alice.send("bob", f"{tag}{n}")
        await got
        back = alice.wait_for(events.Message, check=is_from("bob", f"re {tag}{n}"), timeout=30)
        await bob.send("alice", f"re {tag}{n}")
        await back
        samples.append(time.perf_counter() - start)
    return samples


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


async def test_a_thousand_clients_at_once_are_all_served(
    big_server: EmbeddedServer, record_property: Callable[[str, Any], None]
) -> None:
    port = big_server.port
    start = asyncio.Event()
    began = time.perf_counter()
    tasks = [
        asyncio.ensure_future(_raw_register(port, f"load{n:04d}", start)) for n in range(N_CLIENTS)
    ]
    start.set()
    writers = await asyncio.wait_for(asyncio.gather(*tasks), 25)
    elapsed = time.perf_counter() - began
    record_property("thousand_clients_seconds", round(elapsed, 2))
    print(f"\n{N_CLIENTS} clients registered in {elapsed:.2f} s")
    try:
        assert len(writers) == N_CLIENTS
        online = big_server.call(lambda s: len(s.router.presence.online()))
        assert online == N_CLIENTS
        alice = await Session.connect("127.0.0.1", port, nick="alice", reconnect=False)
        bob = await Session.connect("127.0.0.1", port, nick="bob", reconnect=False)
        try:
            assert len(await pair_latency(alice, bob, 3, "crowd")) == 3
        finally:
            await alice.close()
            await bob.close()
    finally:
        for writer in writers:
            writer.close()


class _GarbageSender:
    """Threads that connect, register and then send random garbage lines as fast as they can;
    when the server drops them (abuse limit) they connect again."""

    def __init__(self, port: int, threads: int = 2) -> None:
        self.port = port
        self.stop = threading.Event()
        self.flowing = threading.Event()
        """Set once a megabyte of garbage went out (the flood is in full swing)."""
        self.bytes_sent = 0
        self.reconnects = 0
        self._threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)
        ]

    def __enter__(self) -> _GarbageSender:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(10)

    def _run(self, n: int) -> None:
        rng = os.urandom
        round_ = 0
        while not self.stop.is_set():
            round_ += 1
            try:
                client = RawClient(self.port)
            except OSError:
                continue
            try:
                client.hello()
                client.register(f"junk{n}x{round_}")
                client.sock.setblocking(True)
                while not self.stop.is_set():
                    chunk = b"\n".join(
                        [
                            rng(200),
                            base64.b64encode(rng(300)),
                            b'{"type":"privmsg","to":',
                            b'{"type":"nope"}',
                            b"[1,2,3]",
                        ]
                    )
                    client.sock.sendall(chunk + b"\n")
                    self.bytes_sent += len(chunk) + 1
                    if self.bytes_sent >= 1_000_000:
                        self.flowing.set()
            except (TimeoutError, OSError, Closed):
                self.reconnects += 1
            finally:
                client.close()


async def test_garbage_flood_does_not_stop_a_healthy_pair(
    tmp_path: Path, record_property: Callable[[str, Any], None]
) -> None:
    with capture_logs("server") as logs, EmbeddedServer(tmp_path / "data") as server:
        alice = await Session.connect("127.0.0.1", server.port, nick="alice", reconnect=False)
        bob = await Session.connect("127.0.0.1", server.port, nick="bob", reconnect=False)
        try:
            await pair_latency(alice, bob, 3, "warm")
            quiet = await pair_latency(alice, bob, 30, "quiet")
            with _GarbageSender(server.port) as flood:
                assert await anyio.to_thread.run_sync(flood.flowing.wait, 10)
                flooded = await pair_latency(alice, bob, 30, "flood")
                sent, reconnects = flood.bytes_sent, flood.reconnects
            assert alice.connected and bob.connected
        finally:
            await alice.close()
            await bob.close()
    figures = {
        "quiet": _summary(quiet),
        "garbage_flood": _summary(flooded),
        "garbage_bytes": sent,
        "garbage_reconnects": reconnects,
    }
    record_property("latency", figures)
    print(f"\nhealthy pair round trip (ms): {json.dumps(figures)}")
    assert len(flooded) == 30  # every message of the healthy pair was delivered
    assert not logs.tracebacks()


async def test_slow_reader_is_disconnected_while_others_continue(tmp_path: Path) -> None:
    with EmbeddedServer(
        tmp_path / "data", max_outbound=256 * 1024, rate_messages=(100_000.0, 100_000.0)
    ) as server:
        flooder = RawClient(server.port)
        healthy = RawClient(server.port)
        slow = RawClient(server.port, rcvbuf=4096)
        try:
            for client, nick in ((flooder, "flooder"), (healthy, "healthy"), (slow, "slowpoke")):
                client.hello()
                assert client.register(nick)["type"] == "registered"
                assert client.join("#firehose")["type"] == "joined"
            # slowpoke never reads again from here on
            payload = base64.b64encode(os.urandom(30_000)).decode()
            received = 0
            sent = 0
            slow_gone = False
            for _ in range(400):
                flooder.send({"type": "chanmsg", "channel": "#firehose", "payload": payload})
                sent += 1
                if sent % 10 == 0:
                    # healthy keeps up: drain everything it was sent so far
                    while received < sent:
                        frame = healthy.recv()
                        if frame["type"] == "chanmsg":
                            received += 1
                        elif frame["type"] == "member_left" and frame["nick"] == "slowpoke":
                            slow_gone = True
                if slow_gone:
                    break
            if not slow_gone:
                healthy.expect("member_left", nick="slowpoke")
            assert received == sent
            # the flood goes on for the others
            flooder.send({"type": "chanmsg", "channel": "#firehose", "payload": "AAAA"})
            assert healthy.expect("chanmsg", payload="AAAA")["sender"] == "flooder"
            assert flooder.request({"type": "ping", "token": "t"})["type"] == "pong"
            online = server.call(lambda s: sorted(s.router.presence.online()))
            assert online == ["flooder", "healthy"]
        finally:
            for client in (flooder, healthy, slow):
                client.close()
