"""Catching up: the activity list under the prompt, the replay on switch, /last.

Against a real server: other people talk in a conversation that is not the current
one, and the tests read the toolbar and the screen the way the user would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from prompt_toolkit import PromptSession
from prompt_toolkit.formatted_text import fragment_list_to_text, to_formatted_text
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from justirc_cli import app
from justirc_cli.formatting import plain
from justirc_sdk import Session
from server.embedded import EmbeddedServer

from .conftest import Connect, OpenTerm, Screen, Term
from .test_app import config_for

pytestmark = pytest.mark.anyio


def toolbar(term: Term) -> str:
    return plain(term.client.toolbar())


async def two_rooms(alice: Term, connect: Connect) -> Session:
    """alice in #python (current) and #rust; bob in #rust. Returns bob's session."""
    await alice.type("/join #rust")
    bob: Session = await connect("bob")
    await bob.join("#rust")
    await alice.screen.wait_for("bob joined #rust")
    await alice.type("/join #python")
    await alice.screen.wait_for("you joined #python")
    assert alice.client.current == "#python"
    return bob


async def test_unread_counts_show_under_the_prompt_and_clear_on_switch(
    open_term: OpenTerm, connect: Connect
) -> None:
    async with open_term("alice") as alice:
        bob = await two_rooms(alice, connect)
        assert toolbar(alice) == " #python | /help | Tab, Ctrl-N"

        mark = alice.screen.mark()
        rust = bob.channel("#rust")
        for text in ("anyone here?", "the borrow checker", "is great"):
            await rust.send(text)
        await alice.screen.wait_for("#rust <bob> is great", mark)
        assert toolbar(alice) == " #python | act: #rust(3) | /help | Tab, Ctrl-N"

        carol = await connect("carol")
        await carol.send("alice", "psst")
        await alice.screen.wait_for("[PM] <carol> psst", mark)
        assert "act: carol(1!) #rust(3) |" in toolbar(alice)  # highlights first
        assert alice.client.prompt_text() == "[#python] alice> "

        shown = await alice.type("/switch #rust")
        lines = shown.splitlines()
        assert lines[0].endswith("-!- now talking in #rust")
        assert lines[1].endswith("-!- ---- #rust: 3 unread ----")
        assert [line.split(" ", 1)[1] for line in lines[2:]] == [
            "#rust <bob> anyone here?",
            "#rust <bob> the borrow checker",
            "#rust <bob> is great",
        ]
        assert toolbar(alice) == " #rust | act: carol(1!) | /help | Tab, Ctrl-N"

        mark = alice.screen.mark()
        await rust.send("now you see it live")
        await alice.screen.wait_for("now you see it live", mark)
        assert "act: carol(1!) |" in toolbar(alice)  # the current one never counts
        assert "#rust" not in toolbar(alice).split("act:")[1]
        assert "---- #rust" not in await alice.type("/switch #python")
        assert "---- #rust" not in await alice.type("/switch #rust")  # nothing new


async def test_a_mention_is_a_highlight_and_the_replay_keeps_notices(
    open_term: OpenTerm, connect: Connect
) -> None:
    async with open_term("alice") as alice:
        bob = await two_rooms(alice, connect)
        carol = await connect("carol")
        mark = alice.screen.mark()
        await carol.join("#rust")
        await alice.screen.wait_for("carol joined #rust", mark)
        assert "act: #rust |" in toolbar(alice)  # a join alone: listed, not counted
        await bob.channel("#rust").send("malice is not a mention")
        await carol.channel("#rust").send("Alice: you tried it, right?")
        await alice.screen.wait_for("you tried it", mark)
        assert "act: #rust(2!) |" in toolbar(alice)
        assert ("bold", "#rust(2!)") in alice.client.toolbar()

        mark = alice.screen.mark()
        alice.client.cycle(-1)  # Ctrl-P: #python -> #rust
        assert alice.client.current == "#rust"
        replay = alice.screen.since(mark).splitlines()
        assert replay[0].endswith("---- #rust: 2 unread, 1 highlight ----")
        assert [line.split(" ", 1)[1] for line in replay[1:]] == [
            "-!- carol joined #rust",
            "#rust <bob> malice is not a mention",
            "#rust <carol> Alice: you tried it, right?",
        ]
        assert "act:" not in toolbar(alice)


