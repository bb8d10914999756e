"""Errors of the bot framework.

Two kinds matter to a bot author. *User errors* (:class:`UsageError`,
:class:`CheckFailure`, :class:`CommandError`) are mistakes or refusals the person
talking to the bot can act on: the bot replies with their message and carries on.
Everything else a handler raises is a *bug*: it goes to the ``on_error`` hooks (the
default one logs the traceback and replies "Sorry, that command failed.").
"""

from __future__ import annotations

__all__ = [
    "BotError",
    "CheckFailure",
    "CommandError",
    "ConversationTimeout",
    "CooldownActive",
    "UsageError",
    "UserError",
]


class BotError(Exception):
    """Base class of every error raised by :mod:`bots`."""


class UserError(BotError):
    """An error whose message is meant for the person who sent the command."""


class CommandError(UserError):
    """Raise it from a command to refuse politely: the message is replied as is.

    ``raise CommandError("sides must be between 2 and 1000")``
    """


class UsageError(UserError):
    """The arguments did not fit the command's signature; the reply shows its usage."""

    def __init__(self, problem: str, usage: str = "") -> None:
        self.problem = problem
        self.usage = usage
        super().__init__(f"{problem}. Usage: {usage}" if usage else problem)


class CheckFailure(UserError):
    """A check refused to run the command (wrong place, role, too soon...)."""


class CooldownActive(CheckFailure):
    """The sender used the command too often; ``retry_after`` is in seconds."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"Slow down: try again in {retry_after:.1f} s.")


class ConversationTimeout(BotError, TimeoutError):
    """:meth:`Context.wait_for` saw no matching message in time."""
