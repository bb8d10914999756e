"""The client end to end against a real server: chat, private messages, errors, /help."""

from __future__ import annotations

import pytest

from justirc_cli.commands import COMMANDS
from justirc_sdk import events

from .conftest import Connect, OpenTerm

pytestmark = pytest.mark.anyio


async def test_join_and_chat_both_ways_in_a_channel(open_term: OpenTerm, connect: Connect) -> None:
    async with open_term("alice") as alice:
        shown = await alice.type("/join #room")
        assert alice.client.current == "#room"
        assert "you joined #room" in await alice.screen.wait_for("you joined #room")
        bob = await connect("bob")
        await bob.join("#room")
        await alice.screen.wait_for("bob joined #room")

        got = bob.wait_for(events.Message, timeout=10)
        shown = await alice.type("hello, bob")
        assert (await got).text == "hello, bob"
        assert "#room <alice> hello, bob" in shown  # own message echoed

        mark = alice.screen.mark()
        await bob.channel("#room").send("hi alice")
        line = await alice.screen.wait_for("hi alice", mark)
        assert "#room <bob> hi alice" in line

        await bob.channel("#room").send("waves", action=True)
        assert "* bob waves" in await alice.screen.wait_for("waves", mark)

        got = bob.wait_for(events.Message, check=lambda e: e.action, timeout=10)
        assert "* alice dances" in await alice.type("/me dances")
        assert (await got).text == "dances"


async def test_private_messages_both_ways(open_term: OpenTerm, connect: Connect) -> None:
    async with open_term("alice") as alice:
        bob = await connect("bob")
        got = bob.wait_for(events.Message, timeout=10)
        shown = await alice.type("/msg bob psst")
        assert (await got).channel is None
        assert "[PM] -> bob: psst" in shown
        assert alice.client.current == "bob"

        got = bob.wait_for(events.Message, timeout=10)
        await alice.type("second, plain text to the current conversation")
        assert (await got).text == "second, plain text to the current conversation"

        mark = alice.screen.mark()
        await bob.send("alice", "secret reply")
        assert "[PM] <bob> secret reply" in await alice.screen.wait_for("secret reply", mark)

        carol = await connect("carol")
        await carol.send("alice", "hey")
        await alice.screen.wait_for("[PM] <carol> hey", mark)
        assert alice.client.conversations == ["bob", "carol"]
        assert alice.client.current == "bob"  # an incoming message does not steal focus


async def test_switch_and_cycle_conversations(open_term: OpenTerm, connect: Connect) -> None:
    async with open_term("alice") as alice:
        await connect("bob")
        await alice.type("/join #a")
        await alice.type("/join #b")
        await alice.type("/query bob")
        assert alice.client.conversations == ["#a", "#b", "bob"]
        assert alice.client.prompt_text() == "[bob] alice> "
        alice.client.cycle(1)
        assert alice.client.current == "#a"
        alice.client.cycle(-1)
        assert alice.client.current == "bob"
        assert "now talking in #b" in await alice.type("/switch #b")
        assert "not in #zzz" in await alice.type("/switch #zzz")
        await alice.type("/part")
        assert alice.client.conversations == ["#a", "bob"]
        assert alice.client.current == "bob"


async def test_help_lists_every_command(open_term: OpenTerm) -> None:
    async with open_term("alice") as alice:
        shown = await alice.type("/help")
        for spec in COMMANDS:
            assert spec.usage in shown
        one = await alice.type("/help ban")
        assert "/ban [#channel] nick [duration] [reason]" in one
        assert "example: /ban spammer 2h flooding" in one


async def test_unknown_commands_and_bad_arguments_show_usage(open_term: OpenTerm) -> None:
    async with open_term("alice") as alice:
        assert "unknown command /frobnicate" in await alice.type("/frobnicate now")
        shown = await alice.type("/join")
        assert "/join needs more arguments" in shown
        assert "usage: /join #channel [password]" in shown
        shown = await alice.type("/op a b")
        assert "takes at most 1 argument" in shown
        assert "usage: /op [#channel] nick" in shown
        assert "channel names start with #" in await alice.type("/join room")
        assert "no conversation yet" in await alice.type("hello?")
        shown = await alice.type("/kick bob")
        assert "/kick needs a channel" in shown
        assert "Traceback" not in alice.screen.text


async def test_server_errors_are_one_readable_line(open_term: OpenTerm, connect: Connect) -> None:
    bob = await connect("bob")
    await bob.join("#room")
    async with open_term("alice") as alice:
        await alice.type("/join #room")
        shown = await alice.type("/kick bob")
        assert shown.count("\n") == 0
        assert "!!! server refused:" in shown
        shown = await alice.type("/msg nobody-here hi")
        assert "!!!" in shown and "nobody-here" in shown
        assert "Traceback" not in alice.screen.text


async def test_nick_whois_list_and_users(open_term: OpenTerm, connect: Connect) -> None:
    async with open_term("alice") as alice:
        await alice.type("/join #room")
        bob = await connect("bob")
        await bob.join("#room")
        await alice.screen.wait_for("bob joined")
        await alice.type("/topic hello world")
        await alice.screen.wait_for("alice set the topic of #room: hello world")
        assert "topic of #room: hello world" in await alice.type("/topic")
        assert "#room (2)" in await alice.type("/list")
        assert "hello world" in await alice.type("/list")
        shown = await alice.type("/names")
        assert "#room (2): " in shown and "bob" in shown and "alice" in shown
        assert "bob is online" in await alice.type("/whois bob")
        await alice.type("/nick alicia")
        await alice.screen.wait_for("you are now known as alicia")
        assert alice.client.prompt_text() == "[#room] alicia> "


async def test_accounts_register_login_and_change_password(open_term: OpenTerm) -> None:
    async with open_term("alice") as alice:
        answers = iter(["first-pass-123", "second-pass-456"])
        asked: list[str] = []

        async def ask(prompt: str) -> str:
            asked.append(prompt)
            return next(answers)

        alice.client.ask_secret = ask
        assert "account alice created" in await alice.type("/register first-pass-123")
        assert alice.session.account == "alice"
        assert "password changed" in await alice.type("/passwd")
        assert asked == ["current password: ", "new password: "]
        shown = await alice.type("/login second-pass-456")
        assert "!!! server refused: you are already logged in" in shown
        alice.client.ask_secret = None
        assert "give the password as an argument" in await alice.type("/login")
