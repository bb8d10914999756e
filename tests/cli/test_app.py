"""The real program: prompt_toolkit reading keystrokes from a pipe, against a real server."""

from __future__ import annotations

import socket
from pathlib import Path

import anyio
import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from justirc_cli.app import _History, run
from justirc_cli.config import ClientConfig, load_config
from justirc_sdk import events
from server.embedded import EmbeddedServer

from .conftest import Connect, Screen

pytestmark = pytest.mark.anyio


def config_for(port: int, tmp_path: Path, *channels: str) -> ClientConfig:
    env = {"JUSTIRC_PORT": str(port), "JUSTIRC_DOWNLOAD_DIR": str(tmp_path / "dl")}
    argv = ["--nick", "alice", *[a for c in channels for a in ("--channel", c)]]
    return load_config(argv, env)


async def test_typing_into_the_prompt_chats_and_quits(
    server: EmbeddedServer, connect: Connect, tmp_path: Path
) -> None:
    screen = Screen()
    codes: list[int] = []
    bob = await connect("bob")
    await bob.join("#room")
    with create_pipe_input() as keys:

        async def client() -> None:
            codes.append(
                await run(
                    config_for(server.port, tmp_path, "#room"),
                    input=keys,
                    output=DummyOutput(),
                    show=screen,
                )
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(client)
            await screen.wait_for("you joined #room")
            assert "connected to 127.0.0.1" in screen.text

            got = bob.wait_for(events.Message, timeout=10)
            keys.send_text("hello from a terminal\r")
            assert (await got).text == "hello from a terminal"

            mark = screen.mark()
            await bob.channel("#room").send("hello back")
            await screen.wait_for("#room <bob> hello back", mark)

            keys.send_text("/help topic\r")
            await screen.wait_for("/topic [#channel] [text]", mark)
            keys.send_text("/nonsense\r")
            await screen.wait_for("unknown command /nonsense", mark)

            left = bob.wait_for(events.MemberLeft, timeout=10)
            keys.send_text("/quit see you\r")
            assert (await left).nick == "alice"
    assert codes == [0]


async def test_ctrl_d_quits(server: EmbeddedServer, tmp_path: Path) -> None:
    screen = Screen()
    with create_pipe_input() as keys:
        keys.send_text("\x04")
        with anyio.fail_after(10):
            code = await run(
                config_for(server.port, tmp_path), input=keys, output=DummyOutput(), show=screen
            )
    assert code == 0


async def test_unreachable_server_is_one_line_and_exit_code_1(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    screen = Screen()
    code = await run(config_for(port, tmp_path), output=DummyOutput(), show=screen)
    assert code == 1
    assert len(screen.lines) == 1 and screen.lines[0].split(" ", 1)[1].startswith("!!! ")


async def test_passwords_are_asked_masked_and_kept_out_of_history(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    screen = Screen()
    with create_pipe_input() as keys:

        async def client() -> None:
            await run(
                config_for(server.port, tmp_path), input=keys, output=DummyOutput(), show=screen
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(client)
            await screen.wait_for("connected to")
            keys.send_text("/register\r")
            keys.send_text("a-long-secret-1\r")
            await screen.wait_for("account alice created")
            keys.send_text("/passwd\r")
            keys.send_text("a-long-secret-1\r")
            keys.send_text("a-long-secret-2\r")
            await screen.wait_for("password changed")
            keys.send_text("/quit\r")
    assert "a-long-secret" not in screen.text
    assert "!!!" not in screen.text


def test_history_skips_secret_lines() -> None:
    secret = [False]
    history = _History(lambda: secret[0])
    history.append_string("/register")
    secret[0] = True
    history.append_string("hunter2-hunter2")
    secret[0] = False
    history.append_string("/help")
    assert list(history.get_strings()) == ["/register", "/help"]
