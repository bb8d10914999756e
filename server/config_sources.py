"""Layering configuration sources and printing the effective configuration.

Precedence, lowest first: defaults < TOML file < ``JUSTIRC_*`` environment < flags.
Environment names: ``JUSTIRC_<KEY>`` for the ``[server]`` section (``JUSTIRC_PORT``),
``JUSTIRC_<SECTION>_<KEY>`` otherwise (``JUSTIRC_TLS_SELF_SIGNED``,
``JUSTIRC_RATE_LIMITS_MESSAGES="20,100"``). ``JUSTIRC_CONFIG`` names the TOML file when
``--config`` is not given. Unknown ``JUSTIRC_*`` names are ignored (client tools share
the prefix); ``justirc-server config show`` prints what the server will really use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .config import LAYOUT, ServerConfig, load_toml_labelled

__all__ = ["env_name", "from_environment", "layered_config", "to_toml"]

_ENV_PREFIX = "JUSTIRC_"


def env_name(section: str, key: str) -> str:
    """The environment variable of ``[section] key``."""
    if section == "server":
        return f"{_ENV_PREFIX}{key.upper()}"
    return f"{_ENV_PREFIX}{section.upper()}_{key.upper()}"


def from_environment(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """``({field: raw string}, {field: variable name})`` for every JUSTIRC_* setting set."""
    values: dict[str, Any] = {}
    labels: dict[str, str] = {}
    for section, pairs in LAYOUT.items():
        for key, name in pairs:
            var = env_name(section, key)
            if var in environ:
                values[name] = environ[var]
                labels[name] = var
    return values, labels


def layered_config(
    *,
    config_file: Path | None,
    environ: Mapping[str, str],
    flags: Mapping[str, Any],
    base: ServerConfig | None = None,
) -> ServerConfig:
    """Apply file, environment and flags (in that order) over *base* (the defaults)."""
    config = base or ServerConfig()
    path = config_file
    if path is None and environ.get(f"{_ENV_PREFIX}CONFIG"):
        path = Path(environ[f"{_ENV_PREFIX}CONFIG"])
    if path is not None:
        values, labels = load_toml_labelled(path)
        config = config.replace_from(values, labels)
    env_values, env_labels = from_environment(environ)
    config = config.replace_from(env_values, env_labels)
    flag_labels = {k: "--" + k.replace("_", "-") for k in flags}
    return config.replace_from(dict(flags), flag_labels)


def to_toml(config: ServerConfig) -> str:
    """The configuration as a TOML document with every key (what ``config show`` prints)."""
    lines: list[str] = []
    for section, pairs in LAYOUT.items():
        if lines:
            lines.append("")
        lines.append(f"[{section}]")
        for key, name in pairs:
            value = getattr(config, name)
            if value is None:
                lines.append(f"# {key} is not set")
                continue
            lines.append(f"{key} = {_value(value)}")
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    text = str(value)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _number(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def field_names() -> list[str]:
    """Every field of :class:`ServerConfig` (for completeness checks in tests)."""
    return [f.name for f in dataclasses.fields(ServerConfig)]
