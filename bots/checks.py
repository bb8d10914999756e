"""Checks: conditions a command must pass before it runs.

A check is a predicate over the :class:`~bots.Context` (sync or async). It passes by
returning true; it refuses by returning false or by raising
:class:`~bots.errors.CheckFailure` with a message for the user. Stack them on a
command, in any order relative to ``@bot.command()``; they run top to bottom::

    @bot.command()
    @bots.channel_only()
    @bots.cooldown(1, 10)
    async def shout(ctx: Context, *, text: str) -> None: ...
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from justirc_sdk.protocol import nick_key

from .commands import Command
from .errors import CheckFailure, CooldownActive

if TYPE_CHECKING:
    from .context import Context

__all__ = [
    "ROLES",
    "Cooldown",
    "Predicate",
    "channel_only",
    "check",
    "cooldown",
    "private_only",
    "role_at_least",
]

Predicate = Callable[["Context"], "bool | Awaitable[bool]"]
F = TypeVar("F", bound=Callable[..., Any])

ROLES = ("member", "mod", "op", "owner")
"""Channel roles from lowest to highest."""


def check(predicate: Predicate) -> Callable[[F], F]:
    """Decorator: run *predicate* before the command; refuse when it is false."""

    def decorate(target: F) -> F:
        if isinstance(target, Command):
            target.checks.insert(0, predicate)
        else:
            existing = list(getattr(target, "__bot_checks__", ()))
            target.__bot_checks__ = [predicate, *existing]  # type: ignore[attr-defined]
        return target

    return decorate


def channel_only() -> Callable[[F], F]:
    """The command works only in a channel."""

    def predicate(ctx: Context) -> bool:
        if ctx.channel is None:
            raise CheckFailure("This command only works in a channel.")
        return True

    return check(predicate)


def private_only() -> Callable[[F], F]:
    """The command works only in a private message to the bot."""

    def predicate(ctx: Context) -> bool:
        if ctx.channel is not None:
            raise CheckFailure("This command only works in a private message.")
        return True

    return check(predicate)


def role_at_least(role: str) -> Callable[[F], F]:
    """The sender must hold *role* or higher in the channel (implies channel-only)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    needed = ROLES.index(role)

    def predicate(ctx: Context) -> bool:
        if ctx.channel is None:
            raise CheckFailure("This command only works in a channel.")
        have = ctx.role or "member"
        rank = ROLES.index(have) if have in ROLES else 0
        if rank < needed:
            raise CheckFailure(f"You need to be {role} or higher in {ctx.channel}.")
        return True

    return check(predicate)


class Cooldown:
    """At most *rate* uses per *per* seconds for each sender (a sliding window).

    *clock* returns seconds; tests pass a fake one to move time without sleeping.
    """

    def __init__(
        self, rate: int, per: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate < 1 or per <= 0:
            raise ValueError("cooldown needs rate >= 1 and per > 0")
        self.rate = rate
        self.per = per
        self.clock = clock
        self._uses: dict[str, deque[float]] = {}

    def hit(self, who: str) -> None:
        """Count one use by *who*, or raise :class:`CooldownActive` if over the rate."""
        now = self.clock()
        uses = self._uses.setdefault(nick_key(who), deque())
        while uses and uses[0] <= now - self.per:
            uses.popleft()
        if len(uses) >= self.rate:
            raise CooldownActive(uses[0] + self.per - now)
        uses.append(now)

    def __call__(self, ctx: Context) -> bool:
        if ctx.sender is not None:
            self.hit(ctx.sender)
        return True


def cooldown(
    rate: int, per: float, *, clock: Callable[[], float] = time.monotonic
) -> Callable[[F], F]:
    """Each sender may use the command *rate* times per *per* seconds."""
    return check(Cooldown(rate, per, clock=clock))
