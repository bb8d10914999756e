"""The chat client's brain: conversations, the current target, commands and events.

:class:`ChatClient` takes typed lines (:meth:`~ChatClient.handle_line`) and SDK
events (:meth:`~ChatClient.handle_event`) and produces display lines through an
``output`` callback. Lines that belong to a conversation are also kept in its backlog
(:mod:`justirc_cli.conversations`): switching to a conversation replays what you
missed there, and the toolbar lists the others with unread lines. It knows nothing
about terminals, so tests drive it with real sessions and read what a user would see;
:mod:`justirc_cli.app` wires it to prompt_toolkit. It runs on asyncio (the app does);
nothing here blocks the loop.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
from anyio.abc import TaskStatus

from justirc_sdk import Channel, Session
from justirc_sdk import events as ev
from justirc_sdk.errors import JustIRCError

from . import formatting as fmt
from .commands import Command, ParseError, PlainText, UsageError, help_text, parse_line
from .completion import CompletionContext
from .conversations import Catchup, Conversations, Level, activity_line, route
from .downloads import save_file, save_image
from .formatting import Line
from .handlers import HANDLERS

__all__ = ["ChatClient"]

_log = logging.getLogger(__name__)

Output = Callable[[Line], None]
AskSecret = Callable[[str], Awaitable[str]]


class ChatClient:
    """One user's view of a :class:`~justirc_sdk.Session`.

    *output* receives every line to display. *download_dir* is where received
    images and files are saved. *ask_secret* prompts for a password without echo (accounts).
    *on_change* is called when the prompt or status line should be redrawn.
    """

    def __init__(
        self,
        session: Session,
        *,
        output: Output,
        download_dir: Path,
        ask_secret: AskSecret | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.session = session
        self.output = output
        self.download_dir = download_dir
        self.ask_secret = ask_secret
        self.on_change = on_change or (lambda: None)
        self.convs = Conversations()
        self.status: str | None = None
        self.quit_requested = anyio.Event()
        self.quit_reason = "bye"

    # -- conversations ----------------------------------------------------------------

    @property
    def conversations(self) -> list[str]:
        """Your open conversations (channels and nicks), in Ctrl-N order."""
        return self.convs.names

    @property
    def current(self) -> str | None:
        """The conversation plain text goes to."""
        return self.convs.current

    def prompt_text(self) -> str:
        """What the prompt shows: the current conversation and your nick."""
        return f"[{self.current or '-'}] {self.session.nick}> "

    def toolbar(self) -> Line:
        """The line under the prompt: upload progress or the current conversation, the
        activity list (``act: bob(1!) #rust(3)``) and a hint."""
        parts: list[Line] = [(("", self.status or f" {self.current or '-'}"),)]
        activity = activity_line(self.convs.activity())
        if activity:
            parts.append(activity)
        if not self.status:
            parts.append((("", "/help | Tab, Ctrl-N"),))
        joined: list[tuple[str, str]] = []
        for part in parts:
            if joined:
                joined.append(("", " | "))
            joined.extend(part)
        return tuple(joined)

    def add_conversation(self, target: str, *, switch: bool = False) -> None:
        """Remember *target* (a channel or nick); make it current if asked or if none is.

        Switching to a conversation with lines you have not seen replays them.
        """
        self._catch_up(self.convs.add(target, switch=switch))
        self.on_change()

    def drop_conversation(self, target: str) -> None:
        """Forget *target*; if it was current, move to another conversation."""
        self._catch_up(self.convs.drop(target))
        self.on_change()

    def cycle(self, step: int = 1) -> None:
        """Make the next (or previous) conversation current (Tab / Ctrl-N / Ctrl-P)."""
        self._catch_up(self.convs.cycle(step))
        self.on_change()

    def show_last(self, count: int) -> None:
        """Show the last *count* kept lines of the current conversation again (``/last``)."""
        name = self.current
        if name is None:
            raise UsageError("no conversation yet: /join #channel or /msg nick first")
        lines = self.convs.last(count)
        if not lines:
            self.info(f"nothing in {name} yet")
            return
        backlog = self.convs.backlog
        kept = f" (at most {backlog} are kept)" if count > len(lines) == backlog else ""
        plural = "s" if len(lines) != 1 else ""
        self.notice(f"---- {name}: the last {len(lines)} line{plural}{kept} ----")
        for line in lines:
            self.output(line)

    def _catch_up(self, catchup: Catchup | None) -> None:
        if catchup is None:
            return
        self.notice(catchup.header(self.convs.backlog))
        for line in catchup.lines:
            self.output(line)  # already in the backlog: shown again, not kept twice

    def completion_context(self) -> CompletionContext:
        """Nicks (online users and channel members) and channels for tab completion."""
        nicks: dict[str, None] = dict.fromkeys(self.session.users)
        channels = self.session.channels
        for channel in channels.values():
            nicks.update(dict.fromkeys(channel.members))
        nicks.update(dict.fromkeys(c for c in self.conversations if not c.startswith("#")))
        nicks.pop(self.session.nick, None)
        return CompletionContext(tuple(nicks), tuple(channels))

    # -- output helpers ---------------------------------------------------------------

    def show(self, line: Line, to: str | None = None, level: Level = Level.OWN) -> None:
        """Display one line; keep it in conversation *to* (if open) at *level*."""
        if self.convs.record(to, line, level):
            self.on_change()
        self.output(line)

    def notice(self, text: str, to: str | None = None) -> None:
        """Display a ``-!-`` notice (about your own doing in conversation *to*, if given)."""
        self.show(fmt.notice(text), to)

    def info(self, text: str) -> None:
        """Display a plain information line."""
        self.output(fmt.info(text))

    def set_status(self, status: str | None) -> None:
        """Set (or clear) the status line shown under the prompt, e.g. upload progress."""
        self.status = status
        self.on_change()

    # -- input ------------------------------------------------------------------------

    async def handle_line(self, line: str) -> None:
        """Run one typed line. Errors are shown as one line each, never raised."""
        parsed = parse_line(line)
        if parsed is None:
            return
        try:
            if isinstance(parsed, ParseError):
                self.show(fmt.error(parsed.message))
                if parsed.usage:
                    self.info(f"usage: {parsed.usage}")
            elif isinstance(parsed, PlainText):
                await self.say(parsed.text)
            else:
                await self.run_command(parsed)
        except UsageError as exc:
            self.show(fmt.error(str(exc)))
            if isinstance(parsed, Command):
                self.info(f"usage: {parsed.spec.usage}")
        except (JustIRCError, OSError, ValueError) as exc:
            self.show(fmt.format_error(exc))
        except Exception as exc:  # a bug must not kill the client or print a traceback
            _log.exception("command %r failed", line)
            self.show(fmt.format_error(exc))

    async def run_command(self, command: Command) -> None:
        """Run a parsed command (raises what the SDK raises; :meth:`handle_line` shows it)."""
        await HANDLERS[command.name](self, command)

    async def say(self, text: str, *, action: bool = False) -> None:
        """Send *text* to the current conversation and show it."""
        target = self.current
        if target is None:
            raise UsageError("no conversation yet: /join #channel or /msg nick first")
        await self.send_to(target, text, action=action)

    async def send_to(self, target: str, text: str, *, action: bool = False) -> None:
        """Send *text* to a channel or nick and show your own copy."""
        if target.startswith("#"):
            await self.session.channel(target).send(text, action=action)
        else:
            await self.session.send(target, text, action=action)
        self.show(fmt.format_own(self.session.nick, target, text, action=action), target)

    def channel(self, command: Command) -> Channel:
        """The channel a scoped command acts on: the one given, or the current one."""
        name = command.channel
        if name is None:
            if self.current is None or not self.current.startswith("#"):
                raise UsageError(f"/{command.name} needs a channel: switch to one or name it")
            name = self.current
        return self.session.channel(name)

    def help(self, name: str | None = None) -> None:
        """Show ``/help`` output."""
        for text in help_text(name):
            self.info(text)

    # -- events -----------------------------------------------------------------------

    async def run_events(
        self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Show the session's events until it closes (``await tg.start(client.run_events)``)."""
        async with self.session.events() as stream:
            task_status.started()
            async for event in stream:
                try:
                    await self.handle_event(event)
                except Exception as exc:
                    _log.exception("failed to show %r", event)
                    self.show(fmt.format_error(exc))

    async def handle_event(self, event: ev.Event) -> None:
        """Update conversations for *event* and display it."""
        me = self.session.nick
        if isinstance(event, ev.ImageMessage):
            await self._save_image(event)
            return
        if isinstance(event, ev.FileMessage):
            await self._save_file(event)
            return
        if isinstance(event, ev.Message) and event.channel is None:
            self.add_conversation(event.sender)
        elif isinstance(event, ev.ChannelJoined):
            self.add_conversation(event.channel)
        elif isinstance(event, ev.ChannelLeft):
            self.drop_conversation(event.channel)
        elif isinstance(event, ev.NickChanged):
            self._rename(event.old, event.new)
        elif isinstance(event, ev.UserOnline | ev.UserOffline):
            if event.nick in self.convs:
                state = "online" if isinstance(event, ev.UserOnline) else "offline"
                self.show(fmt.notice(f"{event.nick} is {state}"), *route(event, me))
            return
        elif isinstance(event, ev.Disconnected) and not event.will_reconnect:
            self.quit_reason = "disconnected"
        where, level = route(event, me)
        for line in fmt.format_event(event, me):
            self.show(line, where, level)

    def _rename(self, old: str, new: str) -> None:
        self.convs.rename(old, new)
        self.on_change()

    async def _save_image(self, event: ev.ImageMessage) -> None:
        if event.channel is None:
            self.add_conversation(event.sender)
        path = await anyio.to_thread.run_sync(
            save_image,
            self.download_dir,
            event.data,
            event.filename,
            event.mime_type,
            event.timestamp,
        )
        self.show(fmt.format_image(event, path), *route(event, self.session.nick))

    async def _save_file(self, event: ev.FileMessage) -> None:
        if event.channel is None:
            self.add_conversation(event.sender)
        path = await anyio.to_thread.run_sync(
            save_file, self.download_dir, event.data, event.filename
        )
        self.show(fmt.format_file(event, path), *route(event, self.session.nick))

    def request_quit(self, reason: str = "bye") -> None:
        """Ask the app to close the session and exit."""
        self.quit_reason = reason
        self.quit_requested.set()
