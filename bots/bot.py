"""The :class:`Bot`: decorators that register handlers, and the loop that runs them.

A bot owns one SDK :class:`~justirc_sdk.Session`. It reads the session's events in
order and starts one task per message or event, so a slow handler (or one waiting for
an answer with :meth:`Context.wait_for`) never holds up the others. Handler errors
never escape silently: user errors are answered, everything else is logged with its
traceback and handed to the ``on_error`` hooks.
"""

from __future__ import annotations

import inspect
import logging
import math
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import anyio
from anyio.abc import TaskGroup

from justirc_sdk import Session, events
from justirc_sdk.background import DetachedTask
from justirc_sdk.errors import AlreadyInChannel, JustIRCError
from justirc_sdk.protocol import channel_key, nick_key

from .checks import Predicate
from .commands import Command, CommandCallback, format_command_help, format_help_index
from .context import Context, MessageWaiter
from .errors import CheckFailure, UserError
from .retry import retry_rate_limited

__all__ = ["Bot", "BotConfig", "ErrorHook", "PeriodicTask"]

_log = logging.getLogger("bots")

F = TypeVar("F", bound=Callable[..., Any])
ErrorHook = Callable[[Context | None, Exception], Awaitable[None] | None]
MessageMatcher = str | re.Pattern[str] | Callable[[events.Message], Any]
_Matcher = Callable[[events.Message], Any]

FAILED_REPLY = "Sorry, that command failed."

_FROM_PEOPLE = (events.Message, events.ImageMessage, events.FileMessage)
"""What people send: the bot ignores its own, and answers a failed handler for one."""


@dataclass
class BotConfig:
    """Where and as whom the bot connects; :meth:`Bot.run` fills it from flags and env."""

    nick: str
    channels: list[str] = field(default_factory=list)
    prefix: str = "!"
    host: str = "127.0.0.1"
    port: int = 6667
    password: str | None = None
    tls: bool | ssl.SSLContext | None = None
    tls_fingerprint: str | None = None
    keystore: str | Path | None = None
    passphrase: str | None = None
    session_options: dict[str, Any] = field(default_factory=dict)
    """Extra keyword arguments for :meth:`Session.connect` (``request_timeout``...)."""


@dataclass
class PeriodicTask:
    """A function the bot calls every *seconds* while it runs."""

    fn: Callable[[Any], Awaitable[None] | None]
    seconds: float
    immediately: bool = False

    @property
    def name(self) -> str:
        return getattr(self.fn, "__qualname__", repr(self.fn))


async def _call(fn: Callable[..., Any], *args: Any) -> None:
    result = fn(*args)
    if inspect.isawaitable(result):
        await result


def _positional_count(fn: Callable[..., Any]) -> int:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return 2
    return sum(1 for p in parameters if p.kind in kinds)


def _matcher(pattern: MessageMatcher) -> _Matcher:
    if isinstance(pattern, str | re.Pattern):
        regex = re.compile(pattern)
        return lambda message: regex.search(message.text)
    if callable(pattern):
        return pattern
    raise TypeError("on_message takes a regular expression or a predicate")


