"""The command table and the line parser: pure, no I/O, no terminal.

A line typed at the prompt is either plain text (sent to the current conversation) or
a ``/command`` with arguments. Each command is described once, in :data:`COMMANDS`,
with its syntax, a one-line summary and an example; the parser, ``/help``, tab
completion and ``docs/CLI.md`` all follow that table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "COMMANDS",
    "Command",
    "CommandSpec",
    "ModeChange",
    "ParseError",
    "PlainText",
    "UsageError",
    "find_command",
    "help_text",
    "parse_duration",
    "parse_line",
    "parse_modes",
]


class UsageError(Exception):
    """A command got arguments it cannot use; the message says what to do instead."""


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command: its names, its arguments and how to explain it.

    ``args`` names the argument kinds in order (used for completion): ``nick``,
    ``channel``, ``target`` (nick or channel), ``command``, ``file``, ``text`` and
    others. ``required`` is how many must be given. When ``rest`` is true the last
    argument takes the remainder of the line, spaces included.
    """

    name: str
    aliases: tuple[str, ...]
    usage: str
    summary: str
    example: str
    args: tuple[str, ...] = ()
    required: int = 0
    rest: bool = False
    scoped: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        """The command name followed by its aliases."""
        return (self.name, *self.aliases)


def _c(
    name: str,
    usage: str,
    summary: str,
    example: str,
    args: tuple[str, ...] = (),
    required: int = 0,
    *,
    rest: bool = False,
    aliases: tuple[str, ...] = (),
    scoped: bool = False,
) -> CommandSpec:
    return CommandSpec(name, aliases, usage, summary, example, args, required, rest, scoped)


COMMANDS: tuple[CommandSpec, ...] = (
    # conversations
    _c("join", "/join #channel [password]", "join (or create) a channel and switch to it",
       "/join #python", ("channel", "password"), 1),
    _c("part", "/part [#channel] [reason]", "leave a channel (the current one by default)",
       "/part #python see you", ("text",), 0, rest=True, aliases=("leave",), scoped=True),
    _c("msg", "/msg nick [text]", "open a private conversation, optionally sending a message",
       "/msg bob hi there", ("nick", "text"), 1, rest=True, aliases=("query",)),
    _c("me", "/me action", "send an action to the current conversation",
       "/me waves", ("text",), 1, rest=True),
    _c("switch", "/switch target", "make a channel or nick the current conversation",
       "/switch #python", ("target",), 1),
    _c("last", "/last [n]", "show the last n lines (default 20) of the current conversation again",
       "/last 50", ("count",), 0),
    _c("nick", "/nick newnick", "change your nickname", "/nick alice_", ("nick",), 1),
    _c("image", "/image target file [caption]", "send an image (PNG, JPEG, GIF, WebP), encrypted",
       "/image #python ~/cat.png my cat", ("target", "file", "text"), 2, rest=True),
    _c("file", "/file target file [caption]", "send any file (up to 25 MiB), encrypted",
       "/file bob ~/report.pdf the draft", ("target", "file", "text"), 2, rest=True),
    # keys and trust
    _c("rekey", "/rekey [target]", "rotate encryption keys with a nick or for a channel now",
       "/rekey #python", ("target",), 0),
    _c("fingerprint", "/fingerprint [nick]", "show your identity fingerprint (or a contact's)",
       "/fingerprint", ("nick",), 0),
    _c("safety", "/safety nick", "show the safety number you share with nick (compare it!)",
       "/safety bob", ("nick",), 1),
    _c("verify", "/verify nick number", "mark nick verified once the safety numbers match",
       "/verify bob 12345 67890 ...", ("nick", "text"), 2, rest=True),
    _c("accept-key", "/accept-key nick", "accept nick's new identity key after a key change",
       "/accept-key bob", ("nick",), 1),
    # information
    _c("users", "/users [#channel]", "list the members of a channel and their roles",
       "/users #python", (), 0, aliases=("names",), scoped=True),
    _c("whois", "/whois nick", "show what the server tells about a user", "/whois bob",
       ("nick",), 1),
    _c("list", "/list", "list the channels on the server", "/list"),
    _c("topic", "/topic [#channel] [text]", "show or set a channel's topic (no text: show it)",
       "/topic #python Python chat", ("text",), 0, rest=True, scoped=True),
    # moderation
    _c("kick", "/kick [#channel] nick [reason]", "remove nick from the channel (mod and up)",
       "/kick spammer stop it", ("nick", "text"), 1, rest=True, scoped=True),
    _c("ban", "/ban [#channel] nick [duration] [reason]",
       "ban nick, for good or for a duration like 10m, 2h, 1d (op and up)",
       "/ban spammer 2h flooding", ("nick", "duration", "text"), 1, rest=True, scoped=True),
    _c("unban", "/unban [#channel] nick", "lift a ban on nick", "/unban spammer",
       ("nick",), 1, scoped=True),
    _c("bans", "/bans [#channel]", "list a channel's bans (op and up)", "/bans", (), 0,
       scoped=True),
    _c("kickban", "/kickban [#channel] nick [reason]", "ban nick for good and remove them",
       "/kickban spammer bye", ("nick", "text"), 1, rest=True, scoped=True),
    _c("op", "/op [#channel] nick", "make nick an op of the channel (owner only)", "/op bob",
       ("nick",), 1, scoped=True),
    _c("deop", "/deop [#channel] nick", "take op from nick (owner only)", "/deop bob",
       ("nick",), 1, scoped=True),
    _c("mod", "/mod [#channel] nick", "make nick a mod of the channel (op and up)", "/mod bob",
       ("nick",), 1, scoped=True),
    _c("unmod", "/unmod [#channel] nick", "take mod from nick (op and up)", "/unmod bob",
       ("nick",), 1, scoped=True),
    _c("invite", "/invite nick [#channel]", "invite nick past invite-only", "/invite bob #python",
       ("nick", "channel"), 1),
    _c("mode", "/mode [#channel] [+i|-i +m|-m +s|-s +t|-t +l N|-l +k pass|-k]",
       "show or change channel modes: invite-only, moderated, secret, topic-lock, limit, key",
       "/mode +im +l 50", ("mode",), 0, rest=True, scoped=True),
    _c("transfer", "/transfer [#channel] nick", "hand ownership of the channel to nick",
       "/transfer bob", ("nick",), 1, scoped=True),
    # accounts
    _c("login", "/login [password]", "log in to the account named after your nick",
       "/login", ("password",), 0),
    _c("register", "/register [password]", "create an account for your nick",
       "/register", ("password",), 0),
    _c("passwd", "/passwd", "change your account password", "/passwd"),
    # session
    _c("help", "/help [command]", "list commands, or explain one", "/help ban", ("command",), 0),
    _c("quit", "/quit [reason]", "leave the server and exit", "/quit good night", ("text",), 0,
       rest=True, aliases=("exit",)),
)  # fmt: skip

