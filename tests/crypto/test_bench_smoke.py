"""The crypto benchmark runs (tiny iteration counts) and prints every figure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_quick_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench.crypto", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    for needle in ("ed25519 sign", "ed25519 verify", "chacha20poly1305", "members", "MB/s"):
        assert needle in out
