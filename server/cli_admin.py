"""``justirc-server admin``: accounts, IP rules and channels in the data directory.

Works while the server runs (SQLite WAL); the server picks changes up within
``poll_interval`` (1 s): IP rules apply to new connections and drop matching live ones,
a disabled or reset account's sessions are closed, a dropped channel's members are
removed, a new owner gets the owner role.
"""

from __future__ import annotations

import argparse
import datetime
import getpass
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .admin import AdminSession
from .config_sources import layered_config
from .errors import ServerError
from .ipfilter import Mode
from .protection import argon2_params

__all__ = ["add_admin_parser", "parse_duration", "run_admin"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """``90``, ``30s``, ``15m``, ``2h``, ``1d``, ``1w`` -> seconds."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhdw]?)\s*", text)
    if match is None or float(match[1]) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 15m, 2h or 1d")
    return float(match[1]) * _UNITS.get(match[2] or "s", 1)


def add_admin_parser(sub: Any) -> None:
    """Add the ``admin`` subcommand tree to *sub* (an argparse subparsers object)."""
    admin = sub.add_parser("admin", help="administer accounts, IP rules and channels")
    admin.add_argument("--data-dir", type=Path, help="data directory (default from config)")
    admin.add_argument("--config", type=Path, help="TOML config file (for the data dir)")
    groups = admin.add_subparsers(dest="group", required=True)

    accounts = groups.add_parser("accounts", help="list, disable, enable, reset-password")
    acc = accounts.add_subparsers(dest="action", required=True)
    acc.add_parser("list", help="list accounts")
    for name, text in (("disable", "refuse logins and close sessions"), ("enable", "undo")):
        acc.add_parser(name, help=text).add_argument("name")
    reset = acc.add_parser("reset-password", help="set a new password (closes sessions)")
    reset.add_argument("name")
    reset.add_argument(
        "--password-stdin", action="store_true", help="read the new password from stdin"
    )

    ip = groups.add_parser("ip", help="list, add, remove, ban")
    ipa = ip.add_subparsers(dest="action", required=True)
    ipa.add_parser("list", help="list active rules")
    add = ipa.add_parser("add", help="add or replace a rule for an address or CIDR range")
    add.add_argument("network")
    add.add_argument("--allow", action="store_true", help="an allow rule (default: deny)")
    add.add_argument("--reason", default="")
    ipa.add_parser("remove", help="remove the rule for exactly this network").add_argument(
        "network"
    )
    ban = ipa.add_parser("ban", help="deny a network for a while")
    ban.add_argument("network")
    ban.add_argument("--duration", type=parse_duration, required=True, help="e.g. 30m, 2h, 1d")
    ban.add_argument("--reason", default="")

    channels = groups.add_parser("channels", help="list, drop, set-owner")
    cha = channels.add_subparsers(dest="action", required=True)
    cha.add_parser("list", help="list registered channels")
    cha.add_parser("drop", help="unregister a channel").add_argument("channel")
    owner = cha.add_parser("set-owner", help="give a channel to an account")
    owner.add_argument("channel")
    owner.add_argument("account")


def run_admin(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Run one admin command; returns the exit status (2 for bad input)."""
    try:
        flags = {} if args.data_dir is None else {"data_dir": args.data_dir}
        config = layered_config(config_file=args.config, environ=environ, flags=flags)
        mode: Mode = "whitelist" if config.ip_filter_mode == "whitelist" else "blacklist"
        session = AdminSession(config.data_dir, ip_mode=mode, params=argon2_params(config))
    except ServerError as exc:
        print(f"justirc-server admin: {exc}", file=sys.stderr)
        return 2
    try:
        _dispatch(session, args)
    except (ServerError, ValueError) as exc:
        print(f"justirc-server admin: {exc}", file=sys.stderr)
        return 2
    finally:
        session.close()
    return 0


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _dispatch(s: AdminSession, args: argparse.Namespace) -> None:
    group, action = args.group, args.action
    if group == "accounts":
        if action == "list":
            for a in s.list_accounts():
                state = "disabled" if a.disabled else "active"
                last = _when(a.last_login)
                print(f"{a.name}\t{state}\tcreated {_when(a.created)}\tlast login {last}")
        elif action == "disable":
            s.disable(args.name)
            print(f"disabled {args.name}; its sessions close within a second")
        elif action == "enable":
            s.enable(args.name)
            print(f"enabled {args.name}")
        else:
            if args.password_stdin:
                password = sys.stdin.readline().rstrip("\r\n")
            else:
                password = getpass.getpass(f"new password for {args.name}: ")
            s.reset_password(args.name, password)
            print(f"password of {args.name} reset; its sessions and tokens are revoked")
    elif group == "ip":
        if action == "list":
            print(f"mode: {s.ip.mode}")
            for r in s.ip_rules():
                until = "permanent" if r.expires is None else f"until {_when(r.expires)}"
                print(f"{r.action}\t{r.network}\t{until}\t{r.reason}")
        elif action == "add":
            rule = s.ip.add_rule(
                args.network, "allow" if args.allow else "deny", reason=args.reason
            )
            print(f"{rule.action} {rule.network}")
        elif action == "remove":
            if not s.ip.remove_rule(args.network):
                raise ValueError(f"no rule for {args.network}")
            print(f"removed {args.network}")
        else:
            rule = s.ip.ban(args.network, args.duration, reason=args.reason)
            print(f"banned {rule.network} until {_when(rule.expires)}")
    else:
        if action == "list":
            for c in s.list_channels():
                print(f"{c.name}\towner {c.owner}\tcreated {_when(c.created)}")
        elif action == "drop":
            s.drop_channel(args.channel)
            print(f"dropped {args.channel}")
        else:
            s.set_owner(args.channel, args.account)
            print(f"{args.channel} now belongs to account {args.account}")