_BY_NAME: dict[str, CommandSpec] = {name: spec for spec in COMMANDS for name in spec.names}


def find_command(name: str) -> CommandSpec | None:
    """The command called *name* (with or without the slash, any case), or ``None``."""
    return _BY_NAME.get(name.lstrip("/").lower())


@dataclass(frozen=True, slots=True)
class PlainText:
    """A line to send as a message to the current conversation."""

    text: str


@dataclass(frozen=True, slots=True)
class Command:
    """A recognised command and its arguments (``rest`` arguments keep their spaces)."""

    spec: CommandSpec
    args: tuple[str, ...]
    channel: str | None = None
    """For channel-scoped commands: the ``#channel`` given before the arguments, if any."""

    @property
    def name(self) -> str:
        """The command's canonical name (aliases resolved)."""
        return self.spec.name


@dataclass(frozen=True, slots=True)
class ParseError:
    """A line that cannot be run; ``message`` says why, ``usage`` how to do it right."""

    message: str
    usage: str | None = None


def parse_line(line: str) -> PlainText | Command | ParseError | None:
    """Turn a typed line into plain text, a command, or an error; ``None`` for blank input.

    ``//text`` sends ``/text`` literally. Surplus words after a command's last
    argument are refused rather than silently dropped. Channel-scoped commands take
    an optional ``#channel`` first (``/kick #c bob``); otherwise they act on the
    current conversation.
    """
    stripped = line.strip()
    if not stripped:
        return None
    if not stripped.startswith("/"):
        return PlainText(line.rstrip())
    if stripped.startswith("//"):
        return PlainText(stripped[1:])
    head, _, tail = stripped[1:].partition(" ")
    spec = find_command(head)
    if spec is None:
        return ParseError(f"unknown command /{head}; type /help for the list")
    tail = tail.strip()
    channel = None
    if spec.scoped and tail.startswith("#"):
        channel, _, tail = tail.partition(" ")
        tail = tail.strip()
    limit = len(spec.args)
    try:
        args = _split(tail, limit if spec.rest else None)
    except ValueError as exc:
        return ParseError(str(exc), spec.usage)
    if len(args) < spec.required:
        return ParseError(f"/{spec.name} needs more arguments", spec.usage)
    if len(args) > limit:
        return ParseError(f"/{spec.name} takes at most {limit} argument(s)", spec.usage)
    return Command(spec, args, channel)


