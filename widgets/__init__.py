"""Chat in Jupyter: an end-to-end encrypted chat panel over a live ``Session``.

::

    import widgets
    panel = await widgets.chat("127.0.0.1", 6667, "alice", channels=["#lab"])
    panel

See ``docs/NOTEBOOKS.md``.
"""

from __future__ import annotations

from .panel import ChatPanel, chat
from .state import ChatState, Conversation, Entry, KeyAlert, Upload

__all__ = ["ChatPanel", "ChatState", "Conversation", "Entry", "KeyAlert", "Upload", "chat"]
