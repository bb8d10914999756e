"""Turning SDK events into display lines: pure, no terminal.

A display line is a tuple of ``(style, text)`` fragments, the shape prompt_toolkit's
``FormattedText`` takes, so the app prints it in colour while tests read
:func:`plain`. Every line starts with a ``HH:MM`` timestamp; markers tell kinds
apart at a glance (see :data:`LEGEND`).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Sequence
from pathlib import Path

from justirc_sdk import events as ev
from justirc_sdk.errors import JustIRCError, RateLimited, ServerError
from justirc_sdk.files import format_size

__all__ = [
    "LEGEND",
    "Line",
    "format_error",
    "format_event",
    "format_file",
    "format_image",
    "format_own",
    "info",
    "nick_colour",
    "notice",
    "plain",
    "progress_bar",
    "size_text",
]

Fragment = tuple[str, str]
Line = tuple[Fragment, ...]

_PALETTE = (
    "ansigreen",
    "ansiyellow",
    "ansiblue",
    "ansimagenta",
    "ansicyan",
    "ansibrightgreen",
    "ansibrightyellow",
    "ansibrightblue",
    "ansibrightmagenta",
    "ansibrightcyan",
    "ansibrightred",
    "ansired",
)
_TIME = "fg:ansibrightblack"
_NOTICE = "fg:ansibrightblack"
_ERROR = "fg:ansired bold"
_LOUD = "bg:ansired fg:ansiwhite bold"
_PM = "fg:ansimagenta bold"
_WARN = "fg:ansiyellow bold"

MARK_NOTICE = "-!-"
MARK_ERROR = "!!!"
MARK_PM = "[PM]"
MARK_DECRYPT = "[undecryptable]"
MARK_VERIFIED = "✓"

LEGEND: tuple[tuple[str, str], ...] = (
    ("<nick>", "a message in a channel; each nick keeps its own colour"),
    (f"{MARK_PM} <nick>", "a private (end-to-end encrypted, one-to-one) message"),
    (f"{MARK_PM} -> nick", "a private message you sent"),
    ("* nick text", "an action (/me)"),
    (f"<{MARK_VERIFIED}nick>", "the sender's key is verified (safety numbers compared)"),
    (MARK_NOTICE, "a notice: joins, parts, modes, topics, connection state"),
    (MARK_ERROR, "an error: a refusal from the server or a failed command"),
    ("!!!!! KEY CHANGED", "LOUD: a contact's identity key changed; check before trusting"),
    (MARK_DECRYPT, "a message that could not be decrypted or authenticated (dropped)"),
    ("[image]", "a received image, saved to the download directory"),
    ("[file]", "a received file (any kind), saved to the download directory"),
)


def nick_colour(nick: str) -> str:
    """A colour for *nick* that is the same in every run and on every machine."""
    return "fg:" + _PALETTE[zlib.crc32(nick.lower().encode()) % len(_PALETTE)]


def _stamp(timestamp: float | None) -> Fragment:
    when = time.localtime(timestamp if timestamp is not None else time.time())
    return (_TIME, time.strftime("%H:%M", when) + " ")


def plain(line: Line) -> str:
    """The text of a line without styles (for tests and logs)."""
    return "".join(text for _, text in line)


def notice(text: str, timestamp: float | None = None) -> Line:
    """A ``-!-`` notice line."""
    return (_stamp(timestamp), (_NOTICE, f"{MARK_NOTICE} {text}"))


def info(text: str) -> Line:
    """An untimed informational line (help, listings)."""
    return (("", text),)


def error(text: str) -> Line:
    """A ``!!!`` error line."""
    return (_stamp(None), (_ERROR, f"{MARK_ERROR} {text}"))


def format_error(exc: BaseException) -> Line:
    """One readable line for an error: never a traceback."""
    if isinstance(exc, RateLimited):
        return error(f"slow down: {exc.message} (try again in {exc.retry_after:.0f} s)")
    if isinstance(exc, ServerError):
        return error(f"server refused: {exc.message}")
    if isinstance(exc, JustIRCError | OSError | ValueError) and str(exc):
        return error(str(exc))
    return error(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def _nick(nick: str, verified: bool = False) -> Fragment:
    return (nick_colour(nick) + " bold", (MARK_VERIFIED if verified else "") + nick)


def _where(channel: str | None) -> Sequence[Fragment]:
    if channel is None:
        return ((_PM, MARK_PM + " "),)
    return (("fg:ansibrightblack", channel + " "),)


def _message(
    sender: str,
    text: str,
    channel: str | None,
    timestamp: float | None,
    verified: bool,
    action: bool,
) -> Line:
    head = [_stamp(timestamp), *_where(channel)]
    if action:
        return (*head, ("", "* "), _nick(sender, verified), ("", " " + text))
    return (*head, ("", "<"), _nick(sender, verified), ("", "> " + text))


def format_own(me: str, target: str, text: str, *, action: bool = False) -> Line:
    """The echo of a message you sent (the server does not send it back)."""
    if target.startswith("#"):
        return _message(me, text, target, None, False, action)
    head = (_stamp(None), (_PM, f"{MARK_PM} -> "), _nick(target), ("", ": "))
    if action:
        return (*head, ("", "* "), _nick(me), ("", " " + text))
    return (*head, ("", text))


def format_image(event: ev.ImageMessage, path: Path) -> Line:
    """A received image and where it was saved."""
    caption = f" {event.caption!r}" if event.caption else ""
    return (
        _stamp(event.timestamp),
        *_where(event.channel),
        ("", "[image] <"),
        _nick(event.sender, event.verified),
        ("", f"> {event.width}x{event.height}{caption} saved to {path}"),
    )


size_text = format_size
"""A byte count for people (the SDK's :func:`~justirc_sdk.files.format_size`)."""


def _printable(text: str) -> str:
    """*text* with anything a terminal could act on (controls, bidi overrides) replaced."""
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in text)


