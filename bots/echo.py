"""The echo bot: repeats what it hears and describes the images and files it is sent.

Run it with ``python -m bots.echo --host 127.0.0.1 --port 6667 --channel #lobby``;
``--help`` lists every option.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from justirc_sdk import events
from justirc_sdk.files import format_size

from .bot import Bot
from .context import Context

__all__ = ["format_size", "main", "make_bot"]


def make_bot(nick: str = "echo", channels: Sequence[str] = ("#lobby",), **options: Any) -> Bot:
    """An echo bot (not yet connected); *options* go to :class:`~bots.Bot`."""
    bot = Bot(
        nick,
        channels=channels,
        description="Echo bot: repeats channel and private messages, describes images and files.",
        **options,
    )

    @bot.on_message(lambda message: True)
    async def echo(ctx: Context, message: object) -> None:
        event = ctx.event
        action = isinstance(event, events.Message) and event.action
        await ctx.reply(ctx.text, action=action)

    @bot.on(events.ImageMessage)
    async def describe(ctx: Context, image: events.ImageMessage) -> None:
        size = format_size(len(image.data))
        await ctx.reply(f"got {image.filename}: {image.width}x{image.height}, {size}")

    @bot.on(events.FileMessage)
    async def describe_file(ctx: Context, file: events.FileMessage) -> None:
        size = format_size(len(file.data))
        await ctx.reply(f"got {file.filename}: {file.mime_type}, {size}")

    return bot


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m bots.echo``."""
    make_bot().run(argv)


if __name__ == "__main__":
    main()
