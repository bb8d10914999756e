"""The ``justirc`` program: a prompt_toolkit prompt at the bottom, chat scrolling above.

Three tasks share one asyncio loop: the prompt (reads lines, never blocks on the
network), a worker that runs typed lines one at a time and in order (so a long
image upload does not freeze typing), and the event loop that prints what the
session reports. The client is asyncio-only because prompt_toolkit is.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence

import anyio
from anyio.abc import ObjectReceiveStream, TaskStatus
from prompt_toolkit import PromptSession
from prompt_toolkit.application import get_app_or_none
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output
from prompt_toolkit.patch_stdout import patch_stdout
from prompt_toolkit.shortcuts import print_formatted_text

from justirc_sdk import Session
from justirc_sdk.errors import JustIRCError

from . import formatting as fmt
from .client import ChatClient
from .completion import JustIRCCompleter
from .config import ClientConfig, load_config
from .formatting import Line

__all__ = ["main", "run"]

_log = logging.getLogger(__name__)

Connect = Callable[..., Awaitable[Session]]


def _key_bindings(client: ChatClient) -> KeyBindings:
    bindings = KeyBindings()
    empty = Condition(lambda: not _current_text())

    @bindings.add("c-n")
    def _next(event: KeyPressEvent) -> None:
        client.cycle(1)

    @bindings.add("c-p")
    def _previous(event: KeyPressEvent) -> None:
        client.cycle(-1)

    @bindings.add("tab", filter=empty)
    def _tab_cycle(event: KeyPressEvent) -> None:
        client.cycle(1)

    return bindings


class _History(InMemoryHistory):
    """In-memory history that never records a line typed while *secret* is true."""

    def __init__(self, secret: Callable[[], bool]) -> None:
        super().__init__()
        self._secret = secret

    def append_string(self, string: str) -> None:
        if not self._secret():
            super().append_string(string)


def _current_text() -> str:
    app = get_app_or_none()
    return app.current_buffer.text if app is not None else ""


def _printer(output: Output | None) -> Callable[[Line], None]:
    def show(line: Line) -> None:
        print_formatted_text(FormattedText(list(line)), output=output)

    return show


async def run(
    config: ClientConfig,
    *,
    input: Input | None = None,
    output: Output | None = None,
    show: Callable[[Line], None] | None = None,
    connect: Connect = Session.connect,
) -> int:
    """Connect with *config* and run the interactive client until /quit; returns an exit code.

    *input*, *output* and *show* exist for tests (pipe input, dummy output, a list).
    """
    show = show or _printer(output)
    try:
        session = await connect(
            config.host,
            config.port,
            nick=config.nick,
            password=config.password,
            tls=config.tls or None,
            tls_fingerprint=config.tls_fingerprint,
            keystore=config.keystore,
            passphrase=config.passphrase,
        )
    except (JustIRCError, OSError) as exc:
        show(fmt.format_error(exc))
        return 1
    prompt: PromptSession[str] | None = None

    def redraw() -> None:
        if prompt is not None and prompt.app.is_running:
            prompt.app.invalidate()

    # A password is asked for by the one running prompt: its next line goes to the asker,
    # masked, and is kept out of the history.
    secret: list[tuple[str, asyncio.Future[str]]] = []

    async def ask_secret(message: str) -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        secret.append((message, future))
        redraw()
        try:
            return await future
        finally:
            secret.clear()
            redraw()

    client = ChatClient(
        session,
        output=show,
        download_dir=config.download_dir,
        ask_secret=ask_secret,
        on_change=redraw,
    )
    prompt = PromptSession(
        message=lambda: secret[0][0] if secret else client.prompt_text(),
        is_password=Condition(lambda: bool(secret)),
        history=_History(lambda: bool(secret)),
        completer=JustIRCCompleter(client.completion_context),
        complete_while_typing=False,
        bottom_toolbar=lambda: FormattedText(list(client.toolbar())),
        key_bindings=_key_bindings(client),
        input=input,
        output=output,
    )
    lines_in, lines_out = anyio.create_memory_object_stream[str](100)
    show(
        fmt.notice(
            f"connected to {config.host}:{config.port} as {session.nick}; /help lists the commands"
        )
    )
    show(fmt.notice(f"your fingerprint: {session.fingerprint}"))
    try:
        async with anyio.create_task_group() as tg:

            async def events(*, task_status: TaskStatus[None]) -> None:
                await client.run_events(task_status=task_status)
                client.request_quit(client.quit_reason)

            async def read_lines() -> None:
                assert prompt is not None
                async with lines_in:
                    while True:
                        try:
                            line = await prompt.prompt_async()
                        except (EOFError, KeyboardInterrupt):
                            client.request_quit("bye")
                            return
                        if secret and not secret[0][1].done():
                            secret[0][1].set_result(line)
                        else:
                            await lines_in.send(line)

            await tg.start(events)
            for channel in config.channels:
                await client.handle_line(f"/join {channel}")
            tg.start_soon(_work, client, lines_out)
            tg.start_soon(read_lines)
            await client.quit_requested.wait()
            tg.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await session.close(client.quit_reason)
    return 0


async def _work(client: ChatClient, lines: ObjectReceiveStream[str]) -> None:
    async with lines:
        async for line in lines:
            await client.handle_line(line)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``justirc`` console script."""
    config = load_config(argv)
    try:
        with patch_stdout(raw=True):
            # created inside patch_stdout so log lines print above the prompt
            logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
            return asyncio.run(run(config))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