def format_file(event: ev.FileMessage, path: Path) -> Line:
    """A received file, what its sender says it is, and where it was saved.

    The name, type and caption come from the sender: shown, never trusted (the saved
    name is :func:`justirc_cli.downloads.safe_file_name`'s, not necessarily theirs).
    """
    caption = f" — {_printable(event.caption)}" if event.caption else ""
    details = f"{size_text(len(event.data))}, {_printable(event.mime_type)}"
    return (
        _stamp(event.timestamp),
        *_where(event.channel),
        ("", "[file] <"),
        _nick(event.sender, event.verified),
        ("", f"> {_printable(event.filename)} ({details}) saved to {path}{caption}"),
    )


def _key_changed(event: ev.KeyChanged) -> list[Line]:
    bar = "!" * 72
    return [
        ((_LOUD, bar),),
        ((_LOUD, f"!!!!! KEY CHANGED: the identity key of {event.nick} is NOT the one you knew"),),
        ((_LOUD, f"!!!!!   old: {event.old_fingerprint}"),),
        ((_LOUD, f"!!!!!   new: {event.new_fingerprint}"),),
        (
            (
                _LOUD,
                f"!!!!! Someone may be impersonating {event.nick}. Nothing is sent to them until "
                f"you /accept-key {event.nick};",
            ),
        ),
        (
            (
                _LOUD,
                f"!!!!! then compare /safety {event.nick} with them in person or on a call and "
                f"/verify {event.nick} <number>.",
            ),
        ),
        ((_LOUD, bar),),
    ]


def _role_text(role: str) -> str:
    return {"owner": "the owner", "op": "an op", "mod": "a mod"}.get(role, "a member")


def _modes_text(modes: dict[str, bool | int]) -> str:
    parts = []
    letters = {"invite_only": "i", "moderated": "m", "secret": "s", "topic_lock": "t"}
    for key, letter in letters.items():
        if key in modes:
            parts.append(("+" if modes[key] else "-") + letter)
    if "limit" in modes:
        parts.append(f"+l {modes['limit']}" if modes["limit"] else "-l")
    if "has_password" in modes:
        parts.append("+k" if modes["has_password"] else "-k")
    return " ".join(parts) or "(none)"


