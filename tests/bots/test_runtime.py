"""Running bots: rate-limit backoff, own messages, lifecycle, reconnect, signals, flags."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from bots import Bot, Context, events, retry_rate_limited
from bots.echo import make_bot as make_echo
from bots.runner import configure
from bots.testing import BotHarness
from justirc_sdk import Session
from justirc_sdk.errors import NoSuchNick, RateLimited
from server.embedded import EmbeddedServer

pytestmark = pytest.mark.anyio
Factory = Callable[..., Awaitable[BotHarness]]
ROOT = Path(__file__).resolve().parents[2]


class FlakySend:
    """A send callable refusing with RateLimited a given number of times."""

    def __init__(self, refusals: int, retry_after: float = 0.5) -> None:
        self.refusals = refusals
        self.retry_after = retry_after
        self.calls = 0

    async def __call__(self, *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        if self.calls <= self.refusals:
            raise RateLimited("slow down", retry_after=self.retry_after * self.calls)
        return "sent"


async def test_retry_waits_out_rate_limits() -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    send = FlakySend(refusals=2)
    assert await retry_rate_limited(send, sleep=fake_sleep) == "sent"
    assert (send.calls, slept) == (3, [0.5, 1.0])

    slept.clear()
    send = FlakySend(refusals=10, retry_after=100)
    with pytest.raises(RateLimited):
        await retry_rate_limited(send, attempts=3, max_delay=2.0, sleep=fake_sleep)
    assert (send.calls, slept) == (3, [2.0, 2.0])

    async def other_error() -> None:
        raise NoSuchNick("gone")

    with pytest.raises(NoSuchNick):
        await retry_rate_limited(other_error, sleep=fake_sleep)


async def test_context_reply_retries_when_rate_limited() -> None:
    class FakeSession:
        nick = "dice"

        def __init__(self) -> None:
            self.send = FlakySend(refusals=2, retry_after=0.001)

    bot = Bot("dice")
    fake = FakeSession()
    bot._session = fake  # type: ignore[assignment]
    ctx = Context(bot, None, sender="bob", channel=None, text="!x")
    await ctx.reply("hello")
    assert fake.send.calls == 3


async def test_own_messages_are_ignored_whatever_the_case() -> None:
    bot = Bot("Dice")
    handled: list[str] = []
    done = anyio.Event()

    @bot.on_message(lambda m: True)
    async def record(ctx: Context) -> None:
        handled.append(ctx.sender or "")
        done.set()

    def message(sender: str) -> events.Message:
        return events.Message(sender=sender, text="hi", channel="#lobby", timestamp=0.0)

    async with anyio.create_task_group() as tg:
        bot._dispatch(message("dICE"), tg)
        bot._dispatch(
            events.ImageMessage("DICE", None, b"", "a.png", "image/png", 1, 1, None, 0), tg
        )
        bot._dispatch(message("bob"), tg)
        with anyio.fail_after(5):
            await done.wait()
    assert handled == ["bob"]


async def test_own_files_are_ignored_whatever_the_case() -> None:
    bot = Bot("Dice")
    handled: list[str] = []
    done = anyio.Event()

    @bot.on(events.FileMessage)
    async def record(ctx: Context, file: events.FileMessage) -> None:
        handled.append(file.sender)
        done.set()

    def file(sender: str) -> events.FileMessage:
        return events.FileMessage(
            sender=sender,
            channel="#lobby",
            data=b"x",
            filename="a.txt",
            mime_type="text/plain",
            size=1,
            caption=None,
            timestamp=0.0,
        )

    async with anyio.create_task_group() as tg:
        bot._dispatch(file("dICE"), tg)
        bot._dispatch(file("bob"), tg)
        with anyio.fail_after(5):
            await done.wait()
    assert handled == ["bob"]


async def test_serve_runs_until_cancelled_and_leaves(tmp_path: Path) -> None:
    with EmbeddedServer(tmp_path / "data") as server:
        bot = Bot("served", channels=["#lobby"], port=server.port)
        async with await Session.connect("127.0.0.1", server.port, nick="watcher") as watcher:
            await watcher.join("#lobby")
            arrived = watcher.wait_for(events.MemberJoined, lambda e: e.nick == "served", 10)
            left = watcher.wait_for(events.MemberLeft, lambda e: e.nick == "served", 10)
            async with anyio.create_task_group() as tg:
                tg.start_soon(bot.serve)
                await arrived
                assert bot.running
                tg.cancel_scope.cancel()
            await left
            assert not bot.running
            with anyio.fail_after(5):
                await bot.wait_stopped()


async def test_bot_answers_again_after_server_restart(bot_harness_factory: Factory) -> None:
    bot = Bot("dice", channels=["#lobby", "#side"])

    @bot.command()
    async def ping(ctx: Context) -> None:
        await ctx.reply("pong")

    h = await bot_harness_factory(bot)
    bob = await h.user("bob", channels=["#lobby"])
    await bob.say("#lobby", "!ping")
    assert await bob.next_text() == "pong"
    await h.restart_server()
    await bob.say("#lobby", "!ping")
    assert await bob.next_text() == "pong"
    await bob.say_private("!ping")
    assert await bob.next_text() == "pong"

    # a configured channel the session lost is joined again after a reconnect
    await bot.session.channel("#side").leave()
    with anyio.fail_after(10):
        while "#side" in bot.session.channels:
            await bot.session.wait_for(events.ChannelLeft, timeout=10)
    await bot._rejoin()
    assert "#side" in bot.session.channels


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("bot_backend", ["asyncio", "trio"])
async def test_sigterm_shuts_the_echo_bot_down_cleanly(tmp_path: Path, bot_backend: str) -> None:
    with EmbeddedServer(tmp_path / "data") as server:
        async with await Session.connect("127.0.0.1", server.port, nick="watcher") as watcher:
            await watcher.join("#lobby")
            arrived = watcher.wait_for(events.MemberJoined, lambda e: e.nick == "echo", 20)
            left = watcher.wait_for(events.MemberLeft, lambda e: e.nick == "echo", 20)
            env = {**os.environ, "JUSTIRC_BACKEND": bot_backend, "PYTHONPATH": str(ROOT)}
            log = tmp_path / "bot.log"
            with log.open("wb") as output:
                process = await anyio.open_process(
                    [sys.executable, "-m", "bots.echo", "--port", str(server.port)],
                    env=env,
                    cwd=ROOT,
                    stdout=output,
                    stderr=output,
                )
            async with process:
                try:
                    await arrived
                    echoed = watcher.wait_for(events.Message, lambda e: e.sender == "echo", 10)
                    await watcher.channel("#lobby").send("are you there?")
                    assert (await echoed).text == "are you there?"
                    process.send_signal(signal.SIGTERM)
                    with anyio.fail_after(10):
                        returncode = await process.wait()
                    assert returncode == 0, log.read_text()
                    assert (await left).nick == "echo"  # the server saw it go
                    assert "received SIGTERM; shutting down" in log.read_text()
                finally:
                    if process.returncode is None:
                        process.kill()
                        with anyio.CancelScope(shield=True):
                            await process.wait()


def test_flags_beat_environment_beat_code() -> None:
    bot = make_echo(port=7000)
    env = {
        "JUSTIRC_HOST": "chat.example",
        "JUSTIRC_PORT": "7001",
        "JUSTIRC_NICK": "envbot",
        "JUSTIRC_CHANNELS": "#a, #b",
        "JUSTIRC_TLS": "yes",
        "JUSTIRC_LOG_LEVEL": "warning",
    }
    args = configure(bot, ["--port", "7002", "--tls-fingerprint", "AB:CD"], env)
    cfg = bot.config
    assert (cfg.host, cfg.port, cfg.nick, cfg.channels) == (
        "chat.example",
        7002,
        "envbot",
        ["#a", "#b"],
    )
    assert (cfg.tls, cfg.tls_fingerprint) == (True, "AB:CD")
    assert (args.log_level, args.backend) == ("WARNING", "asyncio")

    bot = make_echo()
    args = configure(
        bot, ["--channel", "#x", "--channel", "#y", "--nick", "n1", "--backend", "trio"], {}
    )
    assert (bot.config.channels, bot.config.nick, bot.config.port) == (["#x", "#y"], "n1", 6667)
    assert (bot.config.tls, args.backend, args.log_level) == (None, "trio", "INFO")
    with pytest.raises(SystemExit):
        configure(make_echo(), [], {"JUSTIRC_PORT": "many"})
