"""Server settings as one flat dataclass, grouped into TOML sections for people.

Precedence (lowest first): built-in defaults < TOML file < ``JUSTIRC_*`` environment <
command-line flags (see :mod:`server.config_sources`). Every field belongs to one section
of :data:`LAYOUT`; in a TOML file it is written ``[section] key = value`` and in the
environment ``JUSTIRC_<SECTION>_<KEY>`` (``JUSTIRC_<KEY>`` for the ``server`` section).
Values are converted and checked here; an invalid value raises :class:`ConfigError`
naming the key, so the command line can exit with status 2 and a helpful message.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from justirc_sdk.protocol import DEFAULT_MAX_FRAME

from .errors import ConfigError

__all__ = ["LAYOUT", "ServerConfig", "field_for", "is_loopback_host", "load_toml"]

Pair = tuple[float, float]

LAYOUT: dict[str, tuple[tuple[str, str], ...]] = {
    "server": tuple(
        (n, n)
        for n in (
            "host",
            "port",
            "data_dir",
            "server_name",
            "motd",
            "max_frame",
            "max_outbound",
            "ping_interval",
            "ping_timeout",
            "max_errors",
            "error_window",
            "close_grace",
        )
    ),
    "log": (("level", "log_level"), ("format", "log_format")),
    "accounts": (
        ("require_authentication", "require_authentication"),
        ("token_ttl", "token_ttl"),
        ("max_tokens_per_account", "max_tokens_per_account"),
        ("argon2_memory_kib", "argon2_memory_kib"),
        ("argon2_iterations", "argon2_iterations"),
        ("argon2_lanes", "argon2_lanes"),
    ),
    "lockout": tuple(
        (k, f"lockout_{k}")
        for k in ("max_failures", "window", "delay_base", "delay_cap", "trusted_for")
    ),
    "rate_limits": tuple(
        (k, f"rate_{k}")
        for k in (
            "messages",
            "control",
            "images",
            "joins",
            "logins",
            "key_fetches",
            "commands",
            "refusals",
        )
    ),
    "connections": tuple(
        (k, k)
        for k in (
            "max_connections",
            "max_per_address",
            "connect_rate",
            "connect_refusals",
            "ban_steps",
            "ban_forgive_after",
            "exempt",
            "handshake_timeout",
            "frame_timeout",
        )
    ),
    "ip_filter": (("mode", "ip_filter_mode"), ("poll_interval", "poll_interval")),
    "tls": (
        ("cert", "tls_cert"),
        ("key", "tls_key"),
        ("self_signed", "tls_self_signed"),
        ("hostnames", "tls_hostnames"),
        ("allow_insecure", "allow_insecure"),
    ),
    "metrics": (("enabled", "metrics_enabled"), ("host", "metrics_host"), ("port", "metrics_port")),
    "presence": (("global_max", "presence_global_max"),),
    "channels": (("guest_expiry", "channel_guest_expiry"),),
}
"""Section -> ((key in that section, dataclass field), ...)."""

_FIELD_KEY = {f: (s, k) for s, pairs in LAYOUT.items() for k, f in pairs}

_LOG_LEVELS = ("debug", "info", "warning", "error")
_OWASP = (19 * 1024, 2, 1)


def field_for(section: str, key: str) -> str | None:
    """The dataclass field written as ``[section] key``, or None if there is none."""
    for k, f in LAYOUT.get(section, ()):
        if k == key:
            return f
    return None


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Every tunable of one server instance, with defaults that need no tuning."""

    # [server]
    host: str = "127.0.0.1"
    port: int = 6667
    data_dir: Path = field(default_factory=lambda: Path("data"))
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
    # [log]
    log_level: str = "info"
    log_format: str = "plain"
    # [accounts]
    require_authentication: bool = False
    token_ttl: float = 30 * 24 * 3600.0
    max_tokens_per_account: int = 50
    argon2_memory_kib: int = 19 * 1024
    argon2_iterations: int = 2
    argon2_lanes: int = 1
    # [lockout]
    lockout_max_failures: int = 5
    lockout_window: float = 900.0
    lockout_delay_base: float = 1.0
    lockout_delay_cap: float = 60.0
    lockout_trusted_for: float = 30 * 24 * 3600.0
    # [rate_limits]: (rate per second, burst)
    rate_messages: Pair = (20.0, 100.0)
    rate_control: Pair = (200.0, 2000.0)
    rate_images: Pair = (4 * 1024 * 1024.0, 32 * 1024 * 1024.0)
    rate_joins: Pair = (1.0, 30.0)
    rate_logins: Pair = (0.2, 5.0)
    rate_key_fetches: Pair = (50.0, 1000.0)
    rate_commands: Pair = (20.0, 200.0)
    rate_refusals: Pair = (1.0, 50.0)
    # [connections]
    max_connections: int = 10_000
    max_per_address: int = 64
    connect_rate: Pair = (2.0, 30.0)
    connect_refusals: Pair = (0.2, 20.0)
    ban_steps: tuple[float, ...] = (60.0, 300.0, 1800.0, 7200.0, 86400.0)
    ban_forgive_after: float = 86400.0
    exempt: tuple[str, ...] = ("127.0.0.1", "::1")
    handshake_timeout: float = 10.0
    """Seconds to finish the TLS handshake and send ``hello``."""
    frame_timeout: float = 60.0
    """Seconds a started (partial) frame may take to complete."""
    # [ip_filter]
    ip_filter_mode: str = "blacklist"
    poll_interval: float = 1.0
    """Seconds between checks for admin CLI changes (IP rules, accounts, channels)."""
    # [tls]
    tls_cert: str = ""
    tls_key: str = ""
    tls_self_signed: bool = False
    tls_hostnames: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
    allow_insecure: bool = False
    # [metrics]
    metrics_enabled: bool = False
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9464
    # [presence]
    presence_global_max: int = 500
    """Online users up to which everyone sees everyone (``registered.users`` lists them
    all, ``user_online``/``user_offline``/``nick_changed`` go to every user). Above it
    these notices go only to users sharing a channel, and ``registered.users`` is empty
    (``users_total`` gives the count): registering stays O(1) however full the server."""

    # [channels]
    channel_guest_expiry: float = 7 * 24 * 3600.0
    """Seconds a channel owned by a guest (no account) may stay empty before it is
    unregistered, topic, modes, roles and bans with it; 0 keeps them forever. Channels
    owned by an account never expire."""

    @property
    def tls_enabled(self) -> bool:
        """True when the server speaks TLS (certificate files or self-signed)."""
        return self.tls_self_signed or bool(self.tls_cert)

    def replace_from(
        self, values: Mapping[str, Any], labels: Mapping[str, str] | None = None
    ) -> ServerConfig:
        """Return a copy with *values* (by field name) applied, converting and checking each.

        *labels* names where each value came from (``tls.cert``, ``JUSTIRC_PORT``,
        ``--port``) so error messages point at what the operator typed.
        """
        known = {f.name: f for f in dataclasses.fields(self)}
        changes: dict[str, Any] = {}
        for key, value in values.items():
            name = key.replace("-", "_")
            label = (labels or {}).get(key, _label(name))
            if name not in known:
                raise ConfigError(f"unknown setting {label!r}; see docs/OPERATIONS.md")
            changes[name] = _convert(label, _default(known[name]), value)
        result = dataclasses.replace(self, **changes)
        result.validate()
        return result

    def validate(self) -> None:
        """Raise :class:`ConfigError` for values no server can run with."""
        check = _Checker()
        check(0 <= self.port <= 65535, "port", f"{self.port} is not in 0-65535")
        check(0 <= self.metrics_port <= 65535, "metrics_port", "must be in 0-65535")
        check(self.max_frame >= 1024, "max_frame", "must be at least 1024 bytes")
        check(self.max_outbound >= self.max_frame, "max_outbound", "must be >= max_frame")
        for name in (
            "ping_interval",
            "ping_timeout",
            "error_window",
            "close_grace",
            "token_ttl",
            "lockout_window",
            "handshake_timeout",
            "frame_timeout",
            "poll_interval",
            "ban_forgive_after",
        ):
            check(getattr(self, name) > 0, name, "must be positive")
        for name in ("max_errors", "max_tokens_per_account", "lockout_max_failures"):
            check(getattr(self, name) >= 1, name, "must be at least 1")
        check(self.max_connections >= 1, "max_connections", "must be at least 1")
        check(self.max_per_address >= 1, "max_per_address", "must be at least 1")
        check(self.presence_global_max >= 0, "presence_global_max", "must not be negative")
        check(self.channel_guest_expiry >= 0, "channel_guest_expiry", "must not be negative")
        check(self.lockout_delay_cap >= 0, "lockout_delay_cap", "must not be negative")
        for f in dataclasses.fields(self):
            if f.name.startswith("rate_") or f.name in ("connect_rate", "connect_refusals"):
                pair = getattr(self, f.name)
                ok = len(pair) == 2 and pair[0] > 0 and pair[1] > 0
                check(ok, f.name, "must be [rate_per_second, burst], both positive")
        check(
            bool(self.ban_steps) and all(s > 0 for s in self.ban_steps),
            "ban_steps",
            "must be a non-empty list of positive seconds",
        )
        check(self.log_level in _LOG_LEVELS, "log_level", f"must be one of {_LOG_LEVELS}")
        check(self.log_format in ("plain", "json"), "log_format", "must be 'plain' or 'json'")
        check(
            self.ip_filter_mode in ("blacklist", "whitelist"),
            "ip_filter_mode",
            "must be 'blacklist' or 'whitelist'",
        )
        argon = (self.argon2_memory_kib, self.argon2_iterations, self.argon2_lanes)
        check(
            all(a >= b for a, b in zip(argon, _OWASP, strict=True)),
            "argon2_memory_kib",
            "Argon2id parameters are below the OWASP floor (m=19456 KiB, t=2, p=1)",
        )
        check(
            bool(self.tls_cert) == bool(self.tls_key),
            "tls_cert",
            "give both tls.cert and tls.key (or neither)",
        )
        check(
            not (self.tls_cert and self.tls_self_signed),
            "tls_self_signed",
            "use either certificate files or a self-signed certificate, not both",
        )
        for addr in self.exempt:
            try:
                ipaddress.ip_address(addr)
            except ValueError:
                check(False, "exempt", f"{addr!r} is not an IP address")


