"""Smoke run of bench/soak.py: a few clients for a few seconds, everything delivered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT


def test_soak_smoke(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "soak.py"),
            "--clients",
            "5",
            "--duration",
            "3",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "server RSS (MiB)" in result.stdout
    report = json.loads(out.read_text())
    assert report["clients"] == 5
    assert report["expected"] > 0
    assert report["delivered"] == report["expected"]
    assert len(report["rss_kib"]) >= 2
    assert all(sample["rss_kib"] > 0 for sample in report["rss_kib"])
