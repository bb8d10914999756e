"""End to end with real SDK sessions: a 10 MB image, and channel messages at 2/10/100 members.

Image: Alice sends Bob a 10 MB PNG through a justirc-server subprocess; the time runs from
``send_image`` (read, encrypt in 60 KiB chunks, send each as a binary body) until Bob's
``ImageMessage`` event (route, reassemble, decrypt, verify the digest, decode every
pixel). Reported in MB/s (10^6 bytes). File: the same with 10 MB of random bytes sent
with ``send_file`` (no pixel decoding at the end).

Channel: one sender in this process, the other members in a child process. The sender
sends ``--messages`` 200-character messages, awaiting the server's acknowledgement of
each, while the members read nothing (their loop is parked until the sender is done, so
their decryption does not compete with it for the two cores); then 20 more under cProfile
to count its Python calls per message. Reported: the sender's messages/s, CPU per message
(user + system, from getrusage) and calls per message (one encryption and one signature
whatever the member count, so both should be flat), and end-to-end messages/s until the
last member decrypted the last message. The sender runs on a CPU of its own (the server
and the members on the other). Each channel size runs 3 times on a fresh server; medians
are reported.

Run ``python -m bench.images`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import logging
import math
import multiprocessing as mp
import os
import resource
import signal
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._proc import machine, median
from bench.loadgen import new_loop
from bench.servers import RunningServer
from justirc_sdk import Session, events

__all__ = ["channel_run", "channel_runs", "file_run", "image_run", "main", "make_png"]

_log = logging.getLogger("bench.images")
RESULTS = Path(__file__).resolve().parent / "results"
TEXT = "x" * 200
CHANNEL = "#bench"
PROBE = 20
"""Messages sent under cProfile after the timed ones, to count the sender's calls."""


def make_png(size: int) -> bytes:
    """A PNG of random pixels (incompressible) of about *size* bytes."""
    from PIL import Image

    side = max(8, int(math.sqrt(size / 3)))
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


async def _connect(port: int, nick: str) -> Session:
    return await Session.connect("127.0.0.1", port, nick=nick, reconnect=False)


async def _attachment_rounds(port: int, data: bytes, rounds: int, kind: str) -> list[float]:
    """Alice sends Bob *data* (an image, or any file) *rounds* times; MB/s of each."""
    alice = await _connect(port, "alice")
    bob = await _connect(port, "bobby")
    expected: type[events.ImageMessage | events.FileMessage] = (
        events.ImageMessage if kind == "image" else events.FileMessage
    )
    try:
        hello = bob.wait_for(events.Message, timeout=60)
        await alice.send("bobby", "hello")  # X3DH handshake outside the timed part
        await hello
        rates: list[float] = []
        for _ in range(rounds):
            got = bob.wait_for(expected, timeout=300)
            start = time.perf_counter()
            if kind == "image":
                await alice.send_image("bobby", data, filename="bench.png", strip_metadata=False)
            else:
                await alice.send_file("bobby", data, filename="bench.bin")
            event = await got
            elapsed = time.perf_counter() - start
            if event.data != data:
                raise RuntimeError(f"the received {kind} differs from the one sent")
            rates.append(len(data) / elapsed / 1e6)
        return rates
    finally:
        await alice.close()
        await bob.close()


def _attachment_run(data: bytes, rounds: int, kind: str) -> dict[str, Any]:
    with RunningServer("justirc") as srv:
        loop = new_loop()
        try:
            rates = loop.run_until_complete(_attachment_rounds(srv.port, data, rounds, kind))
        finally:
            loop.close()
    return {
        "bytes": len(data),
        "rounds": rounds,
        "mb_per_s": round(median(rates), 1),
        "mb_per_s_runs": [round(r, 1) for r in rates],
    }


