"""Commands: turning ``!roll 6 2`` into ``roll(ctx, 6, 2)``, usage lines and help text.

This module is pure (no I/O). A :class:`Command` reads its callback's signature once,
at registration, and then converts the words after the command name with the
annotations: ``int``, ``float``, ``str``, ``bool``, an :class:`~enum.Enum` or a
``Literal[...]`` of choices, ``X | None``, any class built from one string, ``*args``
(the remaining words) and one keyword-only parameter (the rest of the line, verbatim).
Words may be quoted with ``"`` or ``'`` to keep spaces in them.
"""

from __future__ import annotations

import enum
import inspect
import re
import types
import typing
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union

from .errors import UsageError

__all__ = [
    "Command",
    "CommandCallback",
    "Param",
    "convert_bool",
    "format_command_help",
    "format_help_index",
    "split_args",
]

CommandCallback = Callable[..., Awaitable[None]]
Check = Callable[[Any], Any]

_TRUE = frozenset({"yes", "y", "true", "t", "1", "on"})
_FALSE = frozenset({"no", "n", "false", "f", "0", "off"})
_NAME_RE = re.compile(r"[^\s]+")


def convert_bool(word: str) -> bool:
    """``yes/no``, ``true/false``, ``1/0``, ``on/off`` (any case) to a bool."""
    lowered = word.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected yes or no, got {word!r}")


def _convert_int(word: str) -> int:
    try:
        return int(word)
    except ValueError:
        raise ValueError(f"expected a whole number, got {word!r}") from None


