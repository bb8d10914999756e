"""The echo bot end to end: channel text, private text, images, files, and its --help."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Awaitable, Callable

import pytest
from PIL import Image

from bots import echo
from bots.testing import BotHarness, bot_harness
from justirc_sdk import events

pytestmark = pytest.mark.anyio
Factory = Callable[..., Awaitable[BotHarness]]


async def test_echo_repeats_channel_and_private_messages(bot_harness_factory: Factory) -> None:
    h = await bot_harness_factory(echo.make_bot())
    bob = await h.user("bob")
    await bob.say("#lobby", "hello, echo")
    reply = await h.next_reply()
    assert isinstance(reply, events.Message)
    assert (reply.text, reply.channel) == ("hello, echo", "#lobby")

    await bob.say_private("just us")
    reply = await bob.next_reply()
    assert isinstance(reply, events.Message)
    assert (reply.text, reply.channel) == ("just us", None)


async def test_echo_describes_images() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, format="JPEG")
    data = buffer.getvalue()
    async with bot_harness(echo.make_bot()) as h:
        bob = await h.user("bob")
        await bob.send_image("#lobby", data, filename="photo.jpg")
        text = await bob.next_text()
        assert text == f"got photo.jpg: 64x48, {echo.format_size(len(data))}"
        await bob.send_image("echo", data, filename="private.jpg")
        reply = await bob.next_reply()
        assert isinstance(reply, events.Message)
        assert reply.channel is None
        assert reply.text.startswith("got private.jpg: 64x48, ")


async def test_echo_describes_files(bot_harness_factory: Factory) -> None:
    h = await bot_harness_factory(echo.make_bot())
    bob = await h.user("bob")
    await bob.send_file("#lobby", b"a,b\n" * 750, filename="table.csv")
    assert await bob.next_text() == "got table.csv: text/csv, 2.9 KiB"
    await bob.send_file("echo", b"%PDF-1.7", filename="paper.pdf")
    reply = await bob.next_reply()
    assert isinstance(reply, events.Message)
    assert (reply.text, reply.channel) == ("got paper.pdf: application/pdf, 8 B", None)


def test_format_size() -> None:
    assert echo.format_size(812) == "812 B"
    assert echo.format_size(1229) == "1.2 KiB"
    assert echo.format_size(146 * 1024 + 500) == "146 KiB"
    assert echo.format_size(3 * 1024 * 1024 + 400_000) == "3.4 MiB"


@pytest.mark.parametrize("module", ["bots.echo", "bots.plotbot"])
def test_example_bots_have_help(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    for flag in ("--host", "--port", "--nick", "--channel", "--tls-fingerprint", "--backend"):
        assert flag in result.stdout