def format_event(event: ev.Event, me: str) -> list[Line]:
    """The lines to show for *event* (possibly none). *me* is your current nick.

    Images and files are shown by :func:`format_image` and :func:`format_file` once
    saved, so they give no line here.
    """
    if isinstance(event, ev.Message):
        return [
            _message(
                event.sender,
                event.text,
                event.channel,
                event.timestamp,
                event.verified,
                event.action,
            )
        ]
    if isinstance(event, ev.KeyChanged):
        return _key_changed(event)
    if isinstance(event, ev.DecryptionFailed):
        where = f" in {event.channel}" if event.channel else " (private)"
        return [
            (
                _stamp(None),
                (_WARN, f"{MARK_DECRYPT} a message from {event.sender}{where} was dropped: "),
                ("", event.reason),
            )
        ]
    text = _notice_text(event, me)
    return [notice(text)] if text else []


def _notice_text(event: ev.Event, me: str) -> str | None:
    if isinstance(event, ev.ChannelJoined):
        topic = f"; topic: {event.topic}" if event.topic else ""
        return f"you joined {event.channel} ({len(event.members)} members){topic}"
    if isinstance(event, ev.ChannelLeft):
        return f"you left {event.channel}" + (f" ({event.reason})" if event.reason else "")
    if isinstance(event, ev.MemberJoined):
        return f"{event.nick} joined {event.channel}"
    if isinstance(event, ev.MemberLeft):
        return f"{event.nick} left {event.channel}" + (f" ({event.reason})" if event.reason else "")
    if isinstance(event, ev.Kicked):
        verb = "banned" if event.banned else "kicked"
        who = "you were" if event.nick == me else f"{event.nick} was"
        reason = f": {event.reason}" if event.reason else ""
        return f"{who} {verb} from {event.channel} by {event.by}{reason}"
    if isinstance(event, ev.TopicChanged):
        if event.topic is None:
            return f"{event.by} cleared the topic of {event.channel}"
        return f"{event.by} set the topic of {event.channel}: {event.topic}"
    if isinstance(event, ev.ModeChanged):
        return f"{event.by} set modes of {event.channel}: {_modes_text(event.modes)}"
    if isinstance(event, ev.RoleChanged):
        who = "you are" if event.nick == me else f"{event.nick} is"
        return f"{who} now {_role_text(event.role)} of {event.channel} (by {event.by})"
    if isinstance(event, ev.Invited):
        return f"{event.by} invited you to {event.channel}; type /join {event.channel}"
    if isinstance(event, ev.NickChanged):
        if event.new == me:
            return f"you are now known as {event.new}"
        return f"{event.old} is now known as {event.new}"
    if isinstance(event, ev.KeysRotated):
        return f"keys rotated with {event.peer} (epoch {event.epoch}, by {event.by})"
    if isinstance(event, ev.Disconnected):
        tail = "; reconnecting..." if event.will_reconnect else "; not reconnecting"
        return f"disconnected: {event.reason}{tail}"
    if isinstance(event, ev.Reconnected):
        return f"reconnected (after {event.attempts} attempt(s)); channels rejoined"
    if isinstance(event, ev.ErrorReceived):
        return f"server error ({event.code}): {event.message}"
    if isinstance(event, ev.EventsDropped):
        return f"the display fell behind: {event.count} event(s) were not shown"
    return None


def progress_bar(label: str, done: int, total: int, width: int = 30) -> str:
    """``label [#######.......]  42%`` for an image or file upload."""
    fraction = 1.0 if total <= 0 else min(1.0, max(0.0, done / total))
    filled = round(fraction * width)
    return f"{label} [{'#' * filled}{'.' * (width - filled)}] {fraction * 100:3.0f}%"
