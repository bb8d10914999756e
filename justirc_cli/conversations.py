"""Your conversations: which are open, which is current, what each said, what you missed.

:class:`Conversations` is plain state (no sockets, no terminal). Every displayed line
that belongs to a channel or a private peer is also kept in that conversation's
bounded backlog (:data:`BACKLOG_LINES`). Lines arriving in a conversation that is not
the current one are *unseen*: messages count as unread, messages that mention you and
private messages as highlights, notices (joins, topics, key rotations) are kept and
replayed but not counted. Switching to a conversation returns a :class:`Catchup` with
its unseen lines (at most :data:`REPLAY_LINES`) and clears them.

:func:`route` decides which conversation an SDK event belongs to and how much it
matters (a :class:`Level`); :func:`activity_line` renders the activity list
(``act: bob(1!) #rust(3) #go``) for the toolbar.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from justirc_sdk import events as ev

from .formatting import Line

__all__ = [
    "BACKLOG_LINES",
    "LAST_LINES",
    "REPLAY_LINES",
    "Activity",
    "Catchup",
    "Conversations",
    "Level",
    "activity_line",
    "mentions",
    "route",
]

BACKLOG_LINES = 500
"""Lines kept per conversation; older ones are forgotten."""

REPLAY_LINES = 50
"""At most this many unseen lines are replayed when you switch to a conversation."""

LAST_LINES = 20
"""How many lines ``/last`` shows when not told."""


class Level(IntEnum):
    """How much a line matters to you when it arrives in another conversation."""

    OWN = 0
    """What you did yourself (your messages, your joins): kept, never unread."""
    NOTICE = 1
    """Joins, parts, topics, modes, key rotations: kept and replayed, not counted."""
    MESSAGE = 2
    """A message, action, image or file from someone else: counts as unread."""
    HIGHLIGHT = 3
    """A message that mentions your nick, or a private message: unread and flagged ``!``."""


_HIGHLIGHT_STYLE = "bold"


def mentions(text: str, nick: str) -> bool:
    """True when *text* names *nick* as a whole word, in any case (``Alice:`` or ``@alice``)."""
    if not nick:
        return False
    pattern = rf"(?<![A-Za-z0-9_\-]){re.escape(nick)}(?![A-Za-z0-9_\-])"
    return re.search(pattern, text, re.IGNORECASE) is not None


def _said(sender: str, text: str, private: bool, me: str) -> Level:
    if sender.lower() == me.lower():
        return Level.OWN
    return Level.HIGHLIGHT if private or mentions(text, me) else Level.MESSAGE


def _by(actor: str, me: str) -> Level:
    return Level.OWN if actor.lower() == me.lower() else Level.NOTICE


def route(event: ev.Event, me: str) -> tuple[str | None, Level]:
    """The conversation *event*'s lines belong to (``None``: none) and their :class:`Level`.

    *me* is your nick. The conversation may not be open; :meth:`Conversations.record`
    then keeps nothing. Connection state, server errors and invitations belong to none.
    """
    if isinstance(event, ev.Message):
        where = event.channel or event.sender
        return where, _said(event.sender, event.text, event.channel is None, me)
    if isinstance(event, ev.ImageMessage | ev.FileMessage):
        where = event.channel or event.sender
        return where, _said(event.sender, event.caption or "", event.channel is None, me)
    if isinstance(event, ev.DecryptionFailed):
        return event.channel or event.sender, Level.MESSAGE
    if isinstance(event, ev.ChannelJoined | ev.ChannelLeft):
        return event.channel, Level.OWN
    if isinstance(event, ev.MemberJoined | ev.MemberLeft):
        return event.channel, _by(event.nick, me)
    if isinstance(event, ev.Kicked | ev.TopicChanged | ev.ModeChanged | ev.RoleChanged):
        return event.channel, _by(event.by, me)
    if isinstance(event, ev.KeysRotated):
        return event.peer, _by(event.by, me)
    if isinstance(event, ev.KeyChanged):
        return event.nick, Level.NOTICE
    if isinstance(event, ev.NickChanged):
        # shown after the private conversation is renamed; your own nick belongs to none
        return (None, Level.OWN) if event.new.lower() == me.lower() else (event.new, Level.NOTICE)
    if isinstance(event, ev.UserOnline | ev.UserOffline):
        return event.nick, Level.NOTICE
    return None, Level.OWN


@dataclass(frozen=True, slots=True)
class Activity:
    """A conversation with lines you have not seen, as the activity list shows it."""

    name: str
    unread: int
    """Unread messages (notices are not counted)."""
    highlights: int
    """Of those, how many mention you or are private."""

    @property
    def label(self) -> str:
        """``#rust(3)``, ``bob(1!)`` (a highlight among them), or ``#go`` (notices only)."""
        if not self.unread:
            return self.name
        return f"{self.name}({self.unread}{'!' if self.highlights else ''})"


