"""The :class:`Context` a handler receives: who spoke, where, and how to answer."""

from __future__ import annotations

import os
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import anyio

from justirc_sdk import MAX_TEXT_BYTES, Session, events
from justirc_sdk.images import ImageInput
from justirc_sdk.protocol import channel_key, nick_key

from .errors import ConversationTimeout
from .retry import retry_rate_limited

if TYPE_CHECKING:
    from .bot import Bot
    from .commands import Command

__all__ = ["Context", "FileInput", "MessageWaiter"]

FileInput = str | os.PathLike[str] | bytes | bytearray
"""What :meth:`Context.send_file` takes: a path, or the file's bytes."""

MAX_REPLY_BYTES = MAX_TEXT_BYTES
"""Longer replies are split into several messages, at line breaks where possible."""


def _split_text(text: str, limit: int = MAX_REPLY_BYTES) -> list[str]:
    if len(text.encode()) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > limit:  # a single enormous line: cut it by characters
            cut = limit // 4
            chunks.extend([current] if current else [])
            current = ""
            chunks.append(line[:cut])
            line = line[cut:]
        if len((current + line).encode()) > limit:
            chunks.append(current)
            current = ""
        current += line
    if current:
        chunks.append(current)
    return [c.rstrip("\n") for c in chunks if c.strip()]


class MessageWaiter:
    """A pending :meth:`Context.wait_for`: listening from creation, awaited for the answer."""

    def __init__(
        self,
        bot: Bot,
        check: Callable[[events.Message], bool],
        timeout: float | None,
    ) -> None:
        self._bot = bot
        self.check = check
        self._timeout = timeout
        self._arrived = anyio.Event()
        self._message: events.Message | None = None
        bot._waiters.append(self)

    def offer(self, message: events.Message) -> bool:
        """Take *message* if it is the awaited one (called by the bot's dispatcher)."""
        if self._message is not None or not self.check(message):
            return False
        self._message = message
        self._arrived.set()
        return True

    def cancel(self) -> None:
        """Stop listening."""
        if self in self._bot._waiters:
            self._bot._waiters.remove(self)

    def __await__(self) -> Generator[Any, None, events.Message]:
        return self._wait().__await__()

    async def _wait(self) -> events.Message:
        try:
            with anyio.move_on_after(self._timeout):
                await self._arrived.wait()
        finally:
            self.cancel()
        if self._message is None:
            raise ConversationTimeout(f"no answer within {self._timeout} s")
        return self._message


class Context:
    """What a handler gets: the event, who sent it, where, and ways to answer.

    ``channel`` is ``None`` for a private message; :meth:`reply` answers where the
    message came from (the channel, or the sender privately).
    """

    def __init__(
        self,
        bot: Bot,
        event: events.Event | None,
        *,
        sender: str | None = None,
        channel: str | None = None,
        text: str = "",
    ) -> None:
        self.bot = bot
        self.event = event
        self.sender = sender
        self.channel = channel
        self.text = text
        self.command: Command | None = None
        """The command being run, if any."""
        self.invoked_with: str | None = None
        """The name or alias the sender typed."""
        self.args = ""
        """The raw text after the command name."""

    def __repr__(self) -> str:
        where = self.channel or "private"
        return f"<Context {self.sender!r} in {where}: {self.text!r}>"

    @classmethod
    def for_event(cls, bot: Bot, event: events.Event) -> Context:
        """A context for any SDK event: sender and channel taken from its fields."""
        sender = None
        for field in ("sender", "nick", "by"):
            value = getattr(event, field, None)
            if isinstance(value, str):
                sender = value
                break
        channel = getattr(event, "channel", None)
        text = getattr(event, "text", "")
        return cls(
            bot,
            event,
            sender=sender,
            channel=channel if isinstance(channel, str) else None,
            text=text if isinstance(text, str) else "",
        )

    @property
    def session(self) -> Session:
        """The bot's SDK session (everything the SDK can do)."""
        return self.bot.session

    @property
    def is_private(self) -> bool:
        """True for a private conversation."""
        return self.channel is None

    @property
    def role(self) -> str | None:
        """The sender's role in the channel (``member`` ... ``owner``), else ``None``."""
        if self.channel is None or self.sender is None:
            return None
        channel = self.session.channels.get(self.channel)
        if channel is None:
            for name, candidate in self.session.channels.items():
                if channel_key(name) == channel_key(self.channel):
                    channel = candidate
        if channel is None:
            return None
        for nick, role in channel.members.items():
            if nick_key(nick) == nick_key(self.sender):
                return role
        return None

    async def reply(self, text: str, *, action: bool = False) -> None:
        """Answer where the message came from, waiting out rate limits.

        Text longer than one message is sent as several.
        """
        for chunk in _split_text(text):
            await self._send_text(chunk, action)

    async def _send_text(self, text: str, action: bool) -> None:
        channel, sender = self.channel, self.sender
        if channel is not None:
            room = self.session.channel(channel)
            await retry_rate_limited(lambda: room.send(text, action=action))
        elif sender is not None:
            await retry_rate_limited(lambda: self.session.send(sender, text, action=action))
        else:
            raise RuntimeError("this context has nobody to reply to")

    async def send_image(
        self,
        image: ImageInput,
        caption: str | None = None,
        *,
        filename: str | None = None,
    ) -> None:
        """Send an image (path, bytes or PIL image) where the message came from."""
        channel, sender = self.channel, self.sender
        if channel is not None:
            room = self.session.channel(channel)
            await retry_rate_limited(lambda: room.send_image(image, caption, filename=filename))
        elif sender is not None:
            await retry_rate_limited(
                lambda: self.session.send_image(sender, image, caption, filename=filename)
            )
        else:
            raise RuntimeError("this context has nobody to send an image to")

    async def send_file(
        self,
        file: FileInput,
        caption: str | None = None,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
    ) -> None:
        """Send any file (a path or bytes), encrypted, where the message came from.

        *filename* defaults to the path's name; *mime_type* to the SDK's guess. A file
        over the session's ``max_file_bytes`` raises
        :class:`~justirc_sdk.errors.FileTooLarge`.
        """
        channel, sender = self.channel, self.sender
        if channel is not None:
            room = self.session.channel(channel)
            await retry_rate_limited(
                lambda: room.send_file(file, caption, filename=filename, mime_type=mime_type)
            )
        elif sender is not None:
            await retry_rate_limited(
                lambda: self.session.send_file(
                    sender, file, caption, filename=filename, mime_type=mime_type
                )
            )
        else:
            raise RuntimeError("this context has nobody to send a file to")

    def wait_for(
        self,
        check: Callable[[events.Message], bool] | None = None,
        timeout: float | None = 60.0,
    ) -> MessageWaiter:
        """Wait for the next message for which *check* is true (for conversations).

        By default: the next message from the same sender in the same place. The
        waiter listens from this call on, so it may be created before asking::

            answer = ctx.wait_for(timeout=30)
            await ctx.reply("Heads or tails?")
            choice = (await answer).text

        A message taken by a waiter is not handled as a command or by ``on_message``.
        Raises :class:`~bots.errors.ConversationTimeout` (a ``TimeoutError``).
        """
        if check is None:
            sender, channel = self.sender, self.channel

            def same_place(message: events.Message) -> bool:
                return (
                    sender is not None
                    and nick_key(message.sender) == nick_key(sender)
                    and (message.channel is None) == (channel is None)
                    and (
                        channel is None
                        or channel_key(message.channel or "") == channel_key(channel)
                    )
                )

            check = same_place
        return MessageWaiter(self.bot, check, timeout)
