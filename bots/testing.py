"""Test a bot against a real server, in process: :class:`BotHarness`.

The harness starts an embedded ``justirc-server`` on a free port with a temporary
data directory, runs your bot on it, and hands out test users that talk to the bot
through real, end-to-end encrypted sessions::

    async with bot_harness(make_bot()) as h:
        bob = await h.user("bob")            # connected, in the bot's channels
        await bob.say("#lobby", "!roll 6")
        reply = await h.next_reply()         # the bot's next message bob sees
        assert reply.text.startswith("rolled")

With pytest, import the ``bot_harness_factory`` fixture into your ``conftest.py``::

    from bots.testing import bot_harness_factory  # noqa: F401

    async def test_roll(bot_harness_factory):
        h = await bot_harness_factory(make_bot())
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import pytest

from justirc_sdk import Session, events
from justirc_sdk.images import ImageInput
from justirc_sdk.protocol import channel_key, nick_key
from server.embedded import EmbeddedServer

from .bot import Bot
from .context import FileInput

__all__ = ["BotHarness", "TestUser", "bot_harness", "bot_harness_factory"]

Reply = events.Message | events.ImageMessage | events.FileMessage


class TestUser:
    """A person talking to the bot: a real session plus the bot's replies it saw."""

    __test__ = False  # not a pytest test class

    def __init__(self, harness: BotHarness, session: Session) -> None:
        self.harness = harness
        self.session = session
        self._events = session.events()

    @property
    def nick(self) -> str:
        return self.session.nick

    async def join(self, channel: str) -> None:
        """Join *channel* and wait until the bot (if there) sees this user in it."""
        bot_session = self.harness.bot.session
        there = channel_key(channel) in {channel_key(c) for c in bot_session.channels}
        seen = bot_session.wait_for(
            events.MemberJoined,
            check=lambda e: (
                nick_key(e.nick) == nick_key(self.nick)
                and channel_key(e.channel) == channel_key(channel)
            ),
            timeout=self.harness.timeout,
        )
        try:
            await self.session.join(channel)
            if there:
                await seen
        finally:
            seen.cancel()

    async def say(self, target: str, text: str) -> None:
        """Send *text* to a channel (``#name``) or a nick."""
        if target.startswith("#"):
            await self.session.channel(target).send(text)
        else:
            await self.session.send(target, text)

    async def say_private(self, text: str) -> None:
        """Send *text* to the bot privately."""
        await self.session.send(self.harness.bot.nick, text)

    async def send_image(
        self,
        target: str,
        image: ImageInput,
        caption: str | None = None,
        *,
        filename: str | None = None,
    ) -> None:
        """Send an image to a channel or a nick (the bot's nick for a private one)."""
        if target.startswith("#"):
            await self.session.channel(target).send_image(image, caption, filename=filename)
        else:
            await self.session.send_image(target, image, caption, filename=filename)

    async def send_file(
        self,
        target: str,
        file: FileInput,
        caption: str | None = None,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
    ) -> None:
        """Send a file (a path or bytes) to a channel or a nick (the bot's, privately)."""
        if target.startswith("#"):
            await self.session.channel(target).send_file(
                file, caption, filename=filename, mime_type=mime_type
            )
        else:
            await self.session.send_file(
                target, file, caption, filename=filename, mime_type=mime_type
            )

    async def next_reply(self, timeout: float | None = None) -> Reply:
        """The next message, image or file from the bot that this user receives."""
        bot_nick = nick_key(self.harness.bot.nick)
        limit = self.harness.timeout if timeout is None else timeout
        with anyio.fail_after(limit):
            async for event in self._events:
                if isinstance(event, Reply) and nick_key(event.sender) == bot_nick:
                    return event
        raise AssertionError(f"{self.nick}'s session closed while waiting for a reply")

    async def next_text(self, timeout: float | None = None) -> str:
        """The text of the bot's next message (fails if it sends an image or a file)."""
        reply = await self.next_reply(timeout)
        if not isinstance(reply, events.Message):
            kind = "an image" if isinstance(reply, events.ImageMessage) else "a file"
            raise AssertionError(f"expected a text reply, got {kind} {reply.filename!r}")
        return reply.text

    async def next_file(self, timeout: float | None = None) -> events.FileMessage:
        """The bot's next reply, which must be a file."""
        reply = await self.next_reply(timeout)
        if not isinstance(reply, events.FileMessage):
            raise AssertionError(f"expected a file from the bot, got {reply!r}")
        return reply

    async def close(self) -> None:
        await self._events.aclose()
        await self.session.close()