def activity_line(activity: Iterable[Activity]) -> Line:
    """``act: bob(1!) #rust(3) #go`` as display fragments (highlights bold); empty if none."""
    fragments: list[tuple[str, str]] = []
    for item in activity:
        fragments.append(("", " " if fragments else "act: "))
        fragments.append((_HIGHLIGHT_STYLE if item.highlights else "", item.label))
    return tuple(fragments)


@dataclass(frozen=True, slots=True)
class Catchup:
    """What to replay when you switch to a conversation with lines you have not seen."""

    name: str
    lines: tuple[Line, ...]
    """The most recent unseen lines, oldest first (at most :data:`REPLAY_LINES`)."""
    unseen: int
    """All lines since you last looked, including those no longer kept."""
    unread: int
    highlights: int

    @property
    def skipped(self) -> int:
        """Unseen lines not replayed (older than the replayed ones)."""
        return self.unseen - len(self.lines)

    def header(self, kept: int = BACKLOG_LINES) -> str:
        """The separator shown before the replay, e.g.
        ``---- #rust: 3 unread, 1 highlight ----``. *kept* bounds the ``/last`` hint."""
        parts = []
        if self.unread:
            parts.append(f"{self.unread} unread")
        if self.highlights:
            parts.append(f"{self.highlights} highlight{'s' if self.highlights != 1 else ''}")
        if not parts:
            parts.append(f"{self.unseen} new line{'s' if self.unseen != 1 else ''}")
        text = f"---- {self.name}: {', '.join(parts)}"
        if self.skipped:
            more = min(self.unseen, kept)
            text += (
                f"; the last {len(self.lines)} lines follow, {self.skipped} older skipped"
                f" (/last {more})"
            )
        return text + " ----"


@dataclass(slots=True)
class _Conversation:
    name: str
    lines: deque[tuple[int, Line]]
    count: int = 0
    """Lines ever recorded; each line's number is the count before it."""
    first_unseen: int | None = None
    unread: int = 0
    highlights: int = 0
    level: Level = Level.OWN
    """The highest level among the unseen lines (OWN: nothing to catch up on)."""
    since: int = 0
    """When the level last rose (orders the activity list)."""


