"""``justirc-server``: run a JustIRC routing server from the command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .config import ServerConfig, load_toml
from .embedded import new_event_loop, run_server
from .errors import ServerError
from .listener import JustIRCServer

__all__ = ["build_parser", "main"]

_log = logging.getLogger("server")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also documents every flag in ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="justirc-server",
        description="JustIRC end-to-end encrypted chat server: routes opaque ciphertext "
        "between clients and keeps its channel registry in SQLite.",
        epilog="Settings come from built-in defaults, then --config, then these flags.",
    )
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="TCP port (default 6667; 0 picks a free port)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="directory for the SQLite store, created if missing (default ./data)",
    )
    parser.add_argument("--config", type=Path, help="TOML file with settings (see OPERATIONS.md)")
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        help="logging verbosity (default info)",
    )
    parser.add_argument(
        "--max-frame", type=int, help="largest accepted frame in bytes (default 65536)"
    )
    parser.add_argument(
        "--allow-insecure",
        action="store_true",
        default=None,
        help="allow plain TCP on a non-loopback address (traffic metadata is visible)",
    )
    return parser


def _config_from(args: argparse.Namespace) -> ServerConfig:
    config = ServerConfig()
    if args.config is not None:
        config = config.replace_from(load_toml(args.config))
    flags: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "data_dir": args.data_dir,
        "log_level": args.log_level,
        "max_frame": args.max_frame,
        "allow_insecure": args.allow_insecure,
    }
    return config.replace_from({k: v for k, v in flags.items() if v is not None})


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``justirc-server`` and ``python -m server``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        config = _config_from(args)
    except ServerError as exc:
        print(f"justirc-server: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )

    def ready(server: JustIRCServer) -> None:
        host = config.host
        print(
            f"justirc-server listening on {host}:{server.port} (data: {server.data_dir.resolve()})",
            flush=True,
        )
        print(
            f"connect a JustIRC client to {host}:{server.port} (plain TCP); stop with Ctrl-C",
            flush=True,
        )

    loop = new_event_loop()
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
