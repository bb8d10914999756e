"""Command-line flags and ``JUSTIRC_*`` environment variables for ``justirc``.

A flag wins over its environment variable, which wins over the default.
"""

from __future__ import annotations

import argparse
import getpass
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .downloads import default_download_dir

__all__ = ["ENV_VARS", "ClientConfig", "build_parser", "load_config"]

ENV_VARS: dict[str, str] = {
    "JUSTIRC_HOST": "server host name (default 127.0.0.1)",
    "JUSTIRC_PORT": "server port (default 6667)",
    "JUSTIRC_NICK": "your nickname",
    "JUSTIRC_PASSWORD": "account password (logs in while connecting)",
    "JUSTIRC_TLS": "1/true/yes to use TLS",
    "JUSTIRC_TLS_FINGERPRINT": "pin the server certificate's SHA-256 (implies TLS)",
    "JUSTIRC_KEYSTORE": "keystore file keeping your identity and sessions across runs",
    "JUSTIRC_PASSPHRASE": "passphrase for the keystore (prefer --passphrase-env)",
    "JUSTIRC_DOWNLOAD_DIR": "where received images and files are saved",
    "JUSTIRC_CHANNELS": "channels to join on start, comma separated",
}

_ASK = object()


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Everything ``justirc`` needs to start."""

    host: str
    port: int
    nick: str
    password: str | None
    tls: bool
    tls_fingerprint: str | None
    keystore: Path | None
    passphrase: str | None
    download_dir: Path
    channels: tuple[str, ...]


def build_parser() -> argparse.ArgumentParser:
    """The ``justirc`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="justirc",
        description="JustIRC terminal client: end-to-end encrypted chat. Type /help inside.",
        epilog="Environment: " + "; ".join(f"{name}: {text}" for name, text in ENV_VARS.items()),
    )
    parser.add_argument("--host", help="server host (env JUSTIRC_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="server port (env JUSTIRC_PORT, default 6667)")
    parser.add_argument("--nick", help="your nickname (env JUSTIRC_NICK)")
    parser.add_argument(
        "--password",
        nargs="?",
        const=_ASK,
        help="log in to your account; without a value it is asked for (env JUSTIRC_PASSWORD)",
    )
    parser.add_argument("--tls", action="store_true", default=None, help="connect with TLS")
    parser.add_argument("--tls-fingerprint", help="pin a self-signed server certificate (SHA-256)")
    parser.add_argument("--keystore", type=Path, help="keystore file (env JUSTIRC_KEYSTORE)")
    parser.add_argument(
        "--passphrase-env",
        metavar="VAR",
        help="read the keystore passphrase from this environment variable",
    )
    parser.add_argument("--download-dir", type=Path, help="where received images and files go")
    parser.add_argument(
        "--channel",
        action="append",
        default=[],
        metavar="#CHANNEL",
        help="join this channel on start (repeatable)",
    )
    return parser


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def load_config(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    ask_password: Callable[[str], str] = getpass.getpass,
) -> ClientConfig:
    """Parse *argv* and *env* (default: the process's); exits with usage on bad input."""
    env = os.environ if env is None else env
    parser = build_parser()
    ns = parser.parse_args(argv)
    nick = ns.nick or env.get("JUSTIRC_NICK")
    if not nick:
        parser.error("a nickname is required: --nick NAME or JUSTIRC_NICK")
    port_text = ns.port if ns.port is not None else env.get("JUSTIRC_PORT", "6667")
    try:
        port = int(port_text)
    except ValueError:
        parser.error(f"JUSTIRC_PORT must be a number, not {port_text!r}")
    password = ns.password if ns.password is not None else env.get("JUSTIRC_PASSWORD")
    if password is _ASK:
        password = ask_password(f"password for {nick}: ")
    passphrase = env.get("JUSTIRC_PASSPHRASE")
    if ns.passphrase_env:
        passphrase = env.get(ns.passphrase_env)
        if passphrase is None:
            parser.error(f"the environment variable {ns.passphrase_env} is not set")
    keystore = ns.keystore or (
        Path(env["JUSTIRC_KEYSTORE"]) if env.get("JUSTIRC_KEYSTORE") else None
    )
    download = ns.download_dir or (
        Path(env["JUSTIRC_DOWNLOAD_DIR"]) if env.get("JUSTIRC_DOWNLOAD_DIR") else None
    )
    channels = list(ns.channel)
    channels += [c.strip() for c in env.get("JUSTIRC_CHANNELS", "").split(",") if c.strip()]
    for channel in channels:
        if not channel.startswith("#"):
            parser.error(f"channel names start with #: {channel!r}")
    fingerprint = ns.tls_fingerprint or env.get("JUSTIRC_TLS_FINGERPRINT")
    tls = ns.tls if ns.tls is not None else _truthy(env.get("JUSTIRC_TLS"))
    return ClientConfig(
        host=ns.host or env.get("JUSTIRC_HOST", "127.0.0.1"),
        port=port,
        nick=nick,
        password=password,
        tls=tls or bool(fingerprint),
        tls_fingerprint=fingerprint,
        keystore=keystore,
        passphrase=passphrase,
        download_dir=(download or default_download_dir()).expanduser(),
        channels=tuple(dict.fromkeys(channels)),
    )
