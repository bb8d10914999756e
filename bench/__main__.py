"""``python -m bench``: run every bench, then regenerate the plots and docs/PERFORMANCE.md.

Each bench runs as its own process (a crash or a leaked descriptor in one cannot skew the
next). ``--quick`` runs them all with tiny parameters; ``--only fanout,idle`` picks some;
``--servers`` is passed to the benches that compare servers.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path

__all__ = ["BENCHES", "main"]

BENCHES = ("crypto", "fanout", "idle", "images")
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds, so every started server is stopped


def main(argv: list[str] | None = None) -> int:
    """Run the selected benches and the report; returns the number of benches that failed."""
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="tiny parameters (smoke run)")
    ap.add_argument("--only", default=",".join(BENCHES), help="comma-separated benches")
    ap.add_argument("--servers", default="", help="servers for fanout/idle (default: all)")
    ap.add_argument("--results", type=Path, help="directory for the JSON and plots")
    ap.add_argument("--doc", type=Path, help="document to regenerate")
    args = ap.parse_args(argv)
    # a smoke run must never overwrite the published figures
    default_results = RESULTS / "quick" if args.quick else RESULTS
    args.results = args.results or default_results
    args.doc = args.doc or (
        default_results / "PERFORMANCE.md" if args.quick else ROOT / "docs" / "PERFORMANCE.md"
    )
    signal.signal(signal.SIGTERM, _terminate)
    args.results.mkdir(parents=True, exist_ok=True)
    failed = 0
    for name in [b for b in args.only.split(",") if b]:
        if name not in BENCHES:
            ap.error(f"unknown bench {name!r}; choose from {', '.join(BENCHES)}")
        cmd = [sys.executable, "-m", f"bench.{name}"] + (["--quick"] if args.quick else [])
        if name != "crypto":
            cmd += ["--out", str(args.results / f"{name}.json")]
        if args.servers and name in ("fanout", "idle"):
            cmd += ["--servers", args.servers]
        print(f"== {' '.join(cmd[1:])}", flush=True)
        if name == "crypto":  # owned elsewhere and prints a table: keep its text
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            sys.stdout.write(proc.stdout)
            sys.stderr.write(proc.stderr)
            if proc.returncode == 0:
                (args.results / "crypto.txt").write_text(proc.stdout)
        else:
            proc = subprocess.run(cmd, cwd=ROOT)  # type: ignore[assignment]
        if proc.returncode != 0:
            print(f"!! bench.{name} failed with exit status {proc.returncode}", flush=True)
            failed += 1
    from bench.report import main as report

    report(["--results", str(args.results), "--doc", str(args.doc)])
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
