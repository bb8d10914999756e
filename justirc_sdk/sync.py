"""A blocking face of the SDK for plain scripts, the REPL and Jupyter.

The same names as the async API, without ``await``::

    from justirc_sdk.sync import Session

    with Session.connect("127.0.0.1", 6667, nick="alice") as s:
        s.send("bob", "hi")
        for event in s.events(timeout=5):
            print(event)

Each blocking session runs the async :class:`justirc_sdk.Session` on its own event
loop in a background thread (an anyio blocking portal), so it works whether or not
the calling thread already runs an event loop (as a Jupyter kernel does). Nothing is
patched; nest-asyncio is not needed.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, TypeVar

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal

from . import events as ev
from . import protocol as p
from .channel import Channel as AsyncChannel
from .errors import RequestTimeout
from .files import FileInput
from .images import ImageInput, ProgressCallback
from .session import EventWaiter
from .session import Session as AsyncSession

__all__ = ["Channel", "Session", "Waiter"]

E = TypeVar("E", bound=ev.Event)
T = TypeVar("T")


class Channel:
    """Blocking counterpart of :class:`justirc_sdk.Channel`."""

    def __init__(self, inner: AsyncChannel, portal: BlockingPortal) -> None:
        self._inner = inner
        self._portal = portal

    def __repr__(self) -> str:
        return repr(self._inner)

    @property
    def name(self) -> str:
        """The channel's name."""
        return self._inner.name

    @property
    def members(self) -> dict[str, str]:
        """Members and their roles."""
        return self._portal.call(lambda: self._inner.members)

    @property
    def topic(self) -> str | None:
        """The topic."""
        return self._portal.call(lambda: self._inner.topic)

    @property
    def joined(self) -> bool:
        """True while you are in the channel."""
        return self._portal.call(lambda: self._inner.joined)

    def send(self, text: str, *, action: bool = False) -> None:
        """Send an encrypted message to the channel."""
        self._portal.call(functools.partial(self._inner.send, text, action=action))

    def send_image(
        self,
        image: ImageInput,
        caption: str | None = None,
        progress: ProgressCallback | None = None,
        **options: Any,
    ) -> None:
        """Send an encrypted image to the channel."""
        self._portal.call(
            functools.partial(self._inner.send_image, image, caption, progress, **options)
        )

    def send_file(
        self,
        file: FileInput,
        caption: str | None = None,
        progress: ProgressCallback | None = None,
        **options: Any,
    ) -> None:
        """Send an encrypted file to the channel (``filename=``, ``mime_type=``)."""
        self._portal.call(
            functools.partial(self._inner.send_file, file, caption, progress, **options)
        )

    def __getattr__(self, name: str) -> Callable[..., Any]:
        """Moderation and the rest: ``kick``, ``ban``, ``set_topic``, ``set_mode``, ..."""
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr  # type: ignore[no-any-return]

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._portal.call(functools.partial(attr, *args, **kwargs))

        return call


class Waiter(Generic[E]):
    """A pending :meth:`Session.expect`; :meth:`result` blocks until the event comes."""

    def __init__(self, inner: EventWaiter[E], portal: BlockingPortal) -> None:
        self._inner = inner
        self._portal = portal
        self._event: E | None = None

    def result(self) -> E:
        """The event (raises ``RequestTimeout`` after the waiter's timeout).

        Like a future's: once the event came, every further call returns it at once.
        """
        if self._event is None:
            self._event = self._portal.call(self._inner._wait)
        return self._event


