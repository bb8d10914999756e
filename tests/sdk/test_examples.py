"""The documented examples run as written, on both backends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from server.embedded import EmbeddedServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_chat_pair_example_runs(server: EmbeddedServer, backend: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "chat_pair.py"),
            "--port",
            str(server.port),
            "--backend",
            backend,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "bob got: hi bob, this is end-to-end encrypted" in result.stdout
    assert "bob saw in #general: hello, channel" in result.stdout
    assert "safety numbers match: True" in result.stdout