def _convert_float(word: str) -> float:
    try:
        value = float(word)
    except ValueError:
        raise ValueError(f"expected a number, got {word!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"expected a finite number, got {word!r}")
    return value


def _choice_converter(choices: Sequence[tuple[str, Any]]) -> Callable[[str], Any]:
    def convert(word: str) -> Any:
        for label, value in choices:
            if label.lower() == word.lower():
                return value
        names = ", ".join(label for label, _ in choices)
        raise ValueError(f"expected one of {names}; got {word!r}")

    return convert


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of a command as the parser sees it."""

    name: str
    kind: Literal["positional", "varargs", "rest"]
    convert: Callable[[str], Any]
    type_label: str
    required: bool
    default: Any = None

    def label(self) -> str:
        """``sides:int``, or just ``text`` for a string."""
        return self.name if self.type_label == "str" else f"{self.name}:{self.type_label}"

    def usage(self) -> str:
        """How the parameter appears in a usage line."""
        if self.kind == "varargs":
            return f"[{self.label()}...]"
        if self.kind == "rest":
            return f"<{self.label()}...>" if self.required else f"[{self.label()}...]"
        if self.required:
            return f"<{self.label()}>"
        if self.default is None:
            return f"[{self.label()}]"
        return f"[{self.label()}={_show_default(self.default)}]"


def _show_default(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        return value.name.lower()
    text = str(value)
    return f'"{text}"' if not text or any(c.isspace() for c in text) else text


def _unwrap_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
        raise TypeError(f"unsupported union annotation {annotation!r}: use one type or X | None")
    return annotation


def _converter_for(annotation: Any) -> tuple[Callable[[str], Any], str]:
    """The conversion function and the usage label for an annotation."""
    annotation = _unwrap_optional(annotation)
    if annotation is inspect.Parameter.empty or annotation is str or annotation is Any:
        return str, "str"
    if annotation is bool:
        return convert_bool, "yes/no"
    if annotation is int:
        return _convert_int, "int"
    if annotation is float:
        return _convert_float, "number"
    if typing.get_origin(annotation) is Literal:
        values = typing.get_args(annotation)
        choices = [(str(v).lower() if isinstance(v, bool) else str(v), v) for v in values]
        return _choice_converter(choices), "|".join(label for label, _ in choices)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        members = list(annotation)
        choices = [(m.name.lower(), m) for m in members]
        choices += [(str(m.value), m) for m in members if isinstance(m.value, str | int)]
        labels = "|".join(m.name.lower() for m in members)
        return _choice_converter(choices), labels
    if isinstance(annotation, type):
        cls = annotation

        def construct(word: str) -> Any:
            try:
                return cls(word)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"not a valid {cls.__name__}: {exc}") from None

        return construct, cls.__name__.lower()
    raise TypeError(f"cannot convert command arguments to {annotation!r}")


def split_args(text: str) -> Iterator[tuple[str, int]]:
    """Yield ``(word, end)`` for each word of *text*; ``end`` indexes just past it.

    Words are separated by whitespace. A word that starts with ``"`` or ``'`` runs to
    the matching quote (a backslash escapes the quote or a backslash inside it), so
    ``"two words"`` is one word. A quote inside a word (``don't``) is an ordinary
    character. Raises :class:`ValueError` for a quote that is never closed.
    """
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return
        word: list[str] = []
        while i < n and not text[i].isspace():
            if text[i] in "\"'" and (not word or text[i - 1] in "\"'"):
                quote, i = text[i], i + 1
                while True:
                    if i >= n:
                        raise ValueError(f"a {quote} quote is never closed")
                    char = text[i]
                    if char == "\\" and i + 1 < n and text[i + 1] in (quote, "\\"):
                        word.append(text[i + 1])
                        i += 2
                    elif char == quote:
                        i += 1
                        break
                    else:
                        word.append(char)
                        i += 1
            else:
                word.append(text[i])
                i += 1
        yield "".join(word), i


class Command:
    """A registered command. Made by :meth:`Bot.command`; callable like its function."""

    def __init__(
        self,
        callback: CommandCallback,
        *,
        name: str | None = None,
        aliases: Sequence[str] = (),
        help: str | None = None,
        hidden: bool = False,
    ) -> None:
        self.callback = callback
        self.name = (name or callback.__name__).lower()
        self.aliases = tuple(a.lower() for a in aliases)
        for word in (self.name, *self.aliases):
            if not _NAME_RE.fullmatch(word):
                raise ValueError(f"command name {word!r} must be one word")
        self.help = help if help is not None else (inspect.getdoc(callback) or "")
        self.hidden = hidden
        self.checks: list[Check] = list(getattr(callback, "__bot_checks__", ()))
        self.params = _params_of(callback)

    def __repr__(self) -> str:
        return f"<Command {self.name}>"

    async def __call__(self, *args: Any, **kwargs: Any) -> None:
        await self.callback(*args, **kwargs)

    @property
    def brief(self) -> str:
        """The first line of the help text."""
        return self.help.strip().splitlines()[0] if self.help.strip() else ""

    def usage(self, prefix: str = "!") -> str:
        """``!roll [sides:int=6] [times:int=1]``."""
        return " ".join([f"{prefix}{self.name}", *(p.usage() for p in self.params)])

    def parse(self, text: str, prefix: str = "!") -> tuple[list[Any], dict[str, Any]]:
        """Convert the argument text into the callback's ``*args`` and ``**kwargs``.

        Raises :class:`UsageError` (with the usage line) when the words do not fit.
        """
        usage = self.usage(prefix)
        positional = [p for p in self.params if p.kind == "positional"]
        rest = next((p for p in self.params if p.kind == "rest"), None)
        varargs = next((p for p in self.params if p.kind == "varargs"), None)
        words = split_args(text)
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        end = 0
        try:
            for param in positional:
                item = next(words, None)
                if item is None:
                    if param.required:
                        raise UsageError(f"missing {param.name}", usage)
                    args.append(param.default)
                    continue
                word, end = item
                args.append(_convert(param, word, usage))
            if rest is not None:
                remainder = text[end:].strip()
                if not remainder and rest.required:
                    raise UsageError(f"missing {rest.name}", usage)
                kwargs[rest.name] = _convert(rest, remainder, usage) if remainder else rest.default
            elif varargs is not None:
                args.extend(_convert(varargs, word, usage) for word, _ in words)
            elif next(words, None) is not None:
                raise UsageError("too many arguments", usage)
        except ValueError as exc:  # an unclosed quote
            raise UsageError(str(exc), usage) from None
        return args, kwargs


def _convert(param: Param, word: str, usage: str) -> Any:
    try:
        return param.convert(word)
    except ValueError as exc:
        raise UsageError(f"{param.name}: {exc}", usage) from None


def _params_of(callback: CommandCallback) -> list[Param]:
    signature = inspect.signature(callback)
    try:
        hints = typing.get_type_hints(callback)
    except Exception as exc:
        raise TypeError(f"cannot read the annotations of {callback!r}: {exc}") from exc
    parameters = list(signature.parameters.values())
    if not parameters or parameters[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        raise TypeError(f"command {callback.__name__} must take the context as first argument")
    params: list[Param] = []
    for parameter in parameters[1:]:
        annotation = hints.get(parameter.name, inspect.Parameter.empty)
        convert, label = _converter_for(annotation)
        has_default = parameter.default is not inspect.Parameter.empty
        default = parameter.default if has_default else None
        if parameter.kind == inspect.Parameter.VAR_POSITIONAL:
            params.append(Param(parameter.name, "varargs", convert, label, False))
        elif parameter.kind == inspect.Parameter.KEYWORD_ONLY:
            params.append(Param(parameter.name, "rest", convert, label, not has_default, default))
        elif parameter.kind == inspect.Parameter.VAR_KEYWORD:
            raise TypeError(f"command {callback.__name__}: **{parameter.name} is not supported")
        else:
            params.append(
                Param(parameter.name, "positional", convert, label, not has_default, default)
            )
    kinds = [p.kind for p in params]
    if kinds.count("rest") > 1 or ("rest" in kinds and "varargs" in kinds):
        raise TypeError(
            f"command {callback.__name__}: use either *args or one keyword-only parameter"
            " for the rest of the line"
        )
    return params


def format_help_index(commands: Sequence[Command], prefix: str = "!") -> str:
    """The answer to ``!help``: one line per visible command."""
    lines = [f"Commands (type {prefix}help <command> for details):"]
    for command in sorted(commands, key=lambda c: c.name):
        if command.hidden:
            continue
        brief = f" - {command.brief}" if command.brief else ""
        lines.append(f"{command.usage(prefix)}{brief}")
    return "\n".join(lines)


def format_command_help(command: Command, prefix: str = "!") -> str:
    """The answer to ``!help <command>``: usage, aliases and the whole docstring."""
    lines = [f"Usage: {command.usage(prefix)}"]
    if command.aliases:
        lines.append("Aliases: " + ", ".join(prefix + a for a in command.aliases))
    if command.help.strip():
        lines.append(command.help.strip())
    return "\n".join(lines)
