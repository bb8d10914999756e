"""Idle connections: server memory per registered, silent connection.

For each count (1,000 / 10,000 / 20,000) a fresh server is started, its RSS read, then
that many clients register (JustIRC: hello + register; IRC: NICK + USER) from a pool of
holder processes, and the RSS is read again once all are registered: the difference
divided by the count is the cost of one idle connection. The bench raises the
open-file limit in itself, the holders and the server.

Run ``python -m bench.idle`` (``--quick`` for a smoke run; ``--servers justirc``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing as mp
import signal
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._proc import machine, raise_nofile, rss_kb
from bench.loadgen import DIALECTS, Swarm, connect_clients, new_loop
from bench.servers import RunningServer, ServerUnavailable

__all__ = ["idle_run", "main"]

_log = logging.getLogger("bench.idle")
RESULTS = Path(__file__).resolve().parent / "results"
_PER_HOLDER = 5000
_FD_MARGIN = 100
"""Descriptors a server needs besides its connections (listener, SQLite, logs, epoll)."""


def _holder(
    dialect: str, port: int, count: int, prefix: str, deadline: float, pipe: Connection
) -> None:
    """Child process: open *count* registered connections, report, hold until told."""
    raise_nofile(count + 1024)
    loop = new_loop()

    async def run() -> None:
        swarm = Swarm()
        errors: list[str] = []
        clients = await connect_clients(
            DIALECTS[dialect],
            port,
            count,
            swarm,
            prefix=prefix,
            concurrency=200,
            errors=errors,
            # while ~20,000 connections are opened on two cores, one registration may wait
            # over 20 s in the accept backlog: the bench measures memory, not that wait
            timeout=120.0,
            deadline=deadline,
        )
        pipe.send(("ready", (len(clients), errors[:3], len(errors))))
        # wait for the parent's word without blocking the loop (pings still get answers)
        await asyncio.get_running_loop().run_in_executor(None, pipe.poll, None)
        pipe.send(("lost", swarm.lost))
        for c in clients:
            c.close()
        await asyncio.sleep(0.1)

    try:
        loop.run_until_complete(run())
    finally:
        loop.close()


def idle_run(
    server: str, count: int, *, settle: float = 1.0, max_setup: float = 180.0
) -> dict[str, Any]:
    """Hold *count* idle registered connections to a fresh *server*; memory figures.

    When the open-file limit cannot hold *count* sockets in the server, the run holds as
    many as fit (``attempted`` < ``connections``) instead of stalling on refused accepts.
    """
    wanted = count
    count = min(count, raise_nofile(1 << 17) - _FD_MARGIN)
    dialect = "justirc" if server == "justirc" else "irc"
    ctx = mp.get_context("spawn")
    with RunningServer(server) as srv:
        time.sleep(0.3)
        base = rss_kb(srv.pid)
        holders = []
        started = time.perf_counter()
        deadline = time.monotonic() + max_setup
        try:
            for i in range(0, count, _PER_HOLDER):
                parent, child = ctx.Pipe()
                share = min(_PER_HOLDER, count - i)
                proc = ctx.Process(
                    target=_holder,
                    args=(dialect, srv.port, share, f"h{i // _PER_HOLDER}", deadline, child),
                )
                proc.start()
                holders.append((proc, parent))
            held, failed, errors = 0, 0, []
            for _proc, pipe in holders:
                if not pipe.poll(300):
                    errors.append("holder timed out")
                    continue
                _kind, (ok, some_errors, n_errors) = pipe.recv()
                held += ok
                failed += n_errors
                errors += some_errors
            setup = time.perf_counter() - started
            time.sleep(settle)
            alive = srv.alive()
            rss = rss_kb(srv.pid) if alive else 0
            hwm = rss_kb(srv.pid, "VmHWM") if alive else 0
            lost = 0
            for _proc, pipe in holders:
                try:
                    pipe.send("close")
                    if pipe.poll(10):
                        kind, value = pipe.recv()
                        lost += value if kind == "lost" else 0
                except (OSError, EOFError):
                    pass
        finally:
            for proc, _pipe in holders:
                proc.join(15)
                if proc.is_alive():
                    proc.kill()
                    proc.join()
    per_conn = (rss - base) * 1024 / held if held and alive else None
    return {
        "connections": wanted,
        "attempted": count,
        "capped_by_nofile": count < wanted,
        "registered": held,
        "registrations_per_s": round(held / setup, 1) if setup else None,
        "failed": failed,
        "setup_seconds": round(setup, 2),
        "base_rss_kb": base,
        "rss_kb": rss,
        "peak_rss_kb": hwm,
        "bytes_per_connection": round(per_conn) if per_conn is not None else None,
        "server_alive": alive,
        "errors": errors[:5],
    }


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds, so the server and holders are stopped


def main(argv: list[str] | None = None) -> int:
    """Command line: run the bench and write ``bench/results/idle.json``."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny parameters (smoke test)")
    ap.add_argument("--servers", default="justirc,ngircd", help="comma-separated servers")
    ap.add_argument("--counts", default="", help="comma-separated connection counts")
    ap.add_argument("--max-setup", type=float, default=180.0, help="seconds to connect")
    ap.add_argument("--out", type=Path, default=RESULTS / "idle.json")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    limit = raise_nofile(1 << 17)
    counts = [int(c) for c in args.counts.split(",") if c] or (
        [50] if args.quick else [1000, 10_000, 20_000]
    )
    doc: dict[str, Any] = {
        "bench": "idle",
        "machine": machine(),
        "nofile_limit": limit,
        "quick": args.quick,
        "results": {},
        "errors": {},
    }
    for server in [s for s in args.servers.split(",") if s]:
        for count in counts:
            _log.info("idle: %s with %d connections", server, count)
            try:
                r = idle_run(server, count, max_setup=args.max_setup)
            except (ServerUnavailable, OSError) as exc:
                doc["errors"][f"{server}/{count}"] = str(exc)[:500]
                continue
            doc["results"].setdefault(server, {})[str(count)] = r
            print(
                f"{server:8s} {count:>6d} conns: registered {r['registered']}, "
                f"{r['bytes_per_connection']} B/conn, RSS {r['rss_kb']} KiB"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