def _split(text: str, limit: int | None) -> tuple[str, ...]:
    """Split into words; a word may be quoted ("my file.png"); past *limit*-1 words the
    rest of the line is one last word, kept as typed."""
    words: list[str] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return tuple(words)
        if limit is not None and len(words) == limit - 1:
            words.append(text[pos:].rstrip())
            return tuple(words)
        if text[pos] in "\"'":
            end = text.find(text[pos], pos + 1)
            if end < 0:
                raise ValueError(f"missing closing {text[pos]} quote")
            words.append(text[pos + 1 : end])
            pos = end + 1
        else:
            end = pos
            while end < len(text) and not text[end].isspace():
                end += 1
            words.append(text[pos:end])
            pos = end


def help_text(name: str | None = None) -> list[str]:
    """Lines for ``/help`` (every command) or ``/help name`` (one, with an example)."""
    if name:
        spec = find_command(name)
        if spec is None:
            return [f"no command /{name.lstrip('/')}; type /help for the list"]
        lines = [f"{spec.usage}  —  {spec.summary}", f"  example: {spec.example}"]
        if spec.aliases:
            lines.append("  also: " + ", ".join(f"/{a}" for a in spec.aliases))
        return lines
    width = max(len(spec.usage) for spec in COMMANDS)
    lines = ["commands (plain text goes to the current conversation; //text sends /text):"]
    for spec in COMMANDS:
        alias = f" (also {', '.join('/' + a for a in spec.aliases)})" if spec.aliases else ""
        lines.append(f"  {spec.usage.ljust(width)}  {spec.summary}{alias}")
    lines.append("keys: Tab completes; Tab on an empty line or Ctrl-N/Ctrl-P switch conversation")
    return lines


_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float | None:
    """Seconds in a duration like ``90s``, ``10m``, ``2h``, ``1d``, ``1w`` or ``1h30m``.

    Returns ``None`` when *text* is not a duration (so ``/ban`` can treat it as the
    start of the reason instead). A bare number counts as minutes.
    """
    text = text.strip().lower()
    if not text:
        return None
    if text.isdigit():
        return float(int(text) * 60) or None
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or total <= 0:
        return None
    return total


@dataclass(frozen=True, slots=True)
class ModeChange:
    """Keyword arguments for :meth:`justirc_sdk.Channel.set_mode`, ``None`` = unchanged."""

    invite_only: bool | None = None
    moderated: bool | None = None
    secret: bool | None = None
    topic_lock: bool | None = None
    limit: int | None = None
    password: str | None = None

    def as_kwargs(self) -> dict[str, bool | int | str]:
        """Only the fields that change."""
        out: dict[str, bool | int | str] = {}
        for key in ("invite_only", "moderated", "secret", "topic_lock", "limit", "password"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


_FLAGS = {"i": "invite_only", "m": "moderated", "s": "secret", "t": "topic_lock"}


def parse_modes(text: str) -> ModeChange:
    """Parse IRC-style mode changes: ``+i -m +l 20 -k +k secret``, letters may combine.

    ``+l N`` and ``+k password`` take their argument from the following words, in
    order (``+lk 20 secret``); ``-l`` removes the limit and ``-k`` the password.
    Raises :class:`ValueError` with a readable message on anything else.
    """
    words = text.split()
    if not words:
        raise ValueError("no mode changes given")
    values: dict[str, bool | int | str] = {}
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word[0] not in "+-" or len(word) < 2:
            raise ValueError(f"{word!r} is not a mode change; write e.g. +i or -m")
        sign = True
        for letter in word:
            if letter in "+-":
                sign = letter == "+"
            elif letter in _FLAGS:
                values[_FLAGS[letter]] = sign
            elif letter == "l":
                if not sign:
                    values["limit"] = 0
                    continue
                if i >= len(words) or not words[i].isdigit() or int(words[i]) <= 0:
                    raise ValueError("+l needs a positive member limit, e.g. +l 50")
                values["limit"] = int(words[i])
                i += 1
            elif letter == "k":
                if not sign:
                    values["password"] = ""
                    continue
                if i >= len(words):
                    raise ValueError("+k needs a password, e.g. +k s3cret")
                values["password"] = words[i]
                i += 1
            else:
                raise ValueError(f"unknown mode {letter!r}; modes are i, m, s, t, l and k")
    return ModeChange(**values)  # type: ignore[arg-type]