def file_run(size: int = 10_000_000, rounds: int = 3) -> dict[str, Any]:
    """Send *size* random bytes as a file end to end *rounds* times through a fresh server.

    The same path as an image minus the receiver's pixel decoding."""
    return _attachment_run(os.urandom(size), rounds, "file")


def image_run(size: int = 10_000_000, rounds: int = 3) -> dict[str, Any]:
    """Send a *size*-byte PNG end to end *rounds* times through a fresh server."""
    return _attachment_run(make_png(size), rounds, "image")


# -- channel messages ----------------------------------------------------------------------


def _receivers(port: int, count: int, messages: int, pipe: Connection) -> None:
    """Child process: *count* members who count decrypted messages and report times."""
    loop = new_loop()

    async def run() -> None:
        sessions: list[Session] = []
        got = [0] * count
        total = count * (messages + 1)
        state = {"sum": 0, "warm": 0}
        warm = asyncio.Event()
        done = asyncio.Event()

        def handler(i: int) -> Any:
            def on_message(event: events.Message) -> None:
                got[i] += 1
                state["sum"] += 1
                if got[i] == 1:
                    state["warm"] += 1
                    if state["warm"] == count:
                        warm.set()
                if state["sum"] == total:
                    done.set()

            return on_message

        try:
            for i in range(count):
                s = await _connect(port, f"m{i:04d}")
                s.on(events.Message)(handler(i))
                await s.join(CHANNEL)
                sessions.append(s)
            pipe.send(("ready", None))
            await asyncio.wait_for(warm.wait(), 300)
            pipe.send(("warm", time.monotonic()))
            # Block this loop (on purpose) while the sender is measured: the messages
            # wait in socket buffers, and the members' decryption does not compete with
            # the sender for the two cores (contention inflated its CPU figure by ±30%).
            pipe.recv()
            await asyncio.wait_for(done.wait(), 600)
            pipe.send(("done", time.monotonic()))
        except Exception as exc:
            pipe.send(("error", f"{type(exc).__name__}: {exc}"))
        finally:
            for s in sessions:
                await s.close()

    try:
        loop.run_until_complete(run())
    finally:
        loop.close()


def _expect(pipe: Connection, kind: str, timeout: float) -> Any:
    if not pipe.poll(timeout):
        raise RuntimeError(f"members did not report {kind!r} within {timeout} s")
    got, value = pipe.recv()
    if got != kind:
        raise RuntimeError(f"members reported {got}: {value}")
    return value


async def _send(port: int, messages: int, pipe: Connection) -> dict[str, float]:
    sender = await _connect(port, "sender")
    try:
        channel = await sender.join(CHANNEL)
        await channel.send("warm-up: hands out the sender key to every member")
        await asyncio.get_running_loop().run_in_executor(None, _expect, pipe, "warm", 300)
        usage0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        for _ in range(messages):
            await channel.send(TEXT)
        sent, usage1 = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
        user = usage1.ru_utime - usage0.ru_utime
        system = usage1.ru_stime - usage0.ru_stime
        # The work itself, free of CPU noise: Python calls per message, counted by
        # cProfile over a few more messages (outside the timed part: it slows them)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(PROBE):
            await channel.send(TEXT)
        profile.disable()
        calls = sum(entry.callcount for entry in profile.getstats())
        pipe.send(("go", None))  # the members may read and decrypt now
        last = await asyncio.get_running_loop().run_in_executor(None, _expect, pipe, "done", 600)
    finally:
        await sender.close()
    return {
        "sender_msgs_per_s": round(messages / (sent - t0), 1),
        "sender_cpu_us_per_msg": round((user + system) * 1e6 / messages, 1),
        "sender_user_us_per_msg": round(user * 1e6 / messages, 1),
        "sender_system_us_per_msg": round(system * 1e6 / messages, 1),
        "sender_calls_per_msg": round(calls / PROBE, 1),
        "e2e_msgs_per_s": round((messages + PROBE) / (last - t0), 1),
        "decrypts_per_s": 0.0,
    }


