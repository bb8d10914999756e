"""Argument conversion, usage lines and help text (pure, no server)."""

from __future__ import annotations

import enum
from typing import Literal

import pytest

from bots.commands import Command, format_command_help, format_help_index, split_args
from bots.errors import UsageError


class Shape(enum.Enum):
    CIRCLE = "circle"
    SQUARE = "square"


async def roll(ctx: object, sides: int = 6, times: int = 1) -> None:
    """Roll dice.

    More words about rolling.
    """


async def scale(ctx: object, factor: float, precise: bool = False) -> None:
    """Scale something."""


async def draw(ctx: object, shape: Shape, size: Literal["s", "m", "l"] = "m") -> None:
    """Draw a shape."""


async def greet(ctx: object, who: str | None = None) -> None:
    """Greet someone."""


async def tag(ctx: object, first: str, *rest: int) -> None:
    """Tag numbers."""


async def say(ctx: object, channel: str, *, text: str) -> None:
    """Say the rest of the line."""


def words(text: str) -> list[str]:
    return [word for word, _ in split_args(text)]


def test_int_arguments_and_defaults() -> None:
    command = Command(roll)
    assert command.parse("") == ([6, 1], {})
    assert command.parse("20") == ([20, 1], {})
    assert command.parse("  20   3 ") == ([20, 3], {})
    assert command.usage("!") == "!roll [sides:int=6] [times:int=1]"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("six", "sides: expected a whole number, got 'six'"),
        ("6 2.5", "times: expected a whole number, got '2.5'"),
        ("6 2 7", "too many arguments"),
    ],
)
def test_bad_arguments_raise_usage_error(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as info:
        Command(roll).parse(text, "!")
    assert info.value.problem == problem
    assert str(info.value) == f"{problem}. Usage: !roll [sides:int=6] [times:int=1]"


def test_float_and_bool() -> None:
    command = Command(scale)
    assert command.parse("1.5") == ([1.5, False], {})
    for word in ("yes", "TRUE", "1", "on", "y"):
        assert command.parse(f"2 {word}")[0] == [2.0, True]
    for word in ("no", "False", "0", "off"):
        assert command.parse(f"2 {word}")[0] == [2.0, False]
    with pytest.raises(UsageError, match="precise: expected yes or no, got 'maybe'"):
        command.parse("2 maybe")
    with pytest.raises(UsageError, match="factor: expected a finite number"):
        command.parse("nan")
    with pytest.raises(UsageError, match="missing factor"):
        command.parse("")
    assert command.usage("!") == "!scale <factor:number> [precise:yes/no=no]"


def test_enum_and_literal_choices() -> None:
    command = Command(draw)
    assert command.parse("circle") == ([Shape.CIRCLE, "m"], {})
    assert command.parse("SQUARE L") == ([Shape.SQUARE, "l"], {})
    with pytest.raises(UsageError, match="shape: expected one of circle, square"):
        command.parse("triangle")
    with pytest.raises(UsageError, match="size: expected one of s, m, l; got 'xl'"):
        command.parse("circle xl")
    assert command.usage("?") == "?draw <shape:circle|square> [size:s|m|l=m]"


def test_optional_and_varargs() -> None:
    assert Command(greet).parse("") == ([None], {})
    assert Command(greet).parse("bob") == (["bob"], {})
    assert Command(greet).usage() == "!greet [who]"
    command = Command(tag)
    assert command.parse("x 1 2 3") == (["x", 1, 2, 3], {})
    assert command.parse("x") == (["x"], {})
    with pytest.raises(UsageError, match="rest: expected a whole number"):
        command.parse("x 1 two")
    assert command.usage() == "!tag <first> [rest:int...]"


def test_rest_of_line_is_verbatim() -> None:
    command = Command(say)
    assert command.parse('#lobby  it\'s "quoted"  and  spaced ') == (
        ["#lobby"],
        {"text": 'it\'s "quoted"  and  spaced'},
    )
    assert command.parse('"#odd name" don\'t stop') == (["#odd name"], {"text": "don't stop"})
    with pytest.raises(UsageError, match="missing text"):
        command.parse("#lobby   ")
    assert command.usage() == "!say <channel> <text...>"


def test_quoted_words() -> None:
    assert words("a \"b c\" 'd e' f") == ["a", "b c", "d e", "f"]
    assert words(r'"say \"hi\"" x') == ['say "hi"', "x"]
    assert words("don't panic") == ["don't", "panic"]
    assert words("\"a\"'b'c") == ["abc"]
    assert words('""') == [""]
    with pytest.raises(ValueError, match="never closed"):
        words('"open')
    with pytest.raises(UsageError, match=r"never closed\. Usage: !tag"):
        Command(tag).parse('"open 1')


def test_bad_signatures_are_refused_at_registration() -> None:
    async def no_ctx() -> None: ...

    async def both(ctx: object, *words: str, text: str) -> None: ...

    async def listy(ctx: object, items: list[int]) -> None: ...

    for fn in (no_ctx, both, listy):
        with pytest.raises(TypeError):
            Command(fn)
    with pytest.raises(ValueError, match="one word"):
        Command(roll, name="two words")


def test_help_text() -> None:
    commands = [Command(roll, aliases=("dice",)), Command(say), Command(greet, hidden=True)]
    index = format_help_index(commands, "!")
    assert index.splitlines() == [
        "Commands (type !help <command> for details):",
        "!roll [sides:int=6] [times:int=1] - Roll dice.",
        "!say <channel> <text...> - Say the rest of the line.",
    ]
    detail = format_command_help(commands[0], "!")
    assert detail.splitlines() == [
        "Usage: !roll [sides:int=6] [times:int=1]",
        "Aliases: !dice",
        "Roll dice.",
        "",
        "More words about rolling.",
    ]
