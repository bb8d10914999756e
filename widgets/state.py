"""The chat panel's model: pure Python, fed SDK events, no ipywidgets.

:class:`ChatState` keeps what a chat window shows (conversations, messages, unread
counts, members, topic, trust and key-change alerts, upload progress, received and
sent files) and turns it into render data (escaped HTML blocks). Keeping it free of
widgets makes every panel feature testable without a kernel; the view in
:mod:`widgets.panel` only copies the render data into widgets.

Changes are tracked as *dirty* area names (see :data:`AREAS`) so that the view can
apply a burst of events and then refresh each changed area once. Its records are in
:mod:`widgets.records`, render blocks in :mod:`widgets.blocks` and the handling of each
SDK event in :mod:`widgets.events`; their public names are re-exported here.
"""

from __future__ import annotations

import itertools
import mimetypes
from collections.abc import Iterable
from typing import Literal

from justirc_sdk import events as ev
from justirc_sdk.protocol import channel_key, is_valid_channel, nick_key

from . import render
from .blocks import BLOCK_SIZE, Block, _BlockRenderer, _window_start
from .events import _apply
from .records import PAGE_SIZE, Conversation, Entry, KeyAlert, Upload
from .records import EntryKind as EntryKind

__all__ = [
    "AREAS",
    "BLOCK_SIZE",
    "PAGE_SIZE",
    "Block",
    "ChatState",
    "Conversation",
    "Entry",
    "KeyAlert",
    "Upload",
]

AREAS = (
    "conversations",  # switcher labels, unread counts
    "messages",  # the current conversation's message list
    "members",
    "topic",
    "security",  # fingerprint, safety number, key-change banner, can-send
    "upload",
    "status",
)


