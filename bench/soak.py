"""Bounded soak: many clients chatting for minutes; server RSS over time and delivered/expected.

Run ``python -m bench.soak`` (defaults: 200 clients, 300 s) or ``python bench/soak.py
--clients 5 --duration 3``. The server runs as its own process (``python -m server``) so its
RSS is read from ``/proc/<pid>/status``. Clients are raw protocol clients sending realistic
opaque payloads (random base64 of the size of an encrypted chat line): channel messages to
groups of 20 and private messages to a neighbour. Prints a table and writes JSON
(``--json``); the exit status is 1 when anything sent was not delivered.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GROUP = 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@dataclass
class _Client:
    nick: str
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    channel: str
    received: int = 0
    pongs: dict[str, asyncio.Event] = field(default_factory=dict)

    def send(self, frame: dict[str, Any]) -> None:
        self.writer.write(json.dumps(frame, separators=(",", ":")).encode() + b"\n")

    async def read_loop(self) -> None:
        while line := await self.reader.readline():
            frame = json.loads(line)
            kind = frame.get("type")
            if kind in ("chanmsg", "privmsg"):
                self.received += 1
            elif kind == "pong" and frame.get("token") in self.pongs:
                self.pongs[frame["token"]].set()
            elif kind == "ping":
                self.send({"type": "pong", "token": frame.get("token")})

    async def sync(self, token: str) -> None:
        """Ping and wait for the pong: everything queued for us before it has arrived."""
        self.pongs[token] = asyncio.Event()
        self.send({"type": "ping", "token": token})
        await self.writer.drain()
        await asyncio.wait_for(self.pongs[token].wait(), 60)


async def _connect(port: int, nick: str, channel: str) -> _Client:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    for frame in (
        {"type": "hello", "version": 1, "id": "h"},
        {"type": "register", "nick": nick, "id": "r"},
        {"type": "join", "channel": channel, "id": "j"},
    ):
        writer.write(json.dumps(frame).encode() + b"\n")
        while True:
            reply = json.loads(await reader.readline())
            if reply.get("id") == frame["id"]:
                if reply["type"] == "error":
                    raise RuntimeError(f"{nick}: {reply}")
                break
    return _Client(nick, reader, writer, channel)


async def _soak(port: int, pid: int, clients: int, duration: float, rate: float) -> dict[str, Any]:
    nicks = [f"soak{n:04d}" for n in range(clients)]
    conns: list[_Client] = []
    for n, nick in enumerate(nicks):
        conns.append(await _connect(port, nick, f"#soak{n // GROUP}"))
    members: dict[str, int] = {}
    for c in conns:
        members[c.channel] = members.get(c.channel, 0) + 1
    readers = [asyncio.ensure_future(c.read_loop()) for c in conns]
    expected = 0
    sent = 0
    samples: list[dict[str, float]] = []
    start = time.monotonic()
    next_sample = start
    rng = random.Random(1)
    try:
        while (now := time.monotonic()) - start < duration:
            if now >= next_sample:
                samples.append({"t": round(now - start, 1), "rss_kib": _rss_kib(pid)})
                next_sample += max(1.0, duration / 30)
            for i, c in enumerate(conns):
                if rng.random() >= rate / 10:
                    continue
                payload = base64.b64encode(os.urandom(rng.randint(120, 600))).decode()
                if rng.random() < 0.7:
                    c.send({"type": "chanmsg", "channel": c.channel, "payload": payload})
                    expected += members[c.channel] - 1
                else:
                    peer = conns[(i + 1) % len(conns)]
                    if peer is c:
                        continue
                    c.send({"type": "privmsg", "to": peer.nick, "payload": payload})
                    expected += 1
                sent += 1
            await asyncio.gather(*(c.writer.drain() for c in conns))
            await asyncio.sleep(0.1)
        for c in conns:  # every sender's frames are routed ...
            await c.sync("sent")
        for c in conns:  # ... and every recipient has read what was routed to it
            await c.sync("drained")
        samples.append({"t": round(time.monotonic() - start, 1), "rss_kib": _rss_kib(pid)})
    finally:
        for task in readers:
            task.cancel()
        for c in conns:
            c.writer.close()
    delivered = sum(c.received for c in conns)
    rss = [s["rss_kib"] for s in samples]
    return {
        "clients": clients,
        "duration_s": duration,
        "messages_sent": sent,
        "expected": expected,
        "delivered": delivered,
        "delivered_ratio": round(delivered / expected, 6) if expected else 1.0,
        "rss_kib": samples,
        "rss_first_kib": rss[0],
        "rss_max_kib": max(rss),
        "rss_last_kib": rss[-1],
    }


def _print_table(result: dict[str, Any]) -> None:
    print(f"{'t (s)':>8} {'server RSS (MiB)':>18}")
    for sample in result["rss_kib"]:
        print(f"{sample['t']:>8} {sample['rss_kib'] / 1024:>18.1f}")
    print(
        f"clients {result['clients']}, sent {result['messages_sent']}, "
        f"delivered {result['delivered']}/{result['expected']} "
        f"({result['delivered_ratio']:.4%}); RSS {result['rss_first_kib'] / 1024:.1f} -> "
        f"{result['rss_last_kib'] / 1024:.1f} MiB (max {result['rss_max_kib'] / 1024:.1f})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of chatting")
    parser.add_argument("--rate", type=float, default=1.0, help="messages per client per second")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data = str(Path(tmp) / "data")
        config = _config(Path(tmp) / "soak.toml")
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server",
                "--port",
                str(port),
                "--data-dir",
                data,
                "--log-level",
                "warning",
                "--config",
                str(config),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
        )
        try:
            assert server.stdout is not None
            if "listening on" not in server.stdout.readline():
                print("soak: the server did not start", file=sys.stderr)
                return 2
            result = asyncio.run(_soak(port, server.pid, args.clients, args.duration, args.rate))
        finally:
            server.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(10)
            if server.poll() is None:
                server.kill()
                server.wait()
            if server.stdout is not None:
                server.stdout.close()
    _print_table(result)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "rss_kib"}))
    return 0 if result["delivered"] == result["expected"] else 1


def _config(path: Path) -> Path:
    """Limits raised so the soak measures routing, not the per-IP abuse protection."""
    path.write_text(
        "[server]\n"
        "connect_rate = [100000.0, 100000.0]\n"
        "rate_messages = [100000.0, 100000.0]\n"
        "rate_joins = [100000.0, 100000.0]\n"
        "rate_commands = [100000.0, 100000.0]\n"
    )
    return path


if __name__ == "__main__":
    sys.exit(main())