class BotHarness:
    """A running server, the bot on it, and test users. Use ``async with``.

    *server_options* are :class:`server.config.ServerConfig` fields. *timeout* bounds
    every wait of the harness (replies, joins, reconnects).
    """

    def __init__(
        self,
        bot: Bot,
        *,
        data_dir: Path | str | None = None,
        timeout: float = 10.0,
        **server_options: Any,
    ) -> None:
        self.bot = bot
        self.timeout = timeout
        self._data_dir = Path(data_dir) if data_dir is not None else None
        self._server_options = server_options
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._server: EmbeddedServer | None = None
        self.users: list[TestUser] = []

    @property
    def server(self) -> EmbeddedServer:
        """The embedded server (``.port``, ``.restart()``...)."""
        if self._server is None:
            raise RuntimeError("the harness is not running")
        return self._server

    @property
    def port(self) -> int:
        return self.server.port

    async def __aenter__(self) -> BotHarness:
        data_dir = self._data_dir
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="justirc-bot-test-")
            data_dir = Path(self._tmp.name)
        self._server = EmbeddedServer(data_dir / "data", **self._server_options)
        try:
            await anyio.to_thread.run_sync(self._server.start)
            self.bot.config.host = "127.0.0.1"
            self.bot.config.port = self._server.port
            await self.bot.start()
        except BaseException:
            await self._shutdown()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._shutdown()

    async def _shutdown(self) -> None:
        with anyio.CancelScope(shield=True):
            for user in self.users:
                await user.close()
            self.users.clear()
            await self.bot.stop()
            if self._server is not None:
                await anyio.to_thread.run_sync(self._server.stop)
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    async def user(self, nick: str, *, channels: list[str] | None = None) -> TestUser:
        """Connect a test user and join *channels* (default: the bot's channels)."""
        session = await Session.connect("127.0.0.1", self.port, nick=nick)
        user = TestUser(self, session)
        self.users.append(user)
        for channel in self.bot.config.channels if channels is None else channels:
            await user.join(channel)
        return user

    async def next_reply(
        self, timeout: float | None = None, *, user: TestUser | None = None
    ) -> Reply:
        """The bot's next message seen by *user* (default: the last user created)."""
        if user is None:
            if not self.users:
                raise RuntimeError("create a user with h.user(nick) first")
            user = self.users[-1]
        return await user.next_reply(timeout)

    async def restart_server(self) -> None:
        """Restart the server; return once the bot and every user are back in their channels."""
        sessions = [self.bot.session, *(u.session for u in self.users)]
        back = [s.wait_for(events.Reconnected, timeout=self.timeout * 3) for s in sessions]
        await anyio.to_thread.run_sync(self.server.restart)
        for waiter in back:
            await waiter
        for user in self.users:
            for name in user.session.channels:
                await _wait_member(self.bot.session, name, user.nick, self.timeout)
                await _wait_member(user.session, name, self.bot.nick, self.timeout)


async def _wait_member(session: Session, channel: str, nick: str, timeout: float) -> None:
    """Wait until *session* sees *nick* in *channel* (no-op if it is not in it)."""
    with anyio.fail_after(timeout):
        while True:
            joined = session.wait_for(events.MemberJoined, timeout=timeout)
            try:
                room = {channel_key(c): r for c, r in session.channels.items()}.get(
                    channel_key(channel)
                )
                if room is None or nick_key(nick) in {nick_key(m) for m in room.members}:
                    return
                await joined
            finally:
                joined.cancel()


def bot_harness(bot: Bot, **options: Any) -> BotHarness:
    """``async with bot_harness(bot) as h:`` (see :class:`BotHarness` for *options*)."""
    return BotHarness(bot, **options)


@pytest.fixture
async def bot_harness_factory(
    tmp_path: Path,
) -> AsyncIterator[Callable[..., Awaitable[BotHarness]]]:
    """Fixture: ``h = await bot_harness_factory(bot, **options)``; stopped after the test."""
    count = 0
    async with AsyncExitStack() as stack:

        async def make(bot: Bot, **options: Any) -> BotHarness:
            nonlocal count
            count += 1
            options.setdefault("data_dir", tmp_path / f"harness{count}")
            return await stack.enter_async_context(BotHarness(bot, **options))

        yield make
