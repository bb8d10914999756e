"""Start and stop the servers under test: justirc-server, ngircd and miniircd.

Each is a subprocess on a free loopback port with its limits opened wide (the benches
measure routing, not rate limiting). :class:`RunningServer` is a context manager that
always kills what it started, also on errors and Ctrl-C. ngircd and miniircd are
installed on demand (apt / pip) by :func:`ensure_installed`; tests never need them.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from ._proc import raise_nofile

__all__ = [
    "SERVERS",
    "RunningServer",
    "ServerUnavailable",
    "ensure_installed",
    "free_port",
    "justirc_config_toml",
]

_log = logging.getLogger(__name__)

SERVERS = ("justirc", "ngircd", "miniircd")
"""Names accepted by :class:`RunningServer`."""

_ROOT = Path(__file__).resolve().parent.parent
_WIDE = 1e9
_PR_SET_PDEATHSIG = 1


class ServerUnavailable(RuntimeError):
    """A server could not be installed or started (the bench reports it and moves on)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _miniircd_path() -> str | None:
    beside = Path(sys.executable).parent / "miniircd"
    if beside.exists():
        return str(beside)
    return shutil.which("miniircd")


def _ngircd_path() -> str | None:
    return shutil.which("ngircd") or (
        "/usr/sbin/ngircd" if Path("/usr/sbin/ngircd").exists() else None
    )


def ensure_installed(name: str) -> None:
    """Install ngircd (apt) or miniircd (pip, into this venv) when missing."""
    if name == "ngircd" and _ngircd_path() is None:
        _log.warning("ngircd missing: installing the Debian package")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "ngircd"]):
            if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
                raise ServerUnavailable("could not install ngircd with apt-get")
    elif name == "miniircd" and _miniircd_path() is None:
        _log.warning("miniircd missing: installing it with pip")
        cmd = [sys.executable, "-m", "pip", "install", "-q", "miniircd"]
        if subprocess.run(cmd, capture_output=True).returncode != 0:
            raise ServerUnavailable("could not pip install miniircd")


def justirc_config_toml() -> str:
    """A TOML config with every rate limit and connection cap opened wide.

    Built from the server's own :data:`server.config.LAYOUT`, so it only names settings
    that exist in the checked-out server, and any ``rate_*`` limit added later is opened
    too.
    """
    from server.config import LAYOUT, ServerConfig

    wide: dict[str, object] = {
        "max_connections": 1_000_000,
        "max_per_address": 1_000_000,
        "connect_rate": (_WIDE, _WIDE),
        "connect_refusals": (_WIDE, _WIDE),
        # filling 20,000 connections from a loaded 2-core box can take a holder longer
        # than the 10 s slowloris deadline to say hello: the bench measures memory
        "handshake_timeout": 300.0,
        "log_level": "warning",
    }
    for f in dataclasses.fields(ServerConfig):
        if f.name.startswith("rate_"):
            wide[f.name] = (_WIDE, _WIDE)
    lines: list[str] = []
    for section, pairs in LAYOUT.items():
        body = [f"{key} = {_toml(wide[name])}" for key, name in pairs if name in wide]
        if body:
            lines += [f"[{section}]", *body, ""]
    return "\n".join(lines)


def _toml(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _ngircd_conf(port: int, workdir: Path) -> str:
    return f"""[Global]
Name = bench.irc
Info = JustIRC bench
Listen = 127.0.0.1
Ports = {port}
PidFile = {workdir}/ngircd.pid
MotdPhrase = bench
ServerUID = {os.getuid()}
ServerGID = {os.getgid()}

[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxPenaltyTime = 0
MaxNickLength = 20
PingTimeout = 600
PongTimeout = 600

[Options]
DNS = no
Ident = no
PAM = no
"""


def _preexec() -> None:
    raise_nofile(1 << 17)
    os.setsid()  # a Ctrl-C in the terminal reaches the bench, which stops the server
    try:  # and if the bench dies without cleaning up, the kernel kills the server
        import ctypes

        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


class RunningServer:
    """One server process on a free port: ``with RunningServer("ngircd") as srv: srv.port``."""

    def __init__(self, name: str, *, ready_timeout: float = 30.0) -> None:
        if name not in SERVERS:
            raise ValueError(f"unknown server {name!r}; choose from {SERVERS}")
        self.name = name
        self.port = free_port()
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.exit_code: int | None = None
        """Set when the server had already exited by itself when it was stopped."""
        self._tmp = tempfile.TemporaryDirectory(prefix=f"bench-{name}-")
        self.workdir = Path(self._tmp.name)

    @property
    def pid(self) -> int:
        """The server process id (the process whose CPU and memory are measured)."""
        assert self.proc is not None, "server not started"
        return self.proc.pid

    def alive(self) -> bool:
        """True while the server process runs."""
        return self.proc is not None and self.proc.poll() is None

    def _command(self) -> list[str]:
        if self.name == "justirc":
            conf = self.workdir / "justirc.toml"
            conf.write_text(justirc_config_toml())
            data = self.workdir / "data"
            return [
                sys.executable,
                "-m",
                "server",
                "--port",
                str(self.port),
                "--data-dir",
                str(data),
                "--config",
                str(conf),
            ]
        ensure_installed(self.name)
        if self.name == "ngircd":
            conf = self.workdir / "ngircd.conf"
            conf.write_text(_ngircd_conf(self.port, self.workdir))
            exe = _ngircd_path()
            assert exe is not None
            return [exe, "-n", "-f", str(conf)]
        exe = _miniircd_path()
        assert exe is not None
        cmd = [sys.executable, exe, "--listen", "127.0.0.1", "--ports", str(self.port)]
        if os.getuid() == 0:  # miniircd refuses to run as root unless told to stay root
            cmd += ["--setuid", "root"]
        return cmd

    def start(self) -> RunningServer:
        """Start the process and wait until its port accepts connections."""
        cmd = self._command()
        log = (self.workdir / "server.log").open("wb")
        self.proc = subprocess.Popen(
            cmd,
            cwd=_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_preexec,
        )
        log.close()
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerUnavailable(f"{self.name} exited at start:\n{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise ServerUnavailable(f"{self.name} did not listen within {self.ready_timeout} s")

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the server printed (for error reports)."""
        try:
            text = (self.workdir / "server.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL) and remove its temp directory."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is not None:
            self.exit_code = proc.returncode
        elif proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self._tmp.cleanup()

    def __enter__(self) -> RunningServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            rc = self.proc.returncode
            if rc not in (0, -signal.SIGTERM):
                _log.warning("%s exited with %s:\n%s", self.name, rc, self.log_tail())
        self.stop()
