"""Tab completion: which words fit where the cursor is (pure), and the prompt_toolkit adapter.

:func:`candidates` decides from the command table what the word under the cursor
should be: a command name, a nick, a channel, or either. Plain text completes nicks
(IRC style: ``bo<Tab>`` gives ``bob: `` at the start of a line).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from .commands import COMMANDS, find_command

__all__ = ["CompletionContext", "JustIRCCompleter", "candidates"]


@dataclass(frozen=True, slots=True)
class CompletionContext:
    """What may be completed: nicks online or in your channels, and channels."""

    nicks: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()


def _matching(word: str, options: Iterable[str]) -> list[str]:
    low = word.lower()
    seen: dict[str, None] = {}
    for option in options:
        if option.lower().startswith(low) and option not in seen:
            seen[option] = None
    return sorted(seen, key=str.lower)


def candidates(text_before_cursor: str, context: CompletionContext) -> tuple[str, list[str]]:
    """The word being completed and the words that could replace it.

    >>> candidates("/jo", CompletionContext())
    ('/jo', ['/join'])
    """
    words = text_before_cursor.split(" ")
    word = words[-1]
    if not text_before_cursor.startswith("/") or text_before_cursor.startswith("//"):
        found = _matching(word, context.nicks) if word else []
        if len(words) == 1:
            found = [f"{nick}: " for nick in found]
        return word, found
    if len(words) == 1:
        names = [f"/{name}" for spec in COMMANDS for name in spec.names]
        return word, _matching(word, names)
    spec = find_command(words[0])
    if spec is None:
        return word, []
    done = [w for w in words[1:-1] if w]
    if spec.scoped:
        if not done and word.startswith("#"):
            return word, _matching(word, context.channels)
        if done and done[0].startswith("#"):
            done = done[1:]
    position = len(done)
    kinds = list(spec.args)
    kind = kinds[min(position, len(kinds) - 1)] if kinds else ""
    if position >= len(kinds) and not spec.rest:
        kind = ""
    if kind == "command":
        return word, _matching(word, [name for spec in COMMANDS for name in spec.names])
    if kind == "channel":
        return word, _matching(word, context.channels)
    if kind == "target":
        return word, _matching(word, [*context.channels, *context.nicks])
    if kind in ("nick", "text"):
        return word, _matching(word, context.nicks) if word else []
    return word, []


class JustIRCCompleter(Completer):
    """prompt_toolkit completer over :func:`candidates`; *context* is read on each Tab."""

    def __init__(self, context: Callable[[], CompletionContext]) -> None:
        self._context = context

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        word, found = candidates(document.text_before_cursor, self._context())
        for option in found:
            yield Completion(option, start_position=-len(word))
