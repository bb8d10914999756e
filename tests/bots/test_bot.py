"""The bot framework through a real server: commands, checks, conversations, errors."""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal

import anyio
import pytest

import bots
from bots import Bot, CheckFailure, Context, events
from bots.testing import BotHarness
from tests._clock import FakeClock

pytestmark = pytest.mark.anyio
Factory = Callable[..., Awaitable[BotHarness]]


class Flavour(enum.Enum):
    VANILLA = 1
    CHOCOLATE = 2


def make_bot(clock: FakeClock | None = None) -> Bot:
    bot = Bot("dice", channels=["#lobby"])
    heard: list[str] = []
    bot.heard = heard  # type: ignore[attr-defined]

    @bot.command(aliases=("r",))
    async def roll(ctx: Context, sides: int = 6, times: int = 1) -> None:
        """Roll dice."""
        await ctx.reply(f"roll {sides}x{times}")

    @bot.command()
    async def types(
        ctx: Context,
        ratio: float,
        loud: bool,
        flavour: Flavour,
        size: Literal["s", "m"] = "m",
        *,
        note: str = "",
    ) -> None:
        """Show converted types."""
        await ctx.reply(f"{ratio!r} {loud!r} {flavour.name} {size} [{note}]")

    @bot.command()
    async def where(ctx: Context) -> None:
        """Say where we are."""
        await ctx.reply(f"{ctx.sender} in {ctx.channel or 'private'}")

    @bot.command()
    @bots.channel_only()
    async def chan(ctx: Context) -> None:
        await ctx.reply("channel ok")

    @bot.command()
    @bots.private_only()
    async def secret(ctx: Context) -> None:
        await ctx.reply("private ok")

    @bot.command()
    @bots.role_at_least("op")
    async def kickall(ctx: Context) -> None:
        await ctx.reply("op ok")

    @bots.check(lambda ctx: ctx.sender == "alice")
    @bot.command()
    async def alice_only(ctx: Context) -> None:
        await ctx.reply("alice ok")

    async def refuse_loudly(ctx: Context) -> bool:
        if "please" not in ctx.args:
            raise CheckFailure("Say please.")
        return True

    @bot.command()
    @bots.check(refuse_loudly)
    async def polite(ctx: Context, *words: str) -> None:
        await ctx.reply("thank you")

    @bot.command()
    @bots.cooldown(2, 10, clock=clock or FakeClock(1000.0))
    async def limited(ctx: Context) -> None:
        await ctx.reply("limited ok")

    @bot.command()
    async def guess(ctx: Context) -> None:
        """A conversation."""
        answer = ctx.wait_for(timeout=10)
        await ctx.reply("Pick a number")
        message = await answer
        await ctx.reply(f"you picked {message.text}")

    @bot.command()
    async def hurry(ctx: Context) -> None:
        try:
            await ctx.wait_for(lambda m: False, timeout=0.01)
        except bots.ConversationTimeout:
            await ctx.reply("too slow")

    @bot.command()
    async def boom(ctx: Context) -> None:
        raise RuntimeError("kaboom")

    @bot.on_message(r"(?i)\bhello (\w+)")
    async def hello(ctx: Context, match: object) -> None:
        import re

        assert isinstance(match, re.Match)
        await ctx.reply(f"hi {ctx.sender}, not {match.group(1)}")

    @bot.on_message(lambda message: message.text.startswith("!"))
    async def unknown(ctx: Context) -> None:
        heard.append(ctx.text)
        await ctx.reply(f"no such command: {ctx.text}")

    return bot


async def test_typed_arguments_in_channel_and_private(bot_harness_factory: Factory) -> None:
    h = await bot_harness_factory(make_bot())
    bob = await h.user("bob")
    await bob.say("#lobby", "!roll 20 3")
    assert await bob.next_text() == "roll 20x3"
    await bob.say("#lobby", "!R")
    assert await bob.next_text() == "roll 6x1"
    await bob.say_private("!roll 8")
    reply = await bob.next_reply()
    assert isinstance(reply, events.Message)
    assert (reply.text, reply.channel) == ("roll 8x1", None)
    await bob.say("#lobby", '!types 2.5 yes chocolate s  a "free"  note')
    assert await bob.next_text() == '2.5 True CHOCOLATE s [a "free"  note]'
    await bob.say_private("!types -1e3 off 1")
    assert await bob.next_text() == "-1000.0 False VANILLA m []"
    await bob.say("#lobby", "!where")
    assert await bob.next_text() == "bob in #lobby"
    await bob.say_private("!where")
    assert await bob.next_text() == "bob in private"