async def test_msg_replays_a_private_conversation_before_sending(
    open_term: OpenTerm, connect: Connect
) -> None:
    async with open_term("alice") as alice:
        await alice.type("/join #python")
        carol = await connect("carol")
        mark = alice.screen.mark()
        await carol.send("alice", "are you there?")
        await carol.send("alice", "call me")
        await alice.screen.wait_for("call me", mark)
        assert "act: carol(2!) |" in toolbar(alice)
        shown = (await alice.type("/msg carol on my way")).splitlines()
        assert shown[0].endswith("---- carol: 2 unread, 2 highlights ----")
        assert shown[1].endswith("[PM] <carol> are you there?")
        assert shown[2].endswith("[PM] <carol> call me")
        assert shown[3].endswith("[PM] -> carol: on my way")
        assert "act:" not in toolbar(alice)


async def test_the_replay_is_capped_at_50_lines(open_term: OpenTerm, connect: Connect) -> None:
    async with open_term("alice") as alice:
        bob = await two_rooms(alice, connect)
        mark = alice.screen.mark()
        for n in range(1, 56):
            await bob.channel("#rust").send(f"line {n}")
        await alice.screen.wait_for("#rust <bob> line 55", mark)
        assert "act: #rust(55) |" in toolbar(alice)
        shown = (await alice.type("/switch #rust")).splitlines()
        assert shown[1].endswith(
            "---- #rust: 55 unread; the last 50 lines follow, 5 older skipped (/last 55) ----"
        )
        assert [line.split("<bob> ")[1] for line in shown[2:]] == [
            f"line {n}" for n in range(6, 56)
        ]
        shown = (await alice.type("/last 55")).splitlines()
        assert shown[0].endswith("---- #rust: the last 55 lines ----")
        assert shown[1].endswith("#rust <bob> line 1")


async def test_last_reprints_the_current_conversation_only(
    open_term: OpenTerm, connect: Connect
) -> None:
    async with open_term("alice") as alice:
        assert "no conversation yet" in await alice.type("/last")
        await connect("carol")
        await alice.type("/msg carol")
        assert "nothing in carol yet" in await alice.type("/last")
        bob = await two_rooms(alice, connect)
        await bob.join("#python")
        mark = alice.screen.mark()
        for n in range(1, 6):
            await bob.channel("#python").send(f"py {n}")
        await bob.channel("#rust").send("not in #python")
        await alice.screen.wait_for("not in #python", mark)
        await alice.type("mine")

        shown = (await alice.type("/last 3")).splitlines()
        assert shown[0].endswith("-!- ---- #python: the last 3 lines ----")
        assert [line.split(" ", 1)[1] for line in shown[1:]] == [
            "#python <bob> py 4",
            "#python <bob> py 5",
            "#python <alice> mine",
        ]
        everything = await alice.type("/last")
        assert "the last 8 lines ----" in everything  # joins, 5 of bob's, mine
        assert "you joined #python" in everything and "bob joined #python" in everything
        assert "not in #python" not in everything
        assert "#rust" not in everything
        for bad in ("0", "-2", "many"):
            shown = await alice.type(f"/last {bad}")
            assert "/last takes a number of lines" in shown and "usage: /last [n]" in shown
        help_line = await alice.type("/help last")
        assert "/last [n]" in help_line and "example: /last 50" in help_line


async def test_ctrl_n_in_the_real_prompt_replays_and_the_toolbar_shows_activity(
    server: EmbeddedServer, connect: Connect, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts: list[PromptSession[str]] = []

    class Recording(PromptSession[str]):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            prompts.append(self)

    def rendered(value: Any) -> str:
        return fragment_list_to_text(to_formatted_text(value))

    monkeypatch.setattr(app, "PromptSession", Recording)
    screen = Screen()
    bob = await connect("bob")
    await bob.join("#a")
    with create_pipe_input() as keys:

        async def client() -> None:
            config = config_for(server.port, tmp_path, "#a", "#b")
            await app.run(config, input=keys, output=DummyOutput(), show=screen)

        async with anyio.create_task_group() as tg:
            tg.start_soon(client)
            await screen.wait_for("you joined #b")
            [prompt] = prompts
            assert rendered(prompt.message) == "[#b] alice> "
            mark = screen.mark()
            await bob.channel("#a").send("alice, look at this")
            await screen.wait_for("#a <bob> alice, look at this", mark)
            assert rendered(prompt.bottom_toolbar) == " #b | act: #a(1!) | /help | Tab, Ctrl-N"

            mark = screen.mark()
            keys.send_text("\x0e")  # Ctrl-N
            await screen.wait_for("---- #a: 1 unread, 1 highlight ----", mark)
            await screen.wait_for("#a <bob> alice, look at this", mark + 1)
            assert rendered(prompt.message) == "[#a] alice> "
            assert rendered(prompt.bottom_toolbar) == " #a | /help | Tab, Ctrl-N"
            keys.send_text("/last 1\r")
            await screen.wait_for("---- #a: the last 1 line ----", mark)
            keys.send_text("/quit\r")
