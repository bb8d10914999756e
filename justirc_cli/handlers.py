"""What each ``/command`` does, on top of the public SDK.

One coroutine per command, registered in :data:`HANDLERS` by canonical name. They
raise :class:`~justirc_cli.commands.UsageError` for arguments they cannot use and let
SDK errors through; :meth:`ChatClient.handle_line` turns both into one readable line.
Confirmations for moderation come back as events from the server (shown by the
event loop), so most handlers print nothing on success.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from justirc_sdk.crypto.errors import SafetyNumberMismatchError, UntrustedKeyError

from . import formatting as fmt
from .commands import Command, UsageError, parse_duration, parse_modes
from .conversations import LAST_LINES

if TYPE_CHECKING:
    from .client import ChatClient

__all__ = ["HANDLERS"]

Handler = Callable[["ChatClient", Command], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}

_ROLE_ORDER = {"owner": 0, "op": 1, "mod": 2, "member": 3}
_ROLE_MARK = {"owner": "~", "op": "@", "mod": "+", "member": ""}


def _command(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn

    return register


def _arg(cmd: Command, index: int) -> str | None:
    return cmd.args[index] if len(cmd.args) > index else None


# -- conversations ----------------------------------------------------------------------


@_command("join")
async def _join(client: ChatClient, cmd: Command) -> None:
    name = cmd.args[0]
    if not name.startswith("#"):
        raise UsageError(f"channel names start with #: try /join #{name}")
    channel = await client.session.join(name, _arg(cmd, 1))
    client.add_conversation(channel.name, switch=True)


@_command("part")
async def _part(client: ChatClient, cmd: Command) -> None:
    channel = client.channel(cmd)
    await channel.leave(_arg(cmd, 0) or None)
    client.drop_conversation(channel.name)


@_command("msg")
async def _msg(client: ChatClient, cmd: Command) -> None:
    target = cmd.args[0]
    if target.startswith("#"):
        target = client.session.channel(target).name
    elif target.lower() == client.session.nick.lower():
        raise UsageError("that is you; /msg someone else")
    text = _arg(cmd, 1)
    if not text:
        client.notice(f"now talking with {target}")
    client.add_conversation(target, switch=True)  # replays what you missed there
    if text:
        await client.send_to(target, text)


@_command("me")
async def _me(client: ChatClient, cmd: Command) -> None:
    await client.say(cmd.args[0], action=True)


@_command("switch")
async def _switch(client: ChatClient, cmd: Command) -> None:
    target = cmd.args[0]
    if target.startswith("#"):
        target = client.session.channel(target).name
    client.notice(f"now talking in {target}")
    client.add_conversation(target, switch=True)  # replays what you missed there


@_command("last")
async def _last(client: ChatClient, cmd: Command) -> None:
    given = _arg(cmd, 0)
    if given is not None and (not given.isdigit() or int(given) <= 0):
        raise UsageError(f"/last takes a number of lines, like /last 50; not {given!r}")
    client.show_last(int(given) if given else LAST_LINES)


@_command("nick")
async def _nick(client: ChatClient, cmd: Command) -> None:
    await client.session.change_nick(cmd.args[0])
    client.on_change()


_Send = Callable[[str, Path, str | None, Callable[[int, int], None]], Awaitable[None]]


async def _send_attachment(client: ChatClient, cmd: Command, kind: str, send: _Send) -> None:
    """``/image`` and ``/file``: check the path, upload with a progress bar, confirm."""
    target, file = cmd.args[0], await anyio.Path(cmd.args[1]).expanduser()
    caption = _arg(cmd, 2)
    if not await file.is_file():
        raise UsageError(f"no such file: {file}")
    label = f"sending {file.name} to {target}"

    def progress(done: int, total: int) -> None:
        client.set_status(fmt.progress_bar(label, done, total))

    client.set_status(fmt.progress_bar(label, 0, 1))
    try:
        await send(target, Path(file), caption, progress)
    finally:
        client.set_status(None)
    size = (await file.stat()).st_size
    client.notice(f"{kind} {file.name} ({fmt.size_text(size)}) sent to {target}", target)


@_command("image")
async def _image(client: ChatClient, cmd: Command) -> None:
    async def send(
        target: str, path: Path, caption: str | None, progress: Callable[[int, int], None]
    ) -> None:
        if target.startswith("#"):
            await client.session.channel(target).send_image(path, caption, progress)
        else:
            await client.session.send_image(target, path, caption, progress)

    await _send_attachment(client, cmd, "image", send)


@_command("file")
async def _file(client: ChatClient, cmd: Command) -> None:
    async def send(
        target: str, path: Path, caption: str | None, progress: Callable[[int, int], None]
    ) -> None:
        if target.startswith("#"):
            await client.session.channel(target).send_file(path, caption, progress)
        else:
            await client.session.send_file(target, path, caption, progress)

    await _send_attachment(client, cmd, "file", send)


# -- keys and trust ---------------------------------------------------------------------


@_command("rekey")
async def _rekey(client: ChatClient, cmd: Command) -> None:
    target = _arg(cmd, 0) or client.current
    if target is None:
        raise UsageError("rekey with whom? give a nick or #channel")
    await client.session.rotate_keys(target)


@_command("fingerprint")
async def _fingerprint(client: ChatClient, cmd: Command) -> None:
    nick = _arg(cmd, 0)
    if nick is None:
        client.info(f"your fingerprint: {client.session.fingerprint}")
        return
    found = client.session.fingerprint_of(nick)
    if found is None:
        client.info(f"no key known for {nick} yet: exchange a message first")
        return
    state = client.session.trust_state(nick) or "unknown"
    client.info(f"{nick}: {found} ({state})")


@_command("safety")
async def _safety(client: ChatClient, cmd: Command) -> None:
    nick = cmd.args[0]
    try:
        number = client.session.safety_number(nick)
    except UntrustedKeyError:
        raise UsageError(f"no key known for {nick} yet: exchange a message first") from None
    client.info(f"safety number with {nick}: {number}")
    client.info(
        f"compare it with {nick} in person or on a call; if it matches: /verify {nick} <number>"
    )


@_command("verify")
async def _verify(client: ChatClient, cmd: Command) -> None:
    nick, number = cmd.args
    try:
        client.session.verify(nick, number)
    except SafetyNumberMismatchError:
        client.show(
            fmt.error(
                f"the safety number does NOT match {nick}'s key: do not trust it; "
                f"check /safety {nick} again"
            )
        )
        return
    except UntrustedKeyError as exc:
        raise UsageError(str(exc)) from None
    client.notice(f"{nick} is verified {fmt.MARK_VERIFIED}")


@_command("accept-key")
async def _accept_key(client: ChatClient, cmd: Command) -> None:
    nick = cmd.args[0]
    client.session.accept_key_change(nick)
    client.notice(
        f"accepted the new key of {nick}; it is not verified: compare /safety {nick} with them"
    )


# -- information ------------------------------------------------------------------------


@_command("users")
async def _users(client: ChatClient, cmd: Command) -> None:
    channel = client.channel(cmd)
    members = await channel.refresh()
    ordered = sorted(members.items(), key=lambda kv: (_ROLE_ORDER.get(kv[1], 9), kv[0].lower()))
    names = " ".join(f"{_ROLE_MARK.get(role, '')}{nick}" for nick, role in ordered)
    client.info(f"{channel.name} ({len(members)}): {names}")


@_command("whois")
async def _whois(client: ChatClient, cmd: Command) -> None:
    reply = await client.session.whois(cmd.args[0])
    parts = [f"{reply.nick} is {'online' if reply.online else 'offline'}"]
    if reply.account:
        parts.append(f"account {reply.account}")
    if reply.channels:
        parts.append("in " + " ".join(reply.channels))
    if reply.idle is not None:
        parts.append(f"idle {reply.idle:.0f} s")
    fingerprint = client.session.fingerprint_of(reply.nick)
    if fingerprint:
        state = client.session.trust_state(reply.nick)
        parts.append(f"key {fingerprint} ({state})")
    client.info("; ".join(parts))


@_command("list")
async def _list(client: ChatClient, cmd: Command) -> None:
    channels = await client.session.list_channels()
    if not channels:
        client.info("no channels yet: /join #name creates one")
        return
    for summary in sorted(channels, key=lambda c: c.name.lower()):
        topic = f"  {summary.topic}" if summary.topic else ""
        client.info(f"{summary.name} ({summary.members}){topic}")


@_command("topic")
async def _topic(client: ChatClient, cmd: Command) -> None:
    channel = client.channel(cmd)
    text = _arg(cmd, 0)
    if text is None:
        topic = channel.topic
        client.info(f"topic of {channel.name}: {topic}" if topic else f"{channel.name}: no topic")
        return
    await channel.set_topic(text)


# -- moderation -------------------------------------------------------------------------


@_command("kick")
async def _kick(client: ChatClient, cmd: Command) -> None:
    await client.channel(cmd).kick(cmd.args[0], _arg(cmd, 1))


@_command("ban")
async def _ban(client: ChatClient, cmd: Command) -> None:
    nick = cmd.args[0]
    duration = parse_duration(cmd.args[1]) if len(cmd.args) > 1 else None
    words = cmd.args[2:] if duration is not None else cmd.args[1:]
    reason = " ".join(words) or None
    channel = client.channel(cmd)
    await channel.ban(nick, reason, duration)
    until = ""
    if duration is not None:
        until = time.strftime(" until %Y-%m-%d %H:%M", time.localtime(time.time() + duration))
    client.notice(f"{nick} is banned from {channel.name}{until}", channel.name)


@_command("kickban")
async def _kickban(client: ChatClient, cmd: Command) -> None:
    channel = client.channel(cmd)
    await channel.ban(cmd.args[0], _arg(cmd, 1))
    client.notice(f"{cmd.args[0]} is banned from {channel.name}", channel.name)


@_command("unban")
async def _unban(client: ChatClient, cmd: Command) -> None:
    channel = client.channel(cmd)
    await channel.unban(cmd.args[0])
    client.notice(f"{cmd.args[0]} is no longer banned from {channel.name}", channel.name)


@_command("bans")
async def _bans(client: ChatClient, cmd: Command) -> None:
    channel = client.channel(cmd)
    bans = await channel.bans()
    if not bans:
        client.info(f"{channel.name}: no bans")
    for ban in bans:
        until = (
            time.strftime(" until %Y-%m-%d %H:%M", time.localtime(ban.until)) if ban.until else ""
        )
        reason = f": {ban.reason}" if ban.reason else ""
        client.info(f"{channel.name}: {ban.nick} banned by {ban.by}{until}{reason}")


def _role_command(name: str) -> None:
    async def run(client: ChatClient, cmd: Command) -> None:
        channel = client.channel(cmd)
        await getattr(channel, name)(cmd.args[0])

    run.__name__ = f"_{name}"
    HANDLERS[name] = run


for _name in ("op", "deop", "mod", "unmod", "transfer"):
    _role_command(_name)


@_command("invite")
async def _invite(client: ChatClient, cmd: Command) -> None:
    name = _arg(cmd, 1) or client.current
    if name is None or not name.startswith("#"):
        raise UsageError("invite to which channel? switch to it or name it")
    channel = client.session.channel(name)
    await channel.invite(cmd.args[0])
    client.notice(f"invited {cmd.args[0]} to {channel.name}")


@_command("mode")
async def _mode(client: ChatClient, cmd: Command) -> None:
    channel = client.channel(cmd)
    text = _arg(cmd, 0)
    if not text:
        m = channel.modes
        flags = "".join(
            letter
            for letter, on in (
                ("i", m.invite_only),
                ("m", m.moderated),
                ("s", m.secret),
                ("t", m.topic_lock),
                ("k", m.has_password),
            )
            if on
        )
        limit = f" limit {m.limit}" if m.limit else ""
        client.info(f"modes of {channel.name}: +{flags}{limit}" if flags or limit else "no modes")
        return
    try:
        change = parse_modes(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    await channel.set_mode(
        invite_only=change.invite_only,
        moderated=change.moderated,
        secret=change.secret,
        topic_lock=change.topic_lock,
        limit=change.limit,
        password=change.password,
    )


# -- accounts ---------------------------------------------------------------------------


async def _secret(client: ChatClient, given: str | None, prompt: str) -> str:
    if given:
        return given
    if client.ask_secret is None:
        raise UsageError("give the password as an argument")
    secret = await client.ask_secret(prompt)
    if not secret:
        raise UsageError("no password given")
    return secret


@_command("login")
async def _login(client: ChatClient, cmd: Command) -> None:
    password = await _secret(client, _arg(cmd, 0), f"password for {client.session.nick}: ")
    await client.session.login(password)
    client.notice(f"logged in to the account {client.session.account or client.session.nick}")


@_command("register")
async def _register(client: ChatClient, cmd: Command) -> None:
    password = await _secret(client, _arg(cmd, 0), "new account password: ")
    await client.session.create_account(password)
    client.notice(f"account {client.session.nick} created; you are logged in")


@_command("passwd")
async def _passwd(client: ChatClient, cmd: Command) -> None:
    old = await _secret(client, None, "current password: ")
    new = await _secret(client, None, "new password: ")
    await client.session.change_password(old, new)
    client.notice("password changed; your other sessions were logged out")


# -- session ----------------------------------------------------------------------------


@_command("help")
async def _help(client: ChatClient, cmd: Command) -> None:
    client.help(_arg(cmd, 0))


@_command("quit")
async def _quit(client: ChatClient, cmd: Command) -> None:
    client.request_quit(_arg(cmd, 0) or "bye")
