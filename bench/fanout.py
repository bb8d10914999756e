"""Channel fan-out: justirc-server beside ngircd and miniircd, same workload, same run.

Workload (per server, fresh server per run, median of ``--repeat`` runs): N clients in one
channel; ``--senders`` of them send ``--messages`` each, pacing on a ping after every
``--batch`` messages with at most ``--window`` batches outstanding. Payloads are opaque
base64-alphabet strings as long as a real encrypted 200-character channel message. Also
a fixed-rate run (``--rate`` messages/s in total) for latency.

Reported per server: delivered/expected, deliveries/s, server CPU microseconds per
delivery (utime+stime from /proc, measured around the message phase only), p50/p99
latency and peak RSS (VmHWM).

Run ``python -m bench.fanout`` (``--quick`` for a smoke run; ``--servers justirc`` to skip
the IRC servers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._proc import cpu_seconds, machine, median, percentile, raise_nofile, rss_kb
from bench.loadgen import (
    DIALECTS,
    Client,
    Swarm,
    connect_clients,
    encrypted_payload_length,
    make_payload,
    new_loop,
)
from bench.servers import SERVERS, RunningServer, ServerUnavailable

__all__ = ["fixed_rate_run", "main", "paced_run", "run_fanout"]

_log = logging.getLogger("bench.fanout")
CHANNEL = "#bench"
RESULTS = Path(__file__).resolve().parent / "results"


def _dialect(server: str) -> str:
    return "justirc" if server == "justirc" else "irc"


async def _wait_done(swarm: Swarm, stall: float) -> bool:
    """Wait until every delivery arrived, or until no progress for *stall* seconds."""
    last = -1
    while not swarm.done.is_set():
        if swarm.delivered == last:
            return False
        last = swarm.delivered
        try:
            await asyncio.wait_for(swarm.done.wait(), stall)
        except asyncio.TimeoutError:
            continue
    return True


def _summary(
    srv: RunningServer, swarm: Swarm, cpu: float, elapsed: float, clients: int
) -> dict[str, Any]:
    alive = srv.alive()
    return {
        "clients": clients,
        "expected": swarm.expected,
        "delivered": swarm.delivered,
        "delivered_pct": round(100 * swarm.delivered / swarm.expected, 3) if swarm.expected else 0,
        "seconds": round(elapsed, 3),
        "deliveries_per_s": round(swarm.delivered / elapsed) if elapsed else 0,
        "cpu_us_per_delivery": round(cpu * 1e6 / swarm.delivered, 3) if swarm.delivered else None,
        "server_cpu_s": round(cpu, 3),
        "p50_ms": round(percentile(swarm.latencies_ms, 50), 2),
        "p99_ms": round(percentile(swarm.latencies_ms, 99), 2),
        "latency_samples": len(swarm.latencies_ms),
        "peak_rss_kb": rss_kb(srv.pid, "VmHWM") if alive else None,
        "server_alive": alive,
        "connections_lost": swarm.lost,
    }


async def _session(
    server: str, clients: int, senders: int, payload_len: int, drive: Any, stall: float
) -> dict[str, Any]:
    dialect = DIALECTS[_dialect(server)]
    swarm = Swarm()
    probes = min(20, clients - senders)
    with RunningServer(server) as srv:
        # senders first, then the receivers (probes are among the receivers)
        tx = await connect_clients(dialect, srv.port, senders, swarm, channel=CHANNEL, prefix="s")
        rx = await connect_clients(
            dialect, srv.port, clients - senders, swarm, channel=CHANNEL, probes=probes
        )
        everyone = tx + rx
        await asyncio.sleep(0.3)  # let join notices settle before counting CPU
        swarm.delivered = 0
        swarm.latencies_ms.clear()
        cpu0, t0 = cpu_seconds(srv.pid), time.perf_counter()
        sent = await drive(dialect, tx, swarm, payload_len)
        swarm.expected = sent * (clients - 1)
        if swarm.delivered >= swarm.expected:
            swarm.done.set()
        complete = await _wait_done(swarm, stall)
        elapsed = time.perf_counter() - t0
        cpu = cpu_seconds(srv.pid) - cpu0 if srv.alive() else float("nan")
        result = _summary(srv, swarm, cpu, elapsed, clients)
        result["complete"] = complete
        for c in everyone:
            c.close()
        await asyncio.sleep(0)
    return result


def paced_run(
    server: str,
    clients: int,
    *,
    senders: int = 10,
    messages: int = 1000,
    batch: int = 20,
    window: int = 2,
    payload_len: int = 436,
    stall: float = 10.0,
) -> dict[str, Any]:
    """One paced fan-out run against a fresh *server*; returns its measurements."""

    async def drive(dialect: Any, tx: list[Client], swarm: Swarm, plen: int) -> int:
        async def sender(c: Client) -> int:
            batches = messages // batch
            for b in range(batches):
                await c.wait_pongs(b - window + 1)
                stamp = make_payload(plen)
                c.write(b"".join(dialect.message(CHANNEL, stamp) for _ in range(batch)))
                c.write(dialect.ping(b))
            await c.wait_pongs(batches)
            return batches * batch

        counts = await asyncio.gather(*(sender(c) for c in tx), return_exceptions=True)
        return sum(n for n in counts if isinstance(n, int))

    loop = new_loop()
    try:
        return loop.run_until_complete(
            _session(server, clients, senders, payload_len, drive, stall)
        )
    finally:
        loop.close()


def fixed_rate_run(
    server: str,
    clients: int,
    *,
    rate: float = 500.0,
    seconds: float = 10.0,
    senders: int = 10,
    payload_len: int = 436,
    stall: float = 10.0,
) -> dict[str, Any]:
    """Messages at a fixed total *rate* (round-robin over senders) for latency."""

    async def drive(dialect: Any, tx: list[Client], swarm: Swarm, plen: int) -> int:
        total = int(rate * seconds)
        start = time.monotonic()
        sent = 0
        while sent < total:
            due = min(total, int((time.monotonic() - start) * rate) + 1)
            while sent < due:
                c = tx[sent % len(tx)]
                if not c.closed.is_set():
                    c.write(dialect.message(CHANNEL, make_payload(plen)))
                sent += 1
            await asyncio.sleep(max(0.0, start + sent / rate - time.monotonic()))
        return sent

    loop = new_loop()
    try:
        result = loop.run_until_complete(
            _session(server, clients, senders, payload_len, drive, stall)
        )
    finally:
        loop.close()
    result["rate"] = rate
    return result


def _median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of each numeric figure over *runs*, plus the runs themselves."""
    out: dict[str, Any] = {"runs": runs}
    for key, value in runs[0].items():
        nums = [r[key] for r in runs if isinstance(r.get(key), int | float) and r[key] == r[key]]
        if isinstance(value, bool) or not nums or len(nums) != len(runs):
            out[key] = all(r.get(key) for r in runs) if isinstance(value, bool) else value
        else:
            out[key] = median([float(n) for n in nums])
    return out