def channel_runs(members: int, messages: int, rounds: int) -> dict[str, Any]:
    """:func:`channel_run` *rounds* times, fresh server each; the median of each figure.

    One run's sender CPU swings by ±20% here even on a CPU of its own, so flatness is
    judged on medians (and on the calls per message, which do not depend on load).
    """
    runs = [channel_run(members, messages) for _ in range(rounds)]
    keys = (
        "sender_msgs_per_s",
        "sender_cpu_us_per_msg",
        "sender_user_us_per_msg",
        "sender_system_us_per_msg",
        "sender_calls_per_msg",
        "e2e_msgs_per_s",
        "decrypts_per_s",
    )
    result: dict[str, Any] = {"members": members, "messages": messages, "rounds": rounds}
    result.update({key: round(median([r[key] for r in runs]), 1) for key in keys})
    result["sender_cpu_us_per_msg_runs"] = [r["sender_cpu_us_per_msg"] for r in runs]
    return result


def _split_cpus() -> tuple[set[int], set[int]] | None:
    """One CPU for the measured sender, the rest for the server and the members."""
    cpus = sorted(os.sched_getaffinity(0))
    return ({cpus[0]}, set(cpus[1:])) if len(cpus) >= 2 else None


def channel_run(members: int, messages: int) -> dict[str, Any]:
    """*members* in one channel (one sender); see the module docstring for the figures.

    With two or more CPUs the sender gets a CPU of its own and the server and members
    share the others: left to the scheduler, the server's fan-out to 99 members often
    ran on the sender's CPU and added ~100 µs to each of its messages.
    """
    ctx = mp.get_context("spawn")
    split = _split_cpus()
    mine = os.sched_getaffinity(0)
    with RunningServer("justirc") as srv:
        parent, child = ctx.Pipe()
        args = (srv.port, members - 1, messages + PROBE, child)
        proc = ctx.Process(target=_receivers, args=args)
        proc.start()
        if split is not None:
            os.sched_setaffinity(0, split[0])
            for pid in (srv.pid, proc.pid):
                if pid is not None:
                    os.sched_setaffinity(pid, split[1])
        try:
            _expect(parent, "ready", 600)
            loop = new_loop()
            try:
                result = loop.run_until_complete(_send(srv.port, messages, parent))
            finally:
                loop.close()
        finally:
            os.sched_setaffinity(0, mine)
            proc.join(30)
            if proc.is_alive():
                proc.kill()
                proc.join()
    result["decrypts_per_s"] = round(result["e2e_msgs_per_s"] * (members - 1), 1)
    return {"members": members, "messages": messages, **result}


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds, so every started server is stopped


def main(argv: list[str] | None = None) -> int:
    """Command line: run the bench and write ``bench/results/images.json``."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny parameters (smoke test)")
    ap.add_argument("--out", type=Path, default=RESULTS / "images.json")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    size, rounds = (200_000, 1) if args.quick else (10_000_000, 3)
    sizes, messages, channel_rounds = ([2, 3], 5, 1) if args.quick else ([2, 10, 100], 500, 3)
    image = image_run(size, rounds)
    print(f"image {image['bytes']:,} bytes end to end: {image['mb_per_s']} MB/s")
    file = file_run(size, rounds)
    print(f"file {file['bytes']:,} bytes end to end: {file['mb_per_s']} MB/s")
    channel = []
    for n in sizes:
        r = channel_runs(n, messages, channel_rounds)
        channel.append(r)
        print(
            f"channel {n:4d} members: sender {r['sender_msgs_per_s']} msg/s "
            f"({r['sender_cpu_us_per_msg']} us CPU/msg), end to end {r['e2e_msgs_per_s']} msg/s"
        )
    doc = {
        "bench": "images",
        "machine": machine(),
        "quick": args.quick,
        "image": image,
        "file": file,
        "channel": channel,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
