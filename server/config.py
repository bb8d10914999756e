"""Server settings as one dataclass, loadable from a TOML file and overridden by flags.

Precedence (lowest first): built-in defaults < TOML file < ``JUSTIRC_*`` environment
(a later issue) < command-line flags. :func:`load_toml` returns only the keys present
so that callers can layer sources with :meth:`ServerConfig.replace_from`.
"""

from __future__ import annotations

import dataclasses
import importlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from justirc_sdk.protocol import DEFAULT_MAX_FRAME

from .errors import ConfigError

__all__ = ["ServerConfig", "is_loopback_host", "load_toml"]


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Every tunable of one server instance, with safe defaults."""

    host: str = "127.0.0.1"
    port: int = 6667
    data_dir: Path = field(default_factory=lambda: Path("data"))
    log_level: str = "info"
    allow_insecure: bool = False
    server_name: str = "justirc"
    motd: str | None = None
    max_frame: int = DEFAULT_MAX_FRAME
    """Largest accepted frame in bytes, newline included."""
    max_outbound: int = 4 * 1024 * 1024
    """Bytes queued to one client before it is disconnected as a slow consumer."""
    ping_interval: float = 30.0
    """Seconds of silence from a client before the server pings it."""
    ping_timeout: float = 30.0
    """Seconds a pinged client has to show any sign of life before it is dropped."""
    max_errors: int = 20
    """Protocol errors tolerated within ``error_window`` seconds before disconnecting."""
    error_window: float = 10.0
    close_grace: float = 2.0
    """Seconds a closing connection may take to drain its last bytes before it is aborted."""

    def replace_from(self, values: Mapping[str, Any]) -> ServerConfig:
        """Return a copy with *values* applied, converting and checking each one."""
        known = {f.name: f for f in dataclasses.fields(self)}
        changes: dict[str, Any] = {}
        for key, value in values.items():
            name = key.replace("-", "_")
            if name not in known:
                raise ConfigError(f"unknown setting {key!r}; known: {', '.join(sorted(known))}")
            changes[name] = _convert(name, getattr(self, name), value)
        result = dataclasses.replace(self, **changes)
        result.validate()
        return result

    def validate(self) -> None:
        """Raise :class:`ConfigError` for values no server can run with."""
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port {self.port} is not in 0-65535")
        if self.max_frame < 1024:
            raise ConfigError("max_frame must be at least 1024 bytes")
        if self.max_outbound < self.max_frame:
            raise ConfigError("max_outbound must be at least max_frame")
        for name in ("ping_interval", "ping_timeout", "error_window", "close_grace"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive")
        if self.max_errors < 1:
            raise ConfigError("max_errors must be at least 1")


def _convert(name: str, current: Any, value: Any) -> Any:
    try:
        if isinstance(current, Path):
            return Path(value)
        if isinstance(current, bool):
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
                return True
            if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if isinstance(current, int):
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if isinstance(current, float):
            return float(value)
        if current is None or isinstance(current, str):
            return None if value is None else str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name!r} has an invalid value {value!r}") from None
    return value


def load_toml(path: Path) -> dict[str, Any]:
    """Read a TOML config file; keys may sit at the top level or in a ``[server]`` table."""
    # tomllib is 3.11+; Python 3.10 needs the 'tomli' backport (same API).
    try:
        toml: Any = importlib.import_module("tomllib")
    except ImportError:  # pragma: no cover - Python 3.10 only
        toml = importlib.import_module("tomli")
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = toml.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except ValueError as exc:  # TOMLDecodeError subclasses ValueError
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    section = data.get("server", data)
    if not isinstance(section, dict):
        raise ConfigError(f"[server] in {path} must be a table")
    return section


def is_loopback_host(host: str) -> bool:
    """True when *host* only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