def run_fanout(
    servers: list[str],
    *,
    sizes: list[int],
    repeat: int,
    messages: int,
    senders: int,
    rate: float,
    seconds: float,
    fixed_clients: int,
) -> dict[str, Any]:
    """The whole fan-out bench; returns the results document."""
    raise_nofile()
    payload_len = encrypted_payload_length()
    doc: dict[str, Any] = {
        "bench": "fanout",
        "machine": machine(),
        "workload": {
            "senders": senders,
            "messages_per_sender": messages,
            "batch": 20,
            "window": 2,
            "payload_bytes": payload_len,
            "repeat": repeat,
            "fixed_rate": rate,
            "fixed_seconds": seconds,
            "fixed_clients": fixed_clients,
        },
        "paced": {},
        "fixed_rate": {},
        "errors": {},
    }
    for server in servers:
        for n in sizes:
            runs: list[dict[str, Any]] = []
            for i in range(repeat):
                _log.info("paced: %s, %d clients, run %d/%d", server, n, i + 1, repeat)
                try:
                    runs.append(
                        paced_run(
                            server, n, senders=senders, messages=messages, payload_len=payload_len
                        )
                    )
                except (ServerUnavailable, OSError, asyncio.TimeoutError) as exc:
                    _log.warning("%s with %d clients failed: %s", server, n, exc)
                    doc["errors"][f"{server}/paced/{n}"] = f"{type(exc).__name__}: {exc}"[:500]
                    break
            if runs:
                doc["paced"].setdefault(server, {})[str(n)] = _median_of(runs)
        runs = []
        for i in range(repeat):
            _log.info("fixed rate: %s, %d clients, run %d/%d", server, fixed_clients, i + 1, repeat)
            try:
                runs.append(
                    fixed_rate_run(
                        server,
                        fixed_clients,
                        rate=rate,
                        seconds=seconds,
                        senders=senders,
                        payload_len=payload_len,
                    )
                )
            except (ServerUnavailable, OSError, asyncio.TimeoutError) as exc:
                _log.warning("%s fixed rate failed: %s", server, exc)
                doc["errors"][f"{server}/fixed/{fixed_clients}"] = f"{type(exc).__name__}: {exc}"[
                    :500
                ]
                break
        if runs:
            doc["fixed_rate"][server] = _median_of(runs)
    return doc


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds, so every started server is stopped


def main(argv: list[str] | None = None) -> int:
    """Command line: run the bench and write ``bench/results/fanout.json``."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny parameters (smoke test)")
    ap.add_argument("--servers", default=",".join(SERVERS), help="comma-separated servers")
    ap.add_argument("--out", type=Path, default=RESULTS / "fanout.json")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    servers = [s for s in args.servers.split(",") if s]
    if args.quick:
        params = dict(sizes=[5], repeat=1, messages=40, senders=2, rate=50.0, seconds=0.5)
        params["fixed_clients"] = 5
    else:
        params = dict(sizes=[50, 200], repeat=3, messages=1000, senders=10, rate=500.0)
        params.update(seconds=10.0, fixed_clients=200)
    doc = run_fanout(servers, **params)  # type: ignore[arg-type]
    doc["quick"] = args.quick
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    for server, by_n in doc["paced"].items():
        for n, r in by_n.items():
            print(
                f"{server:9s} N={n:>4s} delivered {r['delivered_pct']:6.2f}% "
                f"{r['deliveries_per_s']:>10,.0f}/s {r['cpu_us_per_delivery']} us/delivery "
                f"p50 {r['p50_ms']} ms p99 {r['p99_ms']} ms peak {r['peak_rss_kb']} KiB"
            )
    for server, r in doc["fixed_rate"].items():
        print(f"{server:9s} fixed {r['rate']}/s: p50 {r['p50_ms']} ms p99 {r['p99_ms']} ms")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
