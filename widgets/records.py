"""The chat model's plain records: conversations and their entries, key alerts, uploads.

They live apart from :class:`~widgets.state.ChatState` so that rendering, paging and
event handling can share them without importing the state. Like the rest of the
model they know nothing of ipywidgets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["PAGE_SIZE", "Conversation", "Entry", "EntryKind", "KeyAlert", "Upload"]

PAGE_SIZE = 500
"""Messages shown at first, and added by each "load older"."""

EntryKind = Literal["message", "image", "file", "notice"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a conversation: a message, an image, a file or a notice (joins...).

    For an image, ``image`` holds its bytes; for a file, ``data`` holds the file's bytes
    and ``size`` its length. ``filename``, ``mime_type`` and ``text`` (the caption) come
    from the sender: they are untrusted and only ever rendered escaped.
    """

    id: int
    kind: EntryKind
    sender: str
    text: str
    timestamp: float
    own: bool = False
    verified: bool = False
    action: bool = False
    image: bytes | None = field(default=None, repr=False)
    filename: str = ""
    mime_type: str = ""
    width: int = 0
    height: int = 0
    data: bytes | None = field(default=None, repr=False)
    size: int = 0


@dataclass(slots=True)
class Conversation:
    """A channel or a private conversation with one peer."""

    key: str
    name: str
    kind: Literal["channel", "private"]
    entries: list[Entry] = field(default_factory=list)
    unread: int = 0
    members: dict[str, str] = field(default_factory=dict)
    topic: str | None = None
    joined: bool = True
    window: int = PAGE_SIZE

    @property
    def label(self) -> str:
        """The switcher label: name and unread count (plain text, not HTML)."""
        return f"{self.name} ({self.unread})" if self.unread else self.name


@dataclass(frozen=True, slots=True)
class KeyAlert:
    """A contact presented a new identity key; sending to them waits for acknowledgement."""

    nick: str
    old_fingerprint: str
    new_fingerprint: str


@dataclass(frozen=True, slots=True)
class Upload:
    """An image or a file being encrypted and sent."""

    conversation: str
    filename: str
    done: int = 0
    total: int = 0
    error: str | None = None

    @property
    def percent(self) -> int:
        """0-100 (0 while the total is unknown)."""
        return (100 * self.done // self.total) if self.total else 0
