"""Running a bot from the command line: flags, ``JUSTIRC_*`` variables, signals.

Precedence: a flag beats an environment variable, which beats what the bot's code
passed to :class:`~bots.Bot`. SIGINT and SIGTERM stop the bot cleanly: its tasks are
cancelled and the session says goodbye to the server.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import anyio

from justirc_sdk.errors import JustIRCError

if TYPE_CHECKING:
    from .bot import Bot

__all__ = ["build_parser", "configure", "run_bot"]

_log = logging.getLogger("bots")
_TRUE = {"1", "yes", "true", "on"}


def build_parser(bot: Bot, prog: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of ``bot.run()``; defaults come from the bot and the env."""
    cfg = bot.config
    parser = argparse.ArgumentParser(
        prog=prog,
        description=bot.description,
        epilog="Every option can also be set with an environment variable (JUSTIRC_HOST, "
        "JUSTIRC_PORT, JUSTIRC_NICK, JUSTIRC_CHANNELS (comma-separated), JUSTIRC_PASSWORD, "
        "JUSTIRC_TLS, JUSTIRC_TLS_FINGERPRINT, JUSTIRC_KEYSTORE, JUSTIRC_PASSPHRASE, "
        "JUSTIRC_PREFIX, JUSTIRC_LOG_LEVEL, JUSTIRC_BACKEND).",
    )
    parser.add_argument("--host", help=f"server address (default {cfg.host})")
    parser.add_argument("--port", type=int, help=f"server port (default {cfg.port})")
    parser.add_argument("--nick", help=f"the bot's nickname (default {cfg.nick})")
    parser.add_argument(
        "--channel",
        action="append",
        dest="channels",
        metavar="CHANNEL",
        help="a channel to join; repeat for more (default: "
        + (", ".join(cfg.channels) or "none")
        + ")",
    )
    parser.add_argument("--password", help="log in to this account password")
    parser.add_argument("--tls", action="store_true", default=None, help="connect with TLS")
    parser.add_argument(
        "--tls-fingerprint", help="pin the server's self-signed certificate (SHA-256)"
    )
    parser.add_argument("--keystore", help="file keeping the bot's identity keys across runs")
    parser.add_argument("--prefix", help=f"command prefix (default {cfg.prefix!r})")
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        type=str.lower,
        help="logging verbosity (default info)",
    )
    parser.add_argument(
        "--backend", choices=["asyncio", "trio"], help="event loop to run on (default asyncio)"
    )
    return parser


def configure(
    bot: Bot, argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> argparse.Namespace:
    """Apply flags and environment to ``bot.config``; returns the parsed flags.

    The namespace's ``log_level`` and ``backend`` are resolved too.
    """
    env = os.environ if environ is None else environ
    args = build_parser(bot).parse_args(argv)
    cfg = bot.config

    def pick(flag: object, name: str) -> str | None:
        if flag is not None:
            return str(flag)
        return env.get(f"JUSTIRC_{name}") or None

    cfg.host = pick(args.host, "HOST") or cfg.host
    port = pick(args.port, "PORT")
    if port is not None:
        try:
            cfg.port = int(port)
        except ValueError:
            raise SystemExit(f"error: JUSTIRC_PORT must be a number, got {port!r}") from None
    cfg.nick = pick(args.nick, "NICK") or cfg.nick
    if args.channels:
        cfg.channels = list(args.channels)
    elif env.get("JUSTIRC_CHANNELS") or env.get("JUSTIRC_CHANNEL"):
        raw = env.get("JUSTIRC_CHANNELS") or env.get("JUSTIRC_CHANNEL") or ""
        cfg.channels = [c.strip() for c in raw.split(",") if c.strip()]
    cfg.password = pick(args.password, "PASSWORD") or cfg.password
    if args.tls or env.get("JUSTIRC_TLS", "").lower() in _TRUE:
        cfg.tls = True
    cfg.tls_fingerprint = pick(args.tls_fingerprint, "TLS_FINGERPRINT") or cfg.tls_fingerprint
    cfg.keystore = pick(args.keystore, "KEYSTORE") or cfg.keystore
    cfg.passphrase = env.get("JUSTIRC_PASSPHRASE") or cfg.passphrase
    cfg.prefix = pick(args.prefix, "PREFIX") or cfg.prefix
    args.log_level = (pick(args.log_level, "LOG_LEVEL") or "info").upper()
    args.backend = pick(args.backend, "BACKEND") or "asyncio"
    if args.backend not in ("asyncio", "trio"):
        raise SystemExit(f"error: unknown backend {args.backend!r}; use asyncio or trio")
    return args


async def _serve_until_signalled(bot: Bot) -> None:
    await bot._connect()  # outside the task group: a refusal is raised as itself
    try:
        async with anyio.create_task_group() as tg:

            async def watch_signals() -> None:
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for signum in signals:
                        _log.info("received %s; shutting down", signal.Signals(signum).name)
                        tg.cancel_scope.cancel()
                        return

            tg.start_soon(watch_signals)
            await bot._main()
            tg.cancel_scope.cancel()  # the session ended by itself
    finally:
        await bot._close_session()


def run_bot(bot: Bot, argv: Sequence[str] | None = None) -> None:
    """Parse the command line, then run *bot* until SIGINT/SIGTERM."""
    args = configure(bot, argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        anyio.run(_serve_until_signalled, bot, backend=args.backend)
    except JustIRCError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
