"""Per-consumer bounded event buffers.

Every consumer (an ``events()`` iterator, a ``wait_for`` call, the handler runner) has
its own buffer, so a slow consumer never blocks the session or the others. When a
buffer is full, newer events for that consumer are dropped and counted; the consumer
then receives one :class:`~justirc_sdk.events.EventsDropped` saying how many, in the
place where they were lost.
"""

from __future__ import annotations

import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Generator
from types import TracebackType
from typing import Any, Generic, TypeVar

import anyio

from .background import DetachedTask
from .errors import NotConnected, RequestTimeout
from .events import Event, EventsDropped, HandlerFailed

__all__ = ["EventHub", "EventStream", "EventWaiter", "Handler", "Subscriber"]

_log = logging.getLogger(__name__)
E = TypeVar("E", bound=Event)
Handler = Callable[[Any], Awaitable[None] | None]


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


class EventWaiter(Generic[E]):
    """What :meth:`Session.wait_for` returns: await it (once) for the event."""

    def __init__(
        self,
        sub: Subscriber,
        unsubscribe: Callable[[Subscriber], None],
        event_type: type[E],
        timeout: float | None,
    ) -> None:
        self._sub = sub
        self._unsubscribe = unsubscribe
        self._event_type = event_type
        self._timeout = timeout

    def __await__(self) -> Generator[Any, None, E]:
        return self._wait().__await__()

    def cancel(self) -> None:
        """Stop waiting without awaiting (frees the buffer)."""
        self._unsubscribe(self._sub)

    async def _wait(self) -> E:
        try:
            with anyio.move_on_after(self._timeout):
                while True:
                    event = await self._sub.get()
                    if event is None:
                        raise NotConnected("the session closed while waiting for an event")
                    if isinstance(event, self._event_type):
                        return event
        finally:
            self._unsubscribe(self._sub)
        raise RequestTimeout(f"no {self._event_type.__name__} event within {self._timeout} s")


class EventHub:
    """Fans a session's events out to streams, waiters and handlers."""

    def __init__(self, buffer: int, name: str) -> None:
        self.buffer = buffer
        self._name = name
        self._subscribers: list[Subscriber] = []
        self._handlers: list[tuple[type[Event], Handler]] = []
        self._handler_sub: Subscriber | None = None
        self._closed = False

    def emit(self, event: Event) -> None:
        """Offer *event* to every consumer (never blocks)."""
        for sub in self._subscribers:
            sub.put(event)

    def subscribe(self, accept: Callable[[Event], bool] | None = None) -> Subscriber:
        """A new consumer buffer (already closed if the hub is)."""
        sub = Subscriber(self.buffer, accept)
        if self._closed:
            sub.close()
        self._subscribers.append(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget a consumer."""
        if sub in self._subscribers:
            self._subscribers.remove(sub)

    def close(self) -> None:
        """End every consumer after it drains its buffer."""
        self._closed = True
        for sub in list(self._subscribers):
            sub.close()

    def stream(self) -> EventStream:
        """An ``async for`` iterator over events from now on."""
        return EventStream(self.subscribe(), self.unsubscribe)

    def waiter(
        self, event_type: type[E], check: Callable[[E], bool] | None, timeout: float | None
    ) -> EventWaiter[E]:
        """A waiter for the next matching event, listening from now on."""

        def accept(event: Event) -> bool:
            return isinstance(event, event_type) and (check is None or check(event))

        return EventWaiter(self.subscribe(accept), self.unsubscribe, event_type, timeout)

    def on(self, event_type: type[E]) -> Callable[[Handler], Handler]:
        """Decorator registering a handler; starts the handler task on first use."""

        def register(fn: Handler) -> Handler:
            self._handlers.append((event_type, fn))
            if self._handler_sub is None:
                self._handler_sub = self.subscribe(
                    lambda e: not isinstance(e, HandlerFailed | EventsDropped)
                )
                DetachedTask(self._handler_loop, self._name).start()
            return fn

        return register

    async def _handler_loop(self) -> None:
        sub = self._handler_sub
        assert sub is not None
        while (event := await sub.get()) is not None:
            for event_type, fn in list(self._handlers):
                if not isinstance(event, event_type):
                    continue
                try:
                    result = fn(event)
                    if inspect.isawaitable(result):
                        await result
                except Exception as exc:
                    name = getattr(fn, "__qualname__", repr(fn))
                    _log.exception("handler %s failed on %r", name, event)
                    self.emit(HandlerFailed(name, event, exc))
