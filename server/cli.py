"""``justirc-server``: run a JustIRC server, show its configuration, administer it.

* ``justirc-server [flags]`` runs the server (no subcommand);
* ``justirc-server config show [flags]`` prints the effective configuration as TOML;
* ``justirc-server admin ...`` edits accounts, IP rules and channels in the data
  directory (see :mod:`server.cli_admin`); a running server picks the changes up.

Settings: defaults < ``--config`` TOML file < ``JUSTIRC_*`` environment < flags. An
invalid value names its key and exits with status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .cli_admin import add_admin_parser, run_admin
from .config import ServerConfig
from .config_sources import layered_config, to_toml
from .embedded import new_event_loop, run_server
from .errors import ServerError
from .listener import JustIRCServer
from .logs import configure_logging
from .tls import format_fingerprint

__all__ = ["build_parser", "main"]

_FLAGS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("--host", "host", {"help": "address to listen on (default 127.0.0.1)"}),
    ("--port", "port", {"type": int, "help": "port (default 6667; 0 picks a free port)"}),
    (
        "--data-dir",
        "data_dir",
        {"type": Path, "help": "directory for the SQLite store and TLS files (default ./data)"},
    ),
    (
        "--log-level",
        "log_level",
        {"choices": ["debug", "info", "warning", "error"], "help": "default info"},
    ),
    (
        "--log-format",
        "log_format",
        {"choices": ["plain", "json"], "help": "plain text or one JSON object per line"},
    ),
    ("--max-frame", "max_frame", {"type": int, "help": "largest frame in bytes (default 65536)"}),
    ("--tls-cert", "tls_cert", {"help": "PEM certificate (chain) file; needs --tls-key"}),
    ("--tls-key", "tls_key", {"help": "PEM private key file of --tls-cert"}),
    (
        "--tls-self-signed",
        "tls_self_signed",
        {
            "action": "store_true",
            "help": "generate (once) a self-signed certificate in the data dir and print "
            "its SHA-256 fingerprint for clients to pin",
        },
    ),
    (
        "--allow-insecure",
        "allow_insecure",
        {
            "action": "store_true",
            "help": "allow plain TCP on a non-loopback address (traffic metadata is visible)",
        },
    ),
    (
        "--require-authentication",
        "require_authentication",
        {"action": "store_true", "help": "only logged-in accounts may chat"},
    ),
    (
        "--metrics-port",
        "metrics_port",
        {"type": int, "help": "serve Prometheus metrics on this port (enables metrics)"},
    ),
    ("--metrics-host", "metrics_host", {"help": "metrics address (default 127.0.0.1)"}),
)


def _add_run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="TOML file with settings (default $JUSTIRC_CONFIG; see docs/OPERATIONS.md)",
    )
    for flag, dest, options in _FLAGS:
        parser.add_argument(flag, dest=dest, default=argparse.SUPPRESS, **options)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also documents every flag in ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="justirc-server",
        description="JustIRC end-to-end encrypted chat server: routes opaque ciphertext "
        "between clients and keeps accounts, channels and IP rules in SQLite.",
        epilog="Settings: defaults < --config file < JUSTIRC_* environment < these flags. "
        "Subcommands: 'config show', 'admin ...' (see docs/OPERATIONS.md).",
    )
    _add_run_flags(parser)
    sub = parser.add_subparsers(dest="command", metavar="{config,admin}")
    config = sub.add_parser("config", help="inspect the effective configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    show = config_sub.add_parser("show", help="print the effective configuration as TOML")
    _add_run_flags(show)
    add_admin_parser(sub)
    return parser


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    values = {dest: getattr(args, dest) for _, dest, _ in _FLAGS if hasattr(args, dest)}
    if "metrics_port" in values:
        values["metrics_enabled"] = True
    return values


def effective_config(args: argparse.Namespace, environ: Mapping[str, str]) -> ServerConfig:
    """Defaults, then the config file, then the environment, then the flags."""
    return layered_config(
        config_file=getattr(args, "config", None), environ=environ, flags=_flags(args)
    )


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Entry point of ``justirc-server`` and ``python -m server``; returns the exit status."""
    args = build_parser().parse_args(argv)
    env = os.environ if environ is None else environ
    if args.command == "admin":
        return run_admin(args, env)
    try:
        config = effective_config(args, env)
    except ServerError as exc:
        print(f"justirc-server: {exc}", file=sys.stderr)
        return 2
    if args.command == "config":
        sys.stdout.write(to_toml(config))
        return 0
    configure_logging(config.log_level, config.log_format)
    return _serve(config)


def _serve(config: ServerConfig) -> int:
    def ready(server: JustIRCServer) -> None:
        host = config.host
        scheme = "TLS" if server.ssl_context is not None else "plain TCP"
        print(
            f"justirc-server listening on {host}:{server.port} (data: {server.data_dir.resolve()})",
            flush=True,
        )
        if server.tls_fingerprint is not None:
            pretty = format_fingerprint(server.tls_fingerprint)
            print(f"TLS certificate SHA-256 fingerprint: {pretty}", flush=True)
            print("clients pin it with Session.connect(..., tls_fingerprint=...)", flush=True)
        if server.metrics_address is not None:
            mhost, mport = server.metrics_address
            print(f"metrics at http://{mhost}:{mport}/metrics", flush=True)
        print(
            f"connect a JustIRC client to {host}:{server.port} ({scheme}); stop with Ctrl-C",
            flush=True,
        )

    loop = new_event_loop(prefer_uvloop=not config.tls_enabled)
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(run_server(config, ready=ready))
    except ServerError as exc:
        print(f"justirc-server: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f"{config.host}:{config.port}"
        print(f"justirc-server: cannot listen on {where}: {exc.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 130
    finally:
        loop.close()
    return 0