async def test_usage_errors_and_help(bot_harness_factory: Factory) -> None:
    h = await bot_harness_factory(make_bot())
    bob = await h.user("bob")
    await bob.say("#lobby", "!roll many")
    assert await bob.next_text() == (
        "sides: expected a whole number, got 'many'. Usage: !roll [sides:int=6] [times:int=1]"
    )
    await bob.say("#lobby", "!types 1 maybe vanilla")
    assert (await bob.next_text()).startswith(
        "loud: expected yes or no, got 'maybe'. Usage: !types"
    )
    await bob.say("#lobby", "!types 1 yes mint")
    assert "flavour: expected one of vanilla, chocolate" in await bob.next_text()
    await bob.say_private('!roll "6')
    assert "never closed" in await bob.next_text()

    await bob.say("#lobby", "!help")
    index = (await bob.next_text()).splitlines()
    assert index[0] == "Commands (type !help <command> for details):"
    assert "!roll [sides:int=6] [times:int=1] - Roll dice." in index
    assert "!help [command] - Show the commands, or how to use one of them." in index
    await bob.say("#lobby", "!help r")
    assert (
        await bob.next_text() == "Usage: !roll [sides:int=6] [times:int=1]\nAliases: !r\nRoll dice."
    )
    await bob.say("#lobby", "!help nope")
    assert await bob.next_text() == "No command named !nope. Try !help."


async def test_unknown_commands_and_patterns_reach_on_message(
    bot_harness_factory: Factory,
) -> None:
    bot = make_bot()
    h = await bot_harness_factory(bot)
    bob = await h.user("bob")
    await bob.say("#lobby", "!nosuch thing")
    assert await bob.next_text() == "no such command: !nosuch thing"
    await bob.say("#lobby", "well HELLO world")
    assert await bob.next_text() == "hi bob, not world"
    await bob.say("#lobby", "!roll")  # a command does not reach on_message handlers
    assert await bob.next_text() == "roll 6x1"
    assert bot.heard == ["!nosuch thing"]  # type: ignore[attr-defined]


async def test_checks(bot_harness_factory: Factory) -> None:
    bot = make_bot()
    h = await bot_harness_factory(bot)
    bob = await h.user("bob")
    await bob.say_private("!chan")
    assert await bob.next_text() == "This command only works in a channel."
    await bob.say("#lobby", "!chan")
    assert await bob.next_text() == "channel ok"
    await bob.say("#lobby", "!secret")
    assert await bob.next_text() == "This command only works in a private message."
    await bob.say_private("!secret")
    assert await bob.next_text() == "private ok"
    await bob.say("#lobby", "!alice_only")
    assert await bob.next_text() == "You can't use !alice_only here."
    await bob.say("#lobby", "!polite now")
    assert await bob.next_text() == "Say please."
    await bob.say("#lobby", "!polite now please")
    assert await bob.next_text() == "thank you"

    await bob.say("#lobby", "!kickall")
    assert await bob.next_text() == "You need to be op or higher in #lobby."
    await bob.say_private("!kickall")
    assert await bob.next_text() == "This command only works in a channel."
    promoted = bot.session.wait_for(events.RoleChanged, lambda e: e.nick == "bob", timeout=10)
    await bot.session.channel("#lobby").op("bob")  # the bot created #lobby: it is the owner
    await promoted
    await bob.say("#lobby", "!kickall")
    assert await bob.next_text() == "op ok"


async def test_cooldown_per_user(bot_harness_factory: Factory) -> None:
    clock = FakeClock(1000.0)
    h = await bot_harness_factory(make_bot(clock))
    bob = await h.user("bob")
    alice = await h.user("alice")
    for _ in range(2):
        await bob.say("#lobby", "!limited")
        assert await bob.next_text() == "limited ok"
    clock.now += 4
    await bob.say("#lobby", "!limited")
    assert await bob.next_text() == "Slow down: try again in 6.0 s."
    await alice.say_private("!limited")  # another user has their own allowance
    assert await alice.next_text() == "limited ok"
    clock.now += 6
    await bob.say("#lobby", "!limited")
    assert await bob.next_text() == "limited ok"


async def test_conversation_with_wait_for(bot_harness_factory: Factory) -> None:
    bot = make_bot()
    h = await bot_harness_factory(bot)
    bob = await h.user("bob")
    alice = await h.user("alice")
    await bob.say("#lobby", "!guess")
    assert await bob.next_text() == "Pick a number"
    await alice.next_text()  # alice sees the question too
    await alice.say("#lobby", "!nosuch 3")  # someone else: not the answer
    assert await bob.next_text() == "no such command: !nosuch 3"
    await bob.say_private("!nosuch 5")  # bob, but elsewhere: not the answer
    assert await bob.next_text() == "no such command: !nosuch 5"
    await bob.say("#lobby", "!nosuch 7")  # the answer is taken by the conversation
    assert await bob.next_text() == "you picked !nosuch 7"
    assert bot.heard == ["!nosuch 3", "!nosuch 5"]  # type: ignore[attr-defined]
    await bob.say("#lobby", "!hurry")
    assert await bob.next_text() == "too slow"


