"""JustIRC bots: decorator-based chat bots over the end-to-end encrypted SDK.

::

    from bots import Bot, Context

    bot = Bot("dice", channels=["#lobby"])

    @bot.command()
    async def roll(ctx: Context, sides: int = 6, times: int = 1) -> None:
        \"\"\"Roll dice.\"\"\"
        ...

    if __name__ == "__main__":
        bot.run()

See ``docs/BOTS.md``.
"""

from __future__ import annotations

from justirc_sdk import events

from .bot import Bot, BotConfig, PeriodicTask
from .checks import Cooldown, channel_only, check, cooldown, private_only, role_at_least
from .commands import Command
from .context import Context, MessageWaiter
from .errors import (
    BotError,
    CheckFailure,
    CommandError,
    ConversationTimeout,
    CooldownActive,
    UsageError,
    UserError,
)
from .retry import retry_rate_limited

__all__ = [
    "Bot",
    "BotConfig",
    "BotError",
    "CheckFailure",
    "Command",
    "CommandError",
    "Context",
    "ConversationTimeout",
    "Cooldown",
    "CooldownActive",
    "MessageWaiter",
    "PeriodicTask",
    "UsageError",
    "UserError",
    "channel_only",
    "check",
    "cooldown",
    "events",
    "private_only",
    "retry_rate_limited",
    "role_at_least",
]
