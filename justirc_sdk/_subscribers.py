"""Per-consumer bounded event buffers.

Every consumer (an ``events()`` iterator, a ``wait_for`` call, the handler runner) has
its own buffer, so a slow consumer never blocks the session or the others. When a
buffer is full, newer events for that consumer are dropped and counted; the consumer
then receives one :class:`~justirc_sdk.events.EventsDropped` saying how many, in the
place where they were lost.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from types import TracebackType

import anyio

from .events import Event, EventsDropped

__all__ = ["EventStream", "Subscriber"]


class _Dropped:
    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 1


class Subscriber:
    """A bounded FIFO of events for one consumer."""

    def __init__(self, max_size: int, accept: Callable[[Event], bool] | None = None) -> None:
        self.max_size = max_size
        self._accept = accept
        self._buffer: deque[Event | _Dropped] = deque()
        self._wake = anyio.Event()
        self.closed = False

    def put(self, event: Event) -> None:
        """Offer an event (never blocks)."""
        if self.closed or (self._accept is not None and not self._accept(event)):
            return
        if len(self._buffer) >= self.max_size:
            last = self._buffer[-1]
            if isinstance(last, _Dropped):
                last.count += 1
            else:
                self._buffer.append(_Dropped())
        else:
            self._buffer.append(event)
        self._wake.set()

    def close(self) -> None:
        """No more events will come; :meth:`get` drains the buffer then ends."""
        self.closed = True
        self._wake.set()

    async def get(self) -> Event | None:
        """The next event, or ``None`` once closed and drained."""
        while not self._buffer:
            if self.closed:
                return None
            self._wake = anyio.Event()
            await self._wake.wait()
        item = self._buffer.popleft()
        return EventsDropped(item.count) if isinstance(item, _Dropped) else item


class EventStream:
    """What ``session.events()`` returns: an async iterator over the session's events.

    It buffers from the moment it is created. Use it as ``async for`` (it ends when the
    session closes) and, to stop early and free its buffer, ``async with`` or
    :meth:`aclose`.
    """

    def __init__(self, subscriber: Subscriber, unsubscribe: Callable[[Subscriber], None]) -> None:
        self._subscriber = subscriber
        self._unsubscribe = unsubscribe

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        event = await self._subscriber.get()
        if event is None:
            self._unsubscribe(self._subscriber)
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        """Stop receiving events."""
        self._subscriber.close()
        self._unsubscribe(self._subscriber)

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
