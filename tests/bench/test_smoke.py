"""Smoke runs of every bench with tiny parameters, against justirc-server only.

Benchmarks are not tests: nothing here asserts a timing. These runs only prove that each
bench still completes and writes well-formed results, so the benches cannot rot.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


def _json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    assert data["quick"] is True
    assert data["machine"]["cores"] >= 1
    return data


def test_fanout_and_idle_through_the_bench_runner(tmp_path: Path) -> None:
    doc = tmp_path / "PERFORMANCE.md"
    _run(
        "bench",
        "--quick",
        "--only",
        "fanout,idle",
        "--servers",
        "justirc",
        "--results",
        str(tmp_path),
        "--doc",
        str(doc),
    )
    fanout = _json(tmp_path / "fanout.json")
    paced = fanout["paced"]["justirc"]["5"]
    assert paced["delivered"] == paced["expected"] > 0
    assert paced["cpu_us_per_delivery"] is not None
    assert fanout["fixed_rate"]["justirc"]["delivered"] > 0
    assert fanout["errors"] == {}
    idle = _json(tmp_path / "idle.json")
    held = idle["results"]["justirc"]["50"]
    assert held["registered"] == 50
    assert held["server_alive"] is True
    text = doc.read_text()
    assert "| justirc | 5 |" in text
    assert "## Idle connections" in text
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "fanout.png").stat().st_size > 0
        assert (tmp_path / "idle.png").stat().st_size > 0


def test_images_bench_sends_an_image_and_channel_messages(tmp_path: Path) -> None:
    out = tmp_path / "images.json"
    _run("bench.images", "--quick", "--out", str(out))
    data = _json(out)
    assert data["image"]["bytes"] > 100_000
    assert data["image"]["mb_per_s"] > 0
    assert data["file"]["bytes"] == 200_000 and data["file"]["mb_per_s"] > 0
    assert [r["members"] for r in data["channel"]] == [2, 3]
    assert all(r["e2e_msgs_per_s"] > 0 for r in data["channel"])


def test_report_keeps_the_hand_written_analysis(tmp_path: Path) -> None:
    from bench.report import render

    (tmp_path / "images.json").write_text(
        json.dumps(
            {
                "machine": {"cpu": "Test CPU", "cores": 2},
                "quick": False,
                "image": {"bytes": 10, "rounds": 1, "mb_per_s": 60.0, "mb_per_s_runs": [60.0]},
                "channel": [
                    {
                        "members": 2,
                        "sender_msgs_per_s": 1.0,
                        "sender_cpu_us_per_msg": 100.0,
                        "e2e_msgs_per_s": 1.0,
                        "decrypts_per_s": 1.0,
                    }
                ],
            }
        )
    )
    previous = "# old\n<!-- notes -->\nThe profile shows X.\n<!-- /notes -->\n"
    text = render(tmp_path, previous)
    assert "Test CPU, 2 cores" in text
    assert "| 10 MB image end to end | ≥ 50 MB/s | 60.0 MB/s | met |" in text
    assert "<!-- notes -->\nThe profile shows X.\n<!-- /notes -->" in text
