"""The justirc-server command: help, start on a free port, stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from server.config import ServerConfig, load_toml
from server.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )


def test_help_lists_the_flags() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for flag in (
        "--host",
        "--port",
        "--data-dir",
        "--config",
        "--log-level",
        "--max-frame",
        "--allow-insecure",
    ):
        assert flag in result.stdout


def test_starts_on_free_port_and_stops_on_sigterm(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "--port", "0", "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("justirc-server listening on 127.0.0.1:")
        assert f"(data: {data.resolve()})" in line
        port = int(line.split("127.0.0.1:")[1].split()[0])
        assert port > 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (data / "justirc.sqlite3").exists()


def test_non_loopback_plain_tcp_is_refused(tmp_path: Path) -> None:
    result = run_cli("--host", "0.0.0.0", "--port", "0", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "--allow-insecure" in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_data_dir_exits_2(tmp_path: Path) -> None:
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    result = run_cli("--port", "0", "--data-dir", str(locked / "sub"))
    assert result.returncode == 2
    assert "data directory" in result.stderr


def test_data_dir_that_is_a_file_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("--port", "0", "--data-dir", str(blocker))
    assert result.returncode == 2
    assert "not a directory" in result.stderr


def test_config_file_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text('[server]\nport = 7000\nmax_frame = 8192\nlog_level = "debug"\n')
    config = ServerConfig().replace_from(load_toml(path))
    assert (config.port, config.max_frame, config.log_level) == (7000, 8192, "debug")
    path.write_text("port = 'x'\n")
    with pytest.raises(ConfigError, match="port"):
        ServerConfig().replace_from(load_toml(path))
    path.write_text("bogus = 1\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        ServerConfig().replace_from(load_toml(path))