class Bot:
    """A chat bot: register handlers with decorators, then :meth:`run` it.

    ::

        bot = Bot("dice", channels=["#lobby"])

        @bot.command()
        async def roll(ctx: Context, sides: int = 6) -> None:
            \"\"\"Roll a die.\"\"\"
            await ctx.reply(str(random.randint(1, sides)))

        bot.run()   # or: async with bot: ...   or: await bot.serve()
    """

    def __init__(
        self,
        nick: str,
        channels: Sequence[str] = (),
        prefix: str = "!",
        *,
        host: str = "127.0.0.1",
        port: int = 6667,
        password: str | None = None,
        tls: bool | ssl.SSLContext | None = None,
        tls_fingerprint: str | None = None,
        keystore: str | Path | None = None,
        passphrase: str | None = None,
        description: str | None = None,
        help_command: bool = True,
        **session_options: Any,
    ) -> None:
        if isinstance(channels, str):
            channels = [channels]
        self.config = BotConfig(
            nick=nick,
            channels=list(channels),
            prefix=prefix,
            host=host,
            port=port,
            password=password,
            tls=tls,
            tls_fingerprint=tls_fingerprint,
            keystore=keystore,
            passphrase=passphrase,
            session_options=dict(session_options),
        )
        self.description = description
        self.commands: dict[str, Command] = {}
        self._aliases: dict[str, Command] = {}
        self._message_handlers: list[
            tuple[Callable[[events.Message], Any], Callable[..., Any]]
        ] = []
        self._event_handlers: list[tuple[type[events.Event], Callable[..., Any]]] = []
        self._periodic: list[PeriodicTask] = []
        self._error_hooks: list[ErrorHook] = []
        self._waiters: list[MessageWaiter] = []
        self._session: Session | None = None
        self._stream: AsyncIterator[events.Event] | None = None
        self._task_group: TaskGroup | None = None
        self._background: DetachedTask | None = None
        self._stopped: anyio.Event | None = None  # made in _connect: needs a running loop
        self._running = False
        if help_command:
            self.command(name="help", help="Show the commands, or how to use one of them.")(
                self._help
            )

    # -- properties -------------------------------------------------------------------

    @property
    def session(self) -> Session:
        """The live SDK session (only while the bot runs)."""
        if self._session is None:
            raise RuntimeError("the bot is not running; start it first")
        return self._session

    @property
    def nick(self) -> str:
        """The bot's nick (the session's current one while running)."""
        return self._session.nick if self._session is not None else self.config.nick

    @property
    def prefix(self) -> str:
        """What starts a command (``!`` by default)."""
        return self.config.prefix

    @property
    def running(self) -> bool:
        """True between start and stop."""
        return self._running

    # -- decorators -------------------------------------------------------------------

    def command(
        self,
        name: str | None = None,
        aliases: Sequence[str] = (),
        help: str | None = None,
        *,
        hidden: bool = False,
    ) -> Callable[[CommandCallback], Command]:
        """Register a command; its docstring is the help, its annotations convert arguments."""

        def register(fn: CommandCallback) -> Command:
            command = Command(fn, name=name, aliases=aliases, help=help, hidden=hidden)
            for word in (command.name, *command.aliases):
                if word in self._aliases:
                    raise ValueError(f"command name {word!r} is already taken")
            self.commands[command.name] = command
            for word in (command.name, *command.aliases):
                self._aliases[word] = command
            return command

        return register

    def on_message(self, pattern: MessageMatcher) -> Callable[[F], F]:
        """Call the function for each text message (not a command) that matches.

        *pattern* is a regular expression (searched in the text) or a predicate taking
        the :class:`~justirc_sdk.events.Message`. The handler gets ``(ctx, match)``:
        the regex match, or what the predicate returned (or just ``(ctx)``).
        """
        matcher = _matcher(pattern)

        def register(fn: F) -> F:
            self._message_handlers.append((matcher, fn))
            return fn

        return register

    def on(self, event_type: type[events.Event]) -> Callable[[F], F]:
        """Call the function as ``fn(ctx, event)`` for every SDK event of *event_type*."""
        if not (isinstance(event_type, type) and issubclass(event_type, events.Event)):
            raise TypeError("bot.on takes an event class from justirc_sdk.events")

        def register(fn: F) -> F:
            self._event_handlers.append((event_type, fn))
            return fn

        return register

    def every(self, seconds: float, *, immediately: bool = False) -> Callable[[F], F]:
        """Call ``fn(bot)`` every *seconds* while the bot runs (first after one period).

        A run that raises is logged and reported to the ``on_error`` hooks (with
        ``ctx=None``); the schedule goes on. Runs never overlap; missed ticks are skipped.
        """
        if not seconds > 0:
            raise ValueError("the period must be positive")

        def register(fn: F) -> F:
            self._periodic.append(PeriodicTask(fn, float(seconds), immediately))
            return fn

        return register

    def on_error(self, fn: ErrorHook) -> ErrorHook:
        """Register ``hook(ctx, exc)`` for exceptions raised by handlers.

        Registering a hook replaces the default "Sorry, that command failed." reply;
        the traceback is logged either way. ``ctx`` is ``None`` for periodic tasks.
        """
        self._error_hooks.append(fn)
        return fn

    def add_check(self, command: str, predicate: Predicate) -> None:
        """Add a check to a registered command by name."""
        self._aliases[command.lower()].checks.append(predicate)

    # -- lifecycle --------------------------------------------------------------------

    async def _connect(self) -> None:
        if self._running:
            raise RuntimeError("the bot is already running")
        cfg = self.config
        self._stopped = anyio.Event()
        session = await Session.connect(
            cfg.host,
            cfg.port,
            nick=cfg.nick,
            password=cfg.password,
            tls=cfg.tls,
            tls_fingerprint=cfg.tls_fingerprint,
            keystore=cfg.keystore,
            passphrase=cfg.passphrase,
            **cfg.session_options,
        )
        self._session = session
        self._stream = session.events()  # before joining: no event is missed
        self._running = True
        try:
            for name in cfg.channels:
                await self._join(name)
        except BaseException:
            await self._close_session()
            raise
        _log.info("%s connected to %s:%s in %s", session.nick, cfg.host, cfg.port, cfg.channels)

    async def _join(self, name: str) -> None:
        try:
            await retry_rate_limited(lambda: self.session.join(name))
        except AlreadyInChannel:
            pass
        except JustIRCError as exc:
            _log.error("could not join %s: %s", name, exc)

    async def start(self) -> None:
        """Connect, join the channels and run in the background until :meth:`stop`."""
        await self._connect()
        self._background = DetachedTask(self._main, f"bot-{self.config.nick}")
        self._background.start()

    async def stop(self) -> None:
        """Cancel the bot's tasks and close the session (idempotent)."""
        if self._background is not None:
            self._background.cancel()
            with anyio.CancelScope(shield=True):
                await self._background.wait()
            self._background = None
        await self._close_session()

    async def serve(self) -> None:
        """Connect and run in the current task until cancelled or the session ends."""
        await self._connect()
        try:
            await self._main()
        finally:
            await self._close_session()

    async def wait_stopped(self) -> None:
        """Wait until the bot has stopped (its session closed or :meth:`stop` called)."""
        if self._stopped is not None:
            await self._stopped.wait()

    async def __aenter__(self) -> Bot:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _close_session(self) -> None:
        session, self._session = self._session, None
        self._running = False
        if session is not None:
            with anyio.CancelScope(shield=True):
                await session.close()
            _log.info("%s disconnected", self.config.nick)
        if self._stopped is not None:
            self._stopped.set()

    def run(self, argv: Sequence[str] | None = None) -> None:
        """Run from the command line: parse flags and ``JUSTIRC_*`` env, stop on signals."""
        from .runner import run_bot

        run_bot(self, argv)

    # -- the event loop ---------------------------------------------------------------

    async def _main(self) -> None:
        try:
            async with anyio.create_task_group() as tg:
                self._task_group = tg
                for job in self._periodic:
                    tg.start_soon(self._run_periodic, job, name=f"periodic {job.name}")
                assert self._stream is not None
                async for event in self._stream:
                    self._dispatch(event, tg)
                tg.cancel_scope.cancel()  # the session closed itself
        finally:
            self._task_group = None
            for waiter in list(self._waiters):
                waiter.cancel()

    def _is_self(self, nick: str | None) -> bool:
        return nick is not None and nick_key(nick) == nick_key(self.nick)

    def _dispatch(self, event: events.Event, tg: TaskGroup) -> None:
        sender = getattr(event, "sender", None)
        if isinstance(event, _FROM_PEOPLE) and self._is_self(sender):
            return
        if isinstance(event, events.Message):
            if self._offer_to_waiters(event):
                return
            tg.start_soon(self._handle_message, event)
        if isinstance(event, events.Reconnected):
            tg.start_soon(self._rejoin)
        for event_type, fn in self._event_handlers:
            if isinstance(event, event_type):
                tg.start_soon(self._handle_event, fn, event)

    def _offer_to_waiters(self, message: events.Message) -> bool:
        for waiter in list(self._waiters):
            try:
                if waiter.offer(message):
                    waiter.cancel()
                    return True
            except Exception:
                _log.exception("a wait_for check raised on %r", message)
        return False

    async def _rejoin(self) -> None:
        """After a reconnect, join the configured channels the SDK could not rejoin."""
        joined = {channel_key(name) for name in self.session.channels}
        for name in self.config.channels:
            if channel_key(name) not in joined:
                _log.info("rejoining %s after reconnect", name)
                await self._join(name)

    def find_command(self, text: str) -> tuple[Command, str, str] | None:
        """``(command, name typed, argument text)`` if *text* invokes a command."""
        prefix = self.config.prefix
        if not text.startswith(prefix):
            return None
        parts = text[len(prefix) :].split(None, 1)
        if not parts:
            return None
        command = self._aliases.get(parts[0].lower())
        if command is None:
            return None
        return command, parts[0], parts[1] if len(parts) > 1 else ""

    async def _handle_message(self, message: events.Message) -> None:
        ctx = Context(self, message, sender=message.sender, channel=message.channel)
        ctx.text = message.text
        found = self.find_command(message.text)
        if found is not None:
            ctx.command, ctx.invoked_with, ctx.args = found
            await self._guarded(ctx, self.invoke(ctx))
            return
        for matcher, fn in self._message_handlers:
            try:
                match = matcher(message)
            except Exception as exc:
                await self._report(ctx, exc, f"message matcher for {fn.__qualname__}")
                continue
            if match:
                args = (ctx, match) if _positional_count(fn) >= 2 else (ctx,)
                await self._guarded(ctx, _call(fn, *args))

    async def invoke(self, ctx: Context) -> None:
        """Run ``ctx.command``: its checks, argument conversion, then the callback."""
        command = ctx.command
        assert command is not None
        for predicate in command.checks:
            result = predicate(ctx)
            if inspect.isawaitable(result):
                result = await result
            if not result:
                raise CheckFailure(f"You can't use {self.prefix}{command.name} here.")
        args, kwargs = command.parse(ctx.args, self.prefix)
        await command.callback(ctx, *args, **kwargs)

    async def _handle_event(self, fn: Callable[..., Any], event: events.Event) -> None:
        ctx = Context.for_event(self, event)
        args = (ctx, event) if _positional_count(fn) >= 2 else (ctx,)
        await self._guarded(ctx, _call(fn, *args))

    async def _guarded(self, ctx: Context, work: Awaitable[None]) -> None:
        try:
            await work
        except UserError as exc:
            _log.debug("user error from %s: %s", ctx.sender, exc)
            try:
                await ctx.reply(str(exc))
            except Exception as reply_exc:
                await self._report(ctx, reply_exc, "replying to a user error")
        except Exception as exc:
            await self._report(ctx, exc, repr(ctx))

    async def _report(self, ctx: Context | None, exc: Exception, where: str) -> None:
        """Log *exc* with its traceback, then run the on_error hooks (or the default)."""
        _log.error("handler failed (%s)", where, exc_info=exc)
        if not self._error_hooks:
            if ctx is not None and isinstance(ctx.event, _FROM_PEOPLE):
                try:
                    await ctx.reply(FAILED_REPLY)
                except Exception:
                    _log.exception("could not tell %s that the command failed", ctx.sender)
            return
        for hook in list(self._error_hooks):
            try:
                await _call(hook, ctx, exc)
            except Exception:
                _log.exception("on_error hook %s failed", getattr(hook, "__qualname__", hook))

    async def _run_periodic(self, job: PeriodicTask) -> None:
        next_at = anyio.current_time() + (0.0 if job.immediately else job.seconds)
        while True:
            await anyio.sleep(max(0.0, next_at - anyio.current_time()))
            try:
                await _call(job.fn, self)
            except Exception as exc:
                await self._report(None, exc, f"periodic task {job.name}")
            next_at += job.seconds
            behind = anyio.current_time() - next_at
            if behind > 0:
                next_at += math.ceil(behind / job.seconds) * job.seconds

    # -- the built-in help command ----------------------------------------------------

    async def _help(self, ctx: Context, command: str | None = None) -> None:
        if command is None:
            await ctx.reply(format_help_index(list(self.commands.values()), self.prefix))
            return
        found = self._aliases.get(command.lower().removeprefix(self.prefix))
        if found is None:
            await ctx.reply(f"No command named {self.prefix}{command}. Try {self.prefix}help.")
            return
        await ctx.reply(format_command_help(found, self.prefix))