class ChatState:
    """Everything the chat panel shows, updated by :meth:`apply` (SDK events) and actions."""

    def __init__(self, own_nick: str, own_fingerprint: str = "") -> None:
        self.own_nick = own_nick
        self.own_fingerprint = own_fingerprint
        self.conversations: dict[str, Conversation] = {}
        self.current: str | None = None
        self.alerts: dict[str, KeyAlert] = {}
        self.safety_numbers: dict[str, str] = {}
        self.trust: dict[str, str] = {}
        self.upload: Upload | None = None
        self.status = ""
        self.connected = True
        self.dirty: set[str] = set(AREAS)
        self._ids = itertools.count(1)
        self._blocks = _BlockRenderer()

    # -- conversations ---------------------------------------------------------------

    @staticmethod
    def key_of(name: str) -> str:
        """The case-insensitive key of a channel or nick."""
        return channel_key(name) if name.startswith("#") else nick_key(name)

    def conversation(self, name: str, *, create: bool = True) -> Conversation | None:
        """The conversation for a channel (``#name``) or a peer nick, created on demand."""
        key = self.key_of(name)
        conv = self.conversations.get(key)
        if conv is None and create:
            kind: Literal["channel", "private"] = "channel" if name.startswith("#") else "private"
            conv = Conversation(key, name, kind)
            self.conversations[key] = conv
            self.dirty.add("conversations")
            if self.current is None:
                self.switch(key)
        return conv

    @property
    def current_conversation(self) -> Conversation | None:
        """The conversation shown in the panel."""
        return None if self.current is None else self.conversations.get(self.current)

    def switch(self, name: str) -> None:
        """Show another conversation; its unread count drops to zero."""
        key = self.key_of(name)
        if key not in self.conversations:
            raise KeyError(f"no conversation {name!r}")
        self.current = key
        self.conversations[key].unread = 0
        self.dirty.update(("conversations", "messages", "members", "topic", "security"))

    def open_private(self, nick: str) -> Conversation:
        """Open (or show) the private conversation with *nick*."""
        conv = self.conversation(nick)
        assert conv is not None
        self.switch(conv.key)
        return conv

    def remove(self, name: str) -> None:
        """Forget a conversation (after leaving a channel and closing it)."""
        key = self.key_of(name)
        self.conversations.pop(key, None)
        if self.current == key:
            self.current = next(iter(self.conversations), None)
        self.dirty.update(AREAS)

    def load_channel(self, name: str, members: dict[str, str], topic: str | None) -> None:
        """Take a channel's current view (used when the panel starts on a live session)."""
        conv = self.conversation(name)
        assert conv is not None
        conv.name, conv.members, conv.topic, conv.joined = name, dict(members), topic, True
        self._touch(conv, "members", "topic", "security")

    # -- messages --------------------------------------------------------------------

    def _add(self, conv: Conversation, entry: Entry) -> None:
        conv.entries.append(entry)
        if entry.kind != "notice" and not entry.own and conv.key != self.current:
            conv.unread += 1
            self.dirty.add("conversations")
        self._touch(conv, "messages")

    def _touch(self, conv: Conversation, *areas: str) -> None:
        if conv.key == self.current:
            self.dirty.update(areas)

    def add_message(
        self,
        conversation: str,
        sender: str,
        text: str,
        timestamp: float,
        *,
        own: bool = False,
        verified: bool = False,
        action: bool = False,
    ) -> Entry:
        """Append a text message (yours with ``own=True``)."""
        conv = self.conversation(conversation)
        assert conv is not None
        entry = Entry(next(self._ids), "message", sender, text, timestamp, own, verified, action)
        self._add(conv, entry)
        return entry

    def add_image(
        self,
        conversation: str,
        sender: str,
        data: bytes,
        timestamp: float,
        *,
        filename: str = "",
        mime_type: str = "image/png",
        width: int = 0,
        height: int = 0,
        caption: str | None = None,
        own: bool = False,
        verified: bool = False,
    ) -> Entry:
        """Append an image (its bytes are shown as an image, never as HTML)."""
        conv = self.conversation(conversation)
        assert conv is not None
        entry = Entry(
            next(self._ids),
            "image",
            sender,
            caption or "",
            timestamp,
            own,
            verified,
            image=data,
            filename=filename,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self._add(conv, entry)
        return entry

    def add_file(
        self,
        conversation: str,
        sender: str,
        data: bytes,
        timestamp: float,
        *,
        filename: str = "file",
        mime_type: str | None = None,
        caption: str | None = None,
        own: bool = False,
        verified: bool = False,
    ) -> Entry:
        """Append a file (shown with its name, size, type and caption, and a way to get it).

        *mime_type* defaults to a guess from *filename* (``application/octet-stream``).
        """
        conv = self.conversation(conversation)
        assert conv is not None
        if not mime_type:
            mime_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        entry = Entry(
            next(self._ids),
            "file",
            sender,
            caption or "",
            timestamp,
            own,
            verified,
            filename=filename,
            mime_type=mime_type,
            data=bytes(data),
            size=len(data),
        )
        self._add(conv, entry)
        return entry

    def find_entry(self, entry_id: int) -> Entry | None:
        """The entry with id *entry_id*, in any conversation (``None`` if unknown)."""
        for conv in self.conversations.values():
            for entry in reversed(conv.entries):
                if entry.id == entry_id:
                    return entry
        return None

    def files(self, name: str | None = None) -> list[Entry]:
        """Every file entry of a conversation (default: the current one), oldest first."""
        conv = self._conv_or_current(name)
        return [] if conv is None else [x for x in conv.entries if x.kind == "file"]

    def add_notice(self, conversation: str, text: str, timestamp: float = 0.0) -> Entry:
        """Append a notice (does not count as unread)."""
        conv = self.conversation(conversation)
        assert conv is not None
        entry = Entry(next(self._ids), "notice", "", text, timestamp)
        self._add(conv, entry)
        return entry

    # -- paging and rendering --------------------------------------------------------

    def visible(self, name: str | None = None) -> list[Entry]:
        """The window of recent entries shown (aligned to blocks, so blocks stay stable)."""
        conv = self._conv_or_current(name)
        if conv is None:
            return []
        return conv.entries[_window_start(conv) :]

    def has_older(self, name: str | None = None) -> bool:
        """True when older entries are hidden ("load older" would show more)."""
        conv = self._conv_or_current(name)
        return conv is not None and _window_start(conv) > 0

    def load_older(self, name: str | None = None) -> int:
        """Show one more page of older entries; returns how many became visible."""
        conv = self._conv_or_current(name)
        if conv is None:
            return 0
        before = _window_start(conv)
        conv.window += PAGE_SIZE
        self._touch(conv, "messages")
        return before - _window_start(conv)

    def blocks(self, name: str | None = None) -> list[Block]:
        """Render data for the visible window: HTML blocks of up to :data:`BLOCK_SIZE`
        messages, with each image and each file as its own block. Block keys are stable
        while messages are appended, so the view only updates the blocks that changed."""
        conv = self._conv_or_current(name)
        if conv is None:
            return []
        return self._blocks.blocks(conv, current=conv.key == self.current)

    def _conv_or_current(self, name: str | None) -> Conversation | None:
        if name is None:
            return self.current_conversation
        return self.conversations.get(self.key_of(name))

    # -- trust -----------------------------------------------------------------------

    def set_trust(self, nick: str, trust: str | None, safety_number: str | None) -> None:
        """Record a contact's trust state and safety number (from the session)."""
        key = nick_key(nick)
        if trust is None:
            self.trust.pop(key, None)
        else:
            self.trust[key] = trust
        if safety_number is None:
            self.safety_numbers.pop(key, None)
        else:
            self.safety_numbers[key] = safety_number
        self.dirty.add("security")

    def acknowledge(self, nick: str) -> None:
        """The user accepted *nick*'s new key: sending to them is allowed again."""
        alert = self.alerts.pop(nick_key(nick), None)
        if alert is not None:
            self.trust[nick_key(nick)] = "unverified"
            conv = self.conversation(nick, create=False)
            if conv is not None:
                self.add_notice(conv.key, f"You accepted the new key of {alert.nick}.")
        self.dirty.update(("security", "status"))

    def can_send(self, name: str | None = None) -> tuple[bool, str]:
        """Whether the conversation accepts a message now, and why not."""
        conv = self._conv_or_current(name)
        if conv is None:
            return False, "Open a channel or a private conversation first."
        if not self.connected:
            return False, "Not connected (reconnecting...)."
        if conv.kind == "channel" and not conv.joined:
            return False, f"You are not in {conv.name}; join it again to send."
        if conv.kind == "private" and conv.key in self.alerts:
            return False, (
                f"{conv.name}'s key changed. Compare safety numbers, then acknowledge the "
                "change to send again."
            )
        return True, ""

    def current_peer(self) -> str | None:
        """The peer nick of the current private conversation."""
        conv = self.current_conversation
        return conv.name if conv is not None and conv.kind == "private" else None

    # -- uploads ---------------------------------------------------------------------

    def start_upload(self, conversation: str, filename: str) -> None:
        """An image or a file is being prepared and encrypted."""
        self.upload = Upload(self.key_of(conversation), filename)
        self.dirty.add("upload")

    def upload_progress(self, done: int, total: int) -> None:
        """Chunks sent so far (the SDK's progress callback)."""
        if self.upload is not None:
            self.upload = Upload(self.upload.conversation, self.upload.filename, done, total)
            self.dirty.add("upload")

    def finish_upload(self, error: str | None = None) -> None:
        """The upload ended (successfully when *error* is ``None``)."""
        if self.upload is not None and error is not None:
            self.status = f"Could not send {self.upload.filename}: {error}"
            self.dirty.add("status")
        self.upload = None
        self.dirty.add("upload")

    # -- events ----------------------------------------------------------------------

    def apply_many(self, events: Iterable[ev.Event]) -> None:
        """Apply a batch of events."""
        for event in events:
            self.apply(event)

    def take_dirty(self) -> set[str]:
        """The areas changed since the last call (and reset)."""
        dirty, self.dirty = self.dirty, set()
        return dirty

    def apply(self, event: ev.Event) -> None:
        """Update the state from one SDK event (see :mod:`widgets.events`)."""
        _apply(self, event)

    # -- render data -----------------------------------------------------------------

    def switcher_options(self) -> list[tuple[str, str]]:
        """``(label, key)`` pairs for the conversation switcher, channels first."""
        convs = sorted(self.conversations.values(), key=lambda c: (c.kind != "channel", c.key))
        return [(c.label, c.key) for c in convs]

    def members_html(self) -> str:
        """The current channel's members with roles."""
        conv = self.current_conversation
        if conv is None or conv.kind != "channel":
            return ""
        return render.members(conv.members, self.trust)

    def topic_html(self) -> str:
        """The current channel's topic."""
        conv = self.current_conversation
        if conv is None or conv.kind != "channel":
            return ""
        return render.topic(conv.name, conv.topic)

    def security_html(self) -> str:
        """The security header: E2E badge, own fingerprint, the contact's safety number."""
        peer = self.current_peer()
        key = nick_key(peer) if peer else ""
        return render.security(
            self.own_nick,
            self.own_fingerprint,
            peer,
            self.safety_numbers.get(key),
            self.trust.get(key),
            self.current_conversation.kind if self.current_conversation else None,
        )

    def banner_alert(self) -> KeyAlert | None:
        """The key change to show in the banner: the current peer's first, else any."""
        peer = self.current_peer()
        if peer is not None and nick_key(peer) in self.alerts:
            return self.alerts[nick_key(peer)]
        return next(iter(self.alerts.values()), None)

    def banner_html(self) -> str:
        """The red key-change banner (empty when there is nothing to acknowledge)."""
        alert = self.banner_alert()
        if alert is None:
            return ""
        return render.key_change_banner(alert.nick, alert.new_fingerprint, len(self.alerts) - 1)

    @staticmethod
    def is_channel(name: str) -> bool:
        """True for a channel name (``#...``)."""
        return is_valid_channel(name)