class Conversations:
    """The conversations you have open, in the order Ctrl-N cycles through them.

    Names compare case-insensitively (``#Python`` is ``#python``), keeping the
    spelling they were first added with. *backlog* bounds each conversation's kept
    lines; *replay* bounds a :class:`Catchup`.
    """

    def __init__(self, *, backlog: int = BACKLOG_LINES, replay: int = REPLAY_LINES) -> None:
        self.backlog = backlog
        self.replay = replay
        self._open: dict[str, _Conversation] = {}
        self._current: str | None = None
        self._clock = itertools.count(1)

    @property
    def names(self) -> list[str]:
        """Open conversations in order."""
        return [conv.name for conv in self._open.values()]

    @property
    def current(self) -> str | None:
        """The conversation plain text goes to, or ``None`` when none is open."""
        return None if self._current is None else self._open[self._current].name

    def find(self, name: str) -> str | None:
        """The open conversation called *name* (any case), as spelled when added."""
        conv = self._open.get(name.lower())
        return None if conv is None else conv.name

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._open

    def add(self, name: str, *, switch: bool = False) -> Catchup | None:
        """Open *name* if it is not; make it current if asked or if none is.

        Returns what to replay when this switched to a conversation with unseen lines.
        """
        key = name.lower()
        if key not in self._open:
            self._open[key] = _Conversation(name, deque(maxlen=self.backlog))
        if switch or self._current is None:
            return self._switch(key)
        return None

    def drop(self, name: str) -> Catchup | None:
        """Close *name* and forget its lines; if it was current, the last one becomes current."""
        key = name.lower()
        if self._open.pop(key, None) is None or key != self._current:
            return None
        self._current = None
        return self._switch(next(reversed(self._open))) if self._open else None

    def cycle(self, step: int = 1) -> Catchup | None:
        """Make the next (*step* 1) or previous (-1) conversation current."""
        keys = list(self._open)
        if not keys:
            return None
        if self._current not in keys:
            return self._switch(keys[0])
        return self._switch(keys[(keys.index(self._current) + step) % len(keys)])

    def rename(self, old: str, new: str) -> None:
        """A peer changed nick: their conversation follows, keeping its place and lines."""
        old_key, new_key = old.lower(), new.lower()
        conv = self._open.get(old_key)
        if conv is None or old_key == new_key:
            if conv is not None:
                conv.name = new
            return
        if new_key in self._open:  # already talking to the new nick: keep that one
            del self._open[old_key]
            if self._current == old_key:
                self._switch(new_key)
            return
        conv.name = new
        self._open = {new_key if k == old_key else k: c for k, c in self._open.items()}
        if self._current == old_key:
            self._current = new_key

    def record(self, name: str | None, line: Line, level: Level = Level.OWN) -> bool:
        """Keep *line* in *name*'s backlog (nothing if *name* is not open).

        Returns true when the activity list changed (an unseen line that counts).
        """
        key = None if name is None else name.lower()
        conv = None if key is None else self._open.get(key)
        if conv is None:
            return False
        number = conv.count
        conv.count += 1
        conv.lines.append((number, line))
        if key == self._current or level is Level.OWN:
            return False
        if conv.first_unseen is None:
            conv.first_unseen = number
        if level >= Level.MESSAGE:
            conv.unread += 1
        if level is Level.HIGHLIGHT:
            conv.highlights += 1
        if level > conv.level:
            conv.level = level
            conv.since = next(self._clock)
        return True

    def last(self, count: int, name: str | None = None) -> list[Line]:
        """The last *count* kept lines of *name* (default: the current conversation)."""
        key = (name or self._current or "").lower()
        conv = self._open.get(key)
        if conv is None or count <= 0:
            return []
        return [line for _, line in list(conv.lines)[-count:]]

    def activity(self) -> list[Activity]:
        """Conversations with unseen lines: highlights first, then unread, then notices only;
        within each, the one waiting longest first. The current one is never listed."""
        waiting = [c for c in self._open.values() if c.level > Level.OWN]
        waiting.sort(key=lambda c: (-c.level, c.since))
        return [Activity(c.name, c.unread, c.highlights) for c in waiting]

    def _switch(self, key: str) -> Catchup | None:
        self._current = key
        conv = self._open[key]
        first = conv.first_unseen
        catchup = None
        if first is not None:
            unseen = [line for number, line in conv.lines if number >= first]
            catchup = Catchup(
                conv.name,
                tuple(unseen[-self.replay :] if self.replay > 0 else ()),
                conv.count - first,
                conv.unread,
                conv.highlights,
            )
        conv.first_unseen, conv.unread, conv.highlights = None, 0, 0
        conv.level, conv.since = Level.OWN, 0
        return catchup