class _Checker:
    def __call__(self, ok: bool, name: str, problem: str) -> None:
        if not ok:
            raise ConfigError(f"setting {_label(name)!r} is invalid: {problem}")


def _label(name: str) -> str:
    section, key = _FIELD_KEY.get(name, ("server", name))
    return key if section == "server" else f"{section}.{key}"


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory()  # type: ignore[operator]


def _split(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str):
        text = value.strip().strip("[]")
        return [p.strip().strip("'\"") for p in text.split(",") if p.strip()]
    raise ValueError(value)


def _convert(label: str, default: Any, value: Any) -> Any:
    try:
        if isinstance(default, Path):
            return Path(value)
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
                return True
            if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if isinstance(default, int):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        if isinstance(default, float):
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if isinstance(default, tuple):
            items = _split(value)
            if default and isinstance(default[0], str):
                return tuple(str(i) for i in items)
            if any(isinstance(i, bool) for i in items):
                raise ValueError(value)
            return tuple(float(i) for i in items)
        if default is None or isinstance(default, str):
            if value is None:
                return None
            if not isinstance(value, str | int | float | Path):
                raise ValueError(value)
            return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {label!r} has an invalid value {value!r}") from None
    return value


def load_toml(path: Path) -> dict[str, Any]:
    """Read a TOML config file into ``{field: value}`` (see :data:`LAYOUT`).

    Top-level keys and keys of ``[server]`` are field names; other sections use their
    own short keys. Unknown keys are passed through as ``section.key`` so that
    :meth:`ServerConfig.replace_from` reports them.
    """
    values, _ = load_toml_labelled(path)
    return values


def load_toml_labelled(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Like :func:`load_toml`, also returning the TOML key of each field (for errors)."""
    data = _read_toml(path)
    values: dict[str, Any] = {}
    labels: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            if key == "server":
                for k, v in value.items():
                    values[k] = v
                    labels[k] = f"server.{k}"
                continue
            if key not in LAYOUT:
                raise ConfigError(f"unknown section [{key}] in {path}; see docs/OPERATIONS.md")
            for k, v in value.items():
                name = field_for(key, k)
                if name is None:
                    raise ConfigError(f"unknown setting '{key}.{k}' in {path}")
                values[name] = v
                labels[name] = f"{key}.{k}"
        else:
            values[key] = value
            labels[key] = key
    return values, labels


def _read_toml(path: Path) -> dict[str, Any]:
    import importlib

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
    return data


def is_loopback_host(host: str) -> bool:
    """True when *host* only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