class Session:
    """Blocking counterpart of :class:`justirc_sdk.Session`; create with :meth:`connect`."""

    def __init__(
        self,
        inner: AsyncSession,
        portal: BlockingPortal,
        portal_cm: AbstractContextManager[BlockingPortal],
    ) -> None:
        self._inner = inner
        self._portal = portal
        self._portal_cm = portal_cm
        self._closed = False

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        *,
        nick: str,
        password: str | None = None,
        tls: bool | ssl.SSLContext | None = None,
        tls_fingerprint: str | None = None,
        keystore: str | Path | None = None,
        passphrase: str | None = None,
        backend: str = "asyncio",
        **options: Any,
    ) -> Session:
        """Connect and register; the arguments are those of the async ``connect``."""
        portal_cm = start_blocking_portal(backend)
        portal = portal_cm.__enter__()
        try:
            inner = portal.call(
                functools.partial(
                    AsyncSession.connect,
                    host,
                    port,
                    nick=nick,
                    password=password,
                    tls=tls,
                    tls_fingerprint=tls_fingerprint,
                    keystore=keystore,
                    passphrase=passphrase,
                    **options,
                )
            )
        except BaseException as exc:
            portal_cm.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return cls(inner, portal, portal_cm)

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Leave the server and stop the background thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._portal.call(self._inner.close)
        finally:
            self._portal_cm.__exit__(None, None, None)

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self._portal.call(functools.partial(fn, *args, **kwargs))

    @property
    def inner(self) -> AsyncSession:
        """The async session underneath (to use from its own loop only)."""
        return self._inner

    @property
    def nick(self) -> str:
        """Your nickname."""
        return self._inner.nick

    @property
    def users(self) -> list[str]:
        """Users online."""
        result: list[str] = self._call(lambda: self._inner.users)
        return result

    @property
    def connected(self) -> bool:
        """True while connected."""
        return self._inner.connected

    @property
    def fingerprint(self) -> str:
        """Your identity fingerprint."""
        return self._inner.fingerprint

    @property
    def channels(self) -> dict[str, Channel]:
        """The channels you are in."""
        inner: dict[str, AsyncChannel] = self._call(lambda: self._inner.channels)
        return {name: Channel(ch, self._portal) for name, ch in inner.items()}

    def send(self, nick: str, text: str, *, action: bool = False) -> None:
        """Send an encrypted private message."""
        self._call(self._inner.send, nick, text, action=action)

    def send_image(
        self,
        nick: str,
        image: ImageInput,
        caption: str | None = None,
        progress: ProgressCallback | None = None,
        **options: Any,
    ) -> None:
        """Send an encrypted image to *nick*."""
        self._call(self._inner.send_image, nick, image, caption, progress, **options)

    def send_file(
        self,
        nick: str,
        file: FileInput,
        caption: str | None = None,
        progress: ProgressCallback | None = None,
        **options: Any,
    ) -> None:
        """Send an encrypted file to *nick* (``filename=``, ``mime_type=``)."""
        self._call(self._inner.send_file, nick, file, caption, progress, **options)

    def join(self, channel: str, password: str | None = None) -> Channel:
        """Join a channel."""
        return Channel(self._call(self._inner.join, channel, password), self._portal)

    def channel(self, name: str) -> Channel:
        """A channel you are in."""
        return Channel(self._call(self._inner.channel, name), self._portal)

    def rotate_keys(self, target: str) -> None:
        """Rotate keys with a user or for a channel."""
        self._call(self._inner.rotate_keys, target)

    def fetch_keys(self, nick: str) -> str:
        """Fetch and pin *nick*'s keys now; returns their fingerprint."""
        result: str = self._call(self._inner.fetch_keys, nick)
        return result

    def safety_number(self, nick: str) -> str:
        """The safety number shared with *nick*."""
        result: str = self._call(self._inner.safety_number, nick)
        return result

    def verify(self, nick: str, safety_number: str) -> None:
        """Mark *nick* verified; raises if the number differs."""
        self._call(self._inner.verify, nick, safety_number)

    def accept_key_change(self, nick: str) -> None:
        """Accept *nick*'s new key."""
        self._call(self._inner.accept_key_change, nick)

    def reject_key_change(self, nick: str) -> None:
        """Refuse *nick*'s new key; the pinned one stays."""
        self._call(self._inner.reject_key_change, nick)

    def trust_state(self, nick: str) -> str | None:
        """Trust state of *nick*."""
        result: str | None = self._call(self._inner.trust_state, nick)
        return result

    def list_channels(self) -> list[p.ChannelSummary]:
        """Channels on the server."""
        result: list[p.ChannelSummary] = self._call(self._inner.list_channels)
        return result

    def whois(self, nick: str) -> p.WhoisReply:
        """What the server tells about *nick*."""
        result: p.WhoisReply = self._call(self._inner.whois, nick)
        return result

    def change_nick(self, nick: str) -> None:
        """Change your nickname."""
        self._call(self._inner.change_nick, nick)

    @property
    def account(self) -> str | None:
        """The account you are logged in to."""
        return self._inner.account

    def create_account(self, password: str) -> None:
        """Create an account named after your nick and log in."""
        self._call(self._inner.create_account, password)

    def login(self, password: str, account: str | None = None) -> None:
        """Log in to an account."""
        self._call(self._inner.login, password, account)

    def logout(self) -> None:
        """Log out."""
        self._call(self._inner.logout)

    def change_password(self, old: str, new: str) -> None:
        """Change your account password."""
        self._call(self._inner.change_password, old, new)

    def delete_account(self, password: str) -> None:
        """Delete your account."""
        self._call(self._inner.delete_account, password)

    def ping(self) -> float:
        """Round-trip time to the server in seconds."""
        result: float = self._call(self._inner.ping)
        return result

    def wait_for(
        self,
        event_type: type[E],
        check: Callable[[E], bool] | None = None,
        timeout: float | None = None,
    ) -> E:
        """Block until the next matching event (see the async ``wait_for``).

        Only events after the call count; to wait for the answer to something you are
        about to do, create the waiter first with :meth:`expect`.
        """
        return self.expect(event_type, check, timeout).result()

    def expect(
        self,
        event_type: type[E],
        check: Callable[[E], bool] | None = None,
        timeout: float | None = None,
    ) -> Waiter[E]:
        """Start waiting now; ``.result()`` blocks for the event later::

        joined = s.expect(events.MemberJoined)
        other.join("#room")
        joined.result()
        """
        # wrapped in a tuple: the portal would otherwise await the (awaitable) waiter itself
        (waiter,) = self._call(lambda: (self._inner.wait_for(event_type, check, timeout),))
        return Waiter(waiter, self._portal)

    def events(self, timeout: float | None = None) -> Iterator[ev.Event]:
        """Iterate events as they come; stops after *timeout* seconds without one."""
        stream = self._call(self._inner.events)

        async def next_event() -> ev.Event | None:
            with anyio.move_on_after(timeout):
                try:
                    event: ev.Event = await stream.__anext__()
                    return event
                except StopAsyncIteration:
                    return None
            raise RequestTimeout(f"no event within {timeout} s")

        try:
            while True:
                try:
                    event = self._portal.call(next_event)
                except RequestTimeout:
                    return
                if event is None:
                    return
                yield event
        finally:
            if not self._closed:
                self._portal.call(stream.aclose)

    def on(self, event_type: type[E]) -> Callable[[Callable[[E], Any]], Callable[[E], Any]]:
        """Decorator: call a (plain) function for each event of *event_type*.

        The function runs on the session's background thread: keep it quick.
        """

        def register(fn: Callable[[E], Any]) -> Callable[[E], Any]:
            self._call(lambda: self._inner.on(event_type)(fn))
            return fn

        return register
