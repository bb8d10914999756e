"""The plot bot: typed commands, its periodic task and its Pillow image replies."""

from __future__ import annotations

import io
import re
from collections.abc import Awaitable, Callable

import anyio
import pytest
from PIL import Image

from bots import events, plotbot
from bots.testing import BotHarness

pytestmark = pytest.mark.anyio
Factory = Callable[..., Awaitable[BotHarness]]


def open_image(reply: events.Message | events.ImageMessage) -> Image.Image:
    assert isinstance(reply, events.ImageMessage), f"expected an image, got {reply!r}"
    return Image.open(io.BytesIO(reply.data)).convert("RGB")


def test_draw_bars_scales_to_the_largest_value() -> None:
    image = plotbot.draw_bars([1, 4, -2], color=(255, 0, 0), size=(90, 100))
    red = [(x, y) for x in range(90) for y in range(100) if image.getpixel((x, y)) == (255, 0, 0)]
    columns: dict[int, set[int]] = {x // 30: set() for x, _ in red}
    for x, y in red:
        columns[x // 30].add(y)
    heights = {i: max(ys) - min(ys) for i, ys in columns.items()}
    assert heights[1] > heights[2] > heights[0] > 0  # 4 > |-2| > 1


async def test_roll_and_its_argument_errors(bot_harness_factory: Factory) -> None:
    h = await bot_harness_factory(plotbot.make_bot())
    bob = await h.user("bob")
    await bob.say("#lobby", "!roll 20 3")
    match = re.fullmatch(r"rolled (\d+), (\d+), (\d+) \(total (\d+)\)", await bob.next_text())
    assert match is not None
    rolls = [int(g) for g in match.groups()[:3]]
    assert all(1 <= r <= 20 for r in rolls) and sum(rolls) == int(match.group(4))
    await bob.say_private("!dice")
    assert re.fullmatch(r"rolled [1-6]", await bob.next_text())
    await bob.say("#lobby", "!roll 1")
    assert await bob.next_text() == "sides must be between 2 and 1000"
    await bob.say("#lobby", "!roll six")
    assert (await bob.next_text()).endswith("Usage: !roll [sides:int=6] [times:int=1]")


async def test_bar_chart_image_reply(bot_harness_factory: Factory) -> None:
    h = await bot_harness_factory(plotbot.make_bot())
    bob = await h.user("bob")
    await bob.say("#lobby", "!color red")
    assert await bob.next_text() == "bars are red now"
    await bob.say("#lobby", "!title   Pies eaten, per day ")
    assert await bob.next_text() == "title set to 'Pies eaten, per day'"
    await bob.say("#lobby", "!bars 3 1 4 1.5 5")
    reply = await bob.next_reply()
    image = open_image(reply)
    assert isinstance(reply, events.ImageMessage)
    assert (reply.filename, reply.caption, image.size) == ("bars.png", "5 bars", (320, 200))
    assert plotbot.Color.RED.value in {color for _, color in image.getcolors(10_000) or []}
    await bob.say("#lobby", "!bars")
    assert await bob.next_text() == "give me some numbers, e.g. !bars 3 1 4 1 5"
    await bob.say("#lobby", "!bars 1 two")
    assert "values: expected a number, got 'two'" in await bob.next_text()
    await bob.say("#lobby", "!color pink")
    assert "expected one of blue, green, orange, red, purple" in await bob.next_text()


async def test_activity_chart_from_the_periodic_task(bot_harness_factory: Factory) -> None:
    bot = plotbot.make_bot(interval=0.02)
    state: plotbot.PlotState = bot.state  # type: ignore[attr-defined]
    h = await bot_harness_factory(bot)
    bob = await h.user("bob")
    with anyio.fail_after(10):
        await state.wait_ticks(3)
    await bob.say("#lobby", "!activity 3")
    reply = await bob.next_reply()
    assert open_image(reply).size == (320, 200)
    assert isinstance(reply, events.ImageMessage)
    assert reply.caption is not None
    assert reply.caption.startswith("messages in the last 3 periods: ")
    await bob.say("#lobby", "!reset")
    assert await bob.next_text() == "You need to be op or higher in #lobby."
