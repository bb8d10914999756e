"""JustIRC SDK: end-to-end encrypted chat on anyio (asyncio and trio).

::

    from justirc_sdk import Session, events

    async with await Session.connect("127.0.0.1", 6667, nick="alice") as session:
        room = await session.join("#general")
        await room.send("hello")
        async for event in session.events():
            if isinstance(event, events.Message):
                print(event.sender, event.text)

See ``docs/API.md``.
"""

from __future__ import annotations

from . import events, protocol
from ._messaging import MAX_TEXT_BYTES
from ._subscribers import EventStream
from .channel import Channel
from .errors import JustIRCError
from .session import EventWaiter, Session

__all__ = [
    "MAX_TEXT_BYTES",
    "Channel",
    "EventStream",
    "EventWaiter",
    "JustIRCError",
    "Session",
    "events",
    "protocol",
]
