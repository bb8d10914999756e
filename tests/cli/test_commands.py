"""The pure command layer: parsing, durations, modes, help and completion."""

from __future__ import annotations

from pathlib import Path

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from justirc_cli.commands import (
    COMMANDS,
    Command,
    ModeChange,
    ParseError,
    PlainText,
    find_command,
    help_text,
    parse_duration,
    parse_line,
    parse_modes,
)
from justirc_cli.completion import CompletionContext, JustIRCCompleter, candidates

REQUIRED = [
    "join", "part", "leave", "msg", "query", "me", "nick", "image", "file", "rekey", "fingerprint",
    "safety", "verify", "accept-key", "users", "names", "whois", "list", "topic", "kick", "ban",
    "unban", "kickban", "op", "deop", "mod", "unmod", "invite", "mode", "transfer", "login",
    "register", "passwd", "quit", "help", "switch", "last",
]  # fmt: skip


@pytest.mark.parametrize("name", REQUIRED)
def test_every_required_command_exists(name: str) -> None:
    assert find_command(name) is not None


def test_plain_text_and_escapes() -> None:
    assert parse_line("hello there  ") == PlainText("hello there")
    assert parse_line("//not a command") == PlainText("/not a command")
    assert parse_line("   ") is None


def test_commands_aliases_and_rest_arguments() -> None:
    parsed = parse_line("/QUERY bob  hi  there ")
    assert isinstance(parsed, Command)
    assert (parsed.name, parsed.args) == ("msg", ("bob", "hi  there"))
    parsed = parse_line("/me waves at everyone")
    assert isinstance(parsed, Command) and parsed.args == ("waves at everyone",)
    parsed = parse_line("/leave")
    assert isinstance(parsed, Command) and parsed.name == "part" and parsed.args == ()
    parsed = parse_line("/last 50")
    assert isinstance(parsed, Command) and parsed.name == "last" and parsed.args == ("50",)
    assert parse_line("/last 5 6") == ParseError("/last takes at most 1 argument(s)", "/last [n]")


def test_scoped_commands_take_an_optional_channel_first() -> None:
    parsed = parse_line("/kick #room bob go away")
    assert isinstance(parsed, Command)
    assert (parsed.channel, parsed.args) == ("#room", ("bob", "go away"))
    parsed = parse_line("/kick bob")
    assert isinstance(parsed, Command) and parsed.channel is None and parsed.args == ("bob",)
    parsed = parse_line("/topic #room")
    assert isinstance(parsed, Command) and parsed.channel == "#room" and parsed.args == ()


def test_quoted_file_names() -> None:
    parsed = parse_line('/image #room "my cat.png" a caption')
    assert isinstance(parsed, Command) and parsed.args == ("#room", "my cat.png", "a caption")
    error = parse_line('/image #room "my cat.png')
    assert isinstance(error, ParseError) and "quote" in error.message
    parsed = parse_line('/file bob "my notes.txt"  read  this ')
    assert isinstance(parsed, Command) and parsed.name == "file"
    assert parsed.args == ("bob", "my notes.txt", "read  this")
    assert parse_line("/file notes.txt") == ParseError(
        "/file needs more arguments", "/file target file [caption]"
    )


def test_bad_input_gives_a_message_and_the_usage() -> None:
    assert parse_line("/nope") == ParseError("unknown command /nope; type /help for the list")
    assert parse_line("/join") == ParseError(
        "/join needs more arguments", "/join #channel [password]"
    )
    error = parse_line("/op bob carol")
    assert isinstance(error, ParseError) and error.usage == "/op [#channel] nick"


def test_help_lists_every_command_and_explains_one() -> None:
    text = "\n".join(help_text())
    for spec in COMMANDS:
        assert spec.usage in text and spec.summary in text
    assert help_text("/names")[0].startswith("/users [#channel]")
    assert help_text("nope") == ["no command /nope; type /help for the list"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1w", 604800), ("1h30m", 5400),
     ("5", 300), ("1.5h", 5400)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "spam", "10x", "h", "0m", "m10", "10m spam", "-5m"])
def test_not_durations(text: str) -> None:
    assert parse_duration(text) is None


def test_mode_strings() -> None:
    assert parse_modes("+i -m") == ModeChange(invite_only=True, moderated=False)
    assert parse_modes("+ims-t") == ModeChange(
        invite_only=True, moderated=True, secret=True, topic_lock=False
    )
    assert parse_modes("+l 20 +k secret") == ModeChange(limit=20, password="secret")
    assert parse_modes("+lk 20 secret") == ModeChange(limit=20, password="secret")
    assert parse_modes("-l -k") == ModeChange(limit=0, password="")
    assert parse_modes("-k").as_kwargs() == {"password": ""}


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "no mode changes"), ("i", "not a mode change"), ("+x", "unknown mode"),
     ("+l", "+l needs"), ("+l many", "+l needs"), ("+l 0", "+l needs"), ("+k", "+k needs")],
)  # fmt: skip
def test_bad_mode_strings(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("+", r"\+")):
        parse_modes(text)


CTX = CompletionContext(nicks=("bob", "Bernard", "carol"), channels=("#python", "#pets"))


def test_completion_of_commands_nicks_and_channels() -> None:
    assert candidates("/jo", CTX) == ("/jo", ["/join"])
    assert candidates("/la", CTX) == ("/la", ["/last"])
    assert candidates("/last 2", CTX) == ("2", [])
    assert candidates("/k", CTX)[1] == ["/kick", "/kickban"]
    assert candidates("/join #p", CTX) == ("#p", ["#pets", "#python"])
    assert candidates("/msg b", CTX) == ("b", ["Bernard", "bob"])
    assert candidates("/kick #python c", CTX) == ("c", ["carol"])
    assert candidates("/kick #py", CTX) == ("#py", ["#python"])
    assert candidates("/image #p", CTX) == ("#p", ["#pets", "#python"])
    assert candidates("/image b", CTX) == ("b", ["Bernard", "bob"])
    assert candidates("/fi", CTX) == ("/fi", ["/file", "/fingerprint"])
    assert candidates("/file #p", CTX) == ("#p", ["#pets", "#python"])
    assert candidates("/file b", CTX) == ("b", ["Bernard", "bob"])
    assert candidates("/file bob ~/no", CTX) == ("~/no", [])  # like /image: no path completion
    assert candidates("/help to", CTX) == ("to", ["topic"])
    assert candidates("/op bob x", CTX) == ("x", [])
    assert candidates("car", CTX) == ("car", ["carol: "])
    assert candidates("hi car", CTX) == ("car", ["carol"])
    assert candidates("/nope x", CTX) == ("x", [])


def test_prompt_toolkit_completer_replaces_the_word() -> None:
    completer = JustIRCCompleter(lambda: CTX)
    found = list(completer.get_completions(Document("/whois ca"), CompleteEvent()))
    assert [(c.text, c.start_position) for c in found] == [("carol", -2)]


def test_the_manual_documents_every_command() -> None:
    manual = (Path(__file__).parents[2] / "docs" / "CLI.md").read_text(encoding="utf-8")
    for spec in COMMANDS:
        assert spec.usage.replace("|", "\\|") in manual, spec.name
        assert spec.example in manual, spec.name