async def test_default_error_reply_logs_the_traceback(
    bot_harness_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    h = await bot_harness_factory(make_bot())
    bob = await h.user("bob")
    with caplog.at_level(logging.ERROR, logger="bots"):
        await bob.say("#lobby", "!boom")
        assert await bob.next_text() == "Sorry, that command failed."
    failures = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert failures, "the traceback was not logged"
    assert "kaboom" in str(failures[0].exc_info[1])  # type: ignore[index]
    await bob.say("#lobby", "!roll 4")  # the bot carries on
    assert await bob.next_text() == "roll 4x1"


async def test_on_error_hooks_replace_the_default_reply(bot_harness_factory: Factory) -> None:
    bot = make_bot()
    seen: list[tuple[str | None, str]] = []

    @bot.on_error
    async def record(ctx: Context | None, exc: Exception) -> None:
        seen.append((ctx.text if ctx else None, repr(exc)))
        if ctx is not None:
            await ctx.reply(f"hook saw {exc}")

    @bot.on_error
    def broken_hook(ctx: Context | None, exc: Exception) -> None:
        raise ValueError("a hook that fails is logged, the others still run")

    h = await bot_harness_factory(bot)
    bob = await h.user("bob")
    await bob.say("#lobby", "!boom")
    assert await bob.next_text() == "hook saw kaboom"
    assert seen == [("!boom", "RuntimeError('kaboom')")]


async def test_periodic_tasks_keep_their_schedule(bot_harness_factory: Factory) -> None:
    bot = Bot("ticker", channels=["#lobby"])
    good_runs: list[int] = []
    bad_runs: list[int] = []
    reported: list[tuple[object, str]] = []
    done = anyio.Event()

    @bot.every(seconds=0.01)
    async def good(b: Bot) -> None:
        assert b is bot
        good_runs.append(1)

    @bot.every(seconds=0.01, immediately=True)
    def bad(b: Bot) -> None:
        bad_runs.append(1)
        if len(bad_runs) >= 3 and len(good_runs) >= 3:
            done.set()
        raise RuntimeError(f"failure {len(bad_runs)}")

    @bot.on_error
    def record(ctx: Context | None, exc: Exception) -> None:
        reported.append((ctx, str(exc)))

    await bot_harness_factory(bot)
    with anyio.fail_after(10):
        await done.wait()
    assert reported[:3] == [(None, "failure 1"), (None, "failure 2"), (None, "failure 3")]


async def test_file_handlers_reply_with_files_where_the_file_came_from(
    bot_harness_factory: Factory, tmp_path: Path
) -> None:
    bot = Bot("files", channels=["#lobby"])
    report = tmp_path / "report.csv"
    report.write_bytes(b"n,total\n1,42\n")

    @bot.on(events.FileMessage)
    async def reverse(ctx: Context, file: events.FileMessage) -> None:
        if file.filename == "boom.bin":
            raise RuntimeError("kaboom")
        await ctx.send_file(
            file.data[::-1],
            f"{ctx.sender} sent {file.size} bytes",
            filename=f"reversed-{file.filename}",
            mime_type=file.mime_type,
        )

    @bot.command(name="report")
    async def send_report(ctx: Context) -> None:
        await ctx.send_file(report, "latest")

    h = await bot_harness_factory(bot)
    bob = await h.user("bob")
    await bob.send_file("#lobby", b"abc", filename="x.txt")
    got = await bob.next_file()
    assert (got.data, got.filename, got.mime_type, got.caption, got.channel) == (
        b"cba",
        "reversed-x.txt",
        "text/plain",
        "bob sent 3 bytes",
        "#lobby",
    )

    await bob.send_file("files", b"\x00\x01\x02", filename="p.bin")  # privately
    got = await bob.next_file()
    assert (got.data, got.filename, got.channel) == (b"\x02\x01\x00", "reversed-p.bin", None)

    await bob.say("#lobby", "!report")
    got = await bob.next_file()
    assert (got.data, got.filename, got.caption) == (b"n,total\n1,42\n", "report.csv", "latest")

    await bob.send_file("#lobby", b"x", filename="boom.bin")  # a failing file handler
    assert await bob.next_text() == bots.bot.FAILED_REPLY

    await bob.say("#lobby", "!report")
    with pytest.raises(AssertionError, match=r"got a file 'report\.csv'"):
        await bob.next_text()
