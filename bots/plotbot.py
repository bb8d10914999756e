"""The plot bot: dice, bar charts drawn with Pillow, and channel activity over time.

Shows typed command arguments (numbers, choices, the rest of the line), checks, a
cooldown, a periodic task and image replies. Run it with
``python -m bots.plotbot --port 6667 --channel #lobby``; ``--help`` lists the options.
"""

from __future__ import annotations

import enum
import random
from collections import deque
from collections.abc import Sequence
from typing import Any

import anyio
from PIL import Image, ImageDraw

from justirc_sdk import events

from .bot import Bot
from .checks import cooldown, role_at_least
from .context import Context
from .errors import CommandError

__all__ = ["Color", "PlotState", "draw_bars", "main", "make_bot"]


class Color(enum.Enum):
    """Bar colours the ``!color`` command accepts."""

    BLUE = (52, 101, 164)
    GREEN = (78, 154, 6)
    ORANGE = (245, 121, 0)
    RED = (204, 0, 0)
    PURPLE = (117, 80, 123)


def draw_bars(
    values: Sequence[float],
    *,
    title: str = "",
    color: tuple[int, int, int] = Color.BLUE.value,
    size: tuple[int, int] = (320, 200),
) -> Image.Image:
    """A small bar chart of *values* (negative bars hang below the zero line)."""
    width, height = size
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    top, bottom, left, right = (22 if title else 8), height - 8, 8, width - 8
    if title:
        draw.text((left, 4), title[:60], fill=(40, 40, 40))
    if not values:
        return image
    high, low = max(0.0, *values), min(0.0, *values)
    span = (high - low) or 1.0
    zero_y = top + (bottom - top) * high / span
    slot = (right - left) / len(values)
    gap = max(1.0, slot * 0.15)
    for i, value in enumerate(values):
        x0 = left + i * slot + gap / 2
        x1 = left + (i + 1) * slot - gap / 2
        y = top + (bottom - top) * (high - value) / span
        draw.rectangle([x0, min(y, zero_y), max(x0, x1), max(y, zero_y)], fill=color)
    draw.line([left, zero_y, right, zero_y], fill=(90, 90, 90))
    return image


class PlotState:
    """What the plot bot remembers: chart settings and message counts per period."""

    def __init__(self, periods: int = 48) -> None:
        self.color = Color.BLUE
        self.title = ""
        self.history: deque[int] = deque(maxlen=periods)
        self.current = 0
        self.ticks = 0
        self._ticked: anyio.Event | None = None

    def tick(self) -> None:
        """Close the current period (the periodic task calls this)."""
        self.history.append(self.current)
        self.current = 0
        self.ticks += 1
        if self._ticked is not None:
            self._ticked.set()
            self._ticked = None

    async def wait_ticks(self, count: int) -> None:
        """Wait until at least *count* periods have been closed."""
        while self.ticks < count:
            if self._ticked is None:
                self._ticked = anyio.Event()
            await self._ticked.wait()


def make_bot(
    nick: str = "plotbot",
    channels: Sequence[str] = ("#lobby",),
    *,
    interval: float = 60.0,
    **options: Any,
) -> Bot:
    """A plot bot (not yet connected); *interval* is the activity period in seconds."""
    bot = Bot(
        nick,
        channels=channels,
        description="Plot bot: dice, bar charts and channel activity, drawn with Pillow.",
        **options,
    )
    state = PlotState()
    bot.state = state  # type: ignore[attr-defined]

    @bot.command(aliases=("dice",))
    async def roll(ctx: Context, sides: int = 6, times: int = 1) -> None:
        """Roll dice: `!roll 20 3` rolls three twenty-sided dice."""
        if not 2 <= sides <= 1000:
            raise CommandError("sides must be between 2 and 1000")
        if not 1 <= times <= 100:
            raise CommandError("times must be between 1 and 100")
        rolls = [random.randint(1, sides) for _ in range(times)]
        shown = ", ".join(map(str, rolls))
        await ctx.reply(f"rolled {shown}" + (f" (total {sum(rolls)})" if times > 1 else ""))

    @bot.command()
    @cooldown(5, 10)
    async def bars(ctx: Context, *values: float) -> None:
        """Draw a bar chart of the numbers given: `!bars 3 1 4 1 5`."""
        if not values:
            raise CommandError(f"give me some numbers, e.g. {bot.prefix}bars 3 1 4 1 5")
        if len(values) > 100:
            raise CommandError("at most 100 numbers, please")
        image = draw_bars(values, title=state.title, color=state.color.value)
        await ctx.send_image(image, f"{len(values)} bars", filename="bars.png")

    @bot.command()
    async def activity(ctx: Context, periods: int = 12) -> None:
        """Chart how many messages were seen per period (the last one is still open)."""
        if not 1 <= periods <= 48:
            raise CommandError("periods must be between 1 and 48")
        counts = [*list(state.history)[-(periods - 1) :], state.current][-periods:]
        image = draw_bars(counts, title=state.title or "messages", color=state.color.value)
        await ctx.send_image(
            image,
            f"messages in the last {len(counts)} periods: {sum(counts)}",
            filename="activity.png",
        )

    @bot.command()
    async def color(ctx: Context, color: Color) -> None:
        """Choose the bar colour."""
        state.color = color
        await ctx.reply(f"bars are {color.name.lower()} now")

    @bot.command()
    async def title(ctx: Context, *, text: str = "") -> None:
        """Set the chart title (the rest of the line; nothing clears it)."""
        state.title = text
        await ctx.reply(f"title set to {text!r}" if text else "title cleared")

    @bot.command()
    @role_at_least("op")
    async def reset(ctx: Context) -> None:
        """Forget the activity history (channel ops only)."""
        state.history.clear()
        state.current = 0
        await ctx.reply("activity history cleared")

    @bot.on(events.Message)
    async def count(ctx: Context, message: events.Message) -> None:
        state.current += 1

    @bot.every(seconds=interval)
    async def close_period(bot: Bot) -> None:
        state.tick()

    return bot


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m bots.plotbot``."""
    make_bot().run(argv)


if __name__ == "__main__":
    main()
