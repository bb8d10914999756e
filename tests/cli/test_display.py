"""Pure display pieces: formatting, colours, safe download names, configuration."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from justirc_cli.config import load_config
from justirc_cli.downloads import safe_name, safe_stem, save_image
from justirc_cli.formatting import (
    format_error,
    format_event,
    format_own,
    nick_colour,
    plain,
    progress_bar,
)
from justirc_sdk import events
from justirc_sdk.errors import Forbidden, RateLimited

T = time.mktime((2024, 1, 31, 15, 45, 0, 0, 0, -1))


def test_nick_colours_are_stable_and_case_insensitive() -> None:
    assert nick_colour("bob") == nick_colour("Bob") == nick_colour("bob")
    assert len({nick_colour(n) for n in ("alice", "bob", "carol", "dave", "eve", "frank")}) > 2


def test_message_lines() -> None:
    [line] = format_event(events.Message("bob", "hi", "#c", T), "alice")
    assert plain(line) == "15:45 #c <bob> hi"
    [line] = format_event(events.Message("bob", "hi", None, T, verified=True), "alice")
    assert plain(line) == "15:45 [PM] <✓bob> hi"
    [line] = format_event(events.Message("bob", "waves", "#c", T, action=True), "alice")
    assert plain(line) == "15:45 #c * bob waves"
    assert plain(format_own("alice", "bob", "psst")).endswith("[PM] -> bob: psst")


def test_notices_decryption_failures_and_key_changes() -> None:
    [line] = format_event(events.Kicked("#c", "alice", "bob", "bye", banned=True), "alice")
    assert plain(line).endswith("-!- you were banned from #c by bob: bye")
    [line] = format_event(events.DecryptionFailed("bob", "#c", "bad tag"), "alice")
    assert "[undecryptable] a message from bob in #c was dropped: bad tag" in plain(line)
    loud = format_event(events.KeyChanged("bob", "1111", "2222"), "alice")
    assert len(loud) > 3 and all(line[0][0].startswith("bg:ansired") for line in loud)
    assert format_event(events.UserOnline("bob"), "alice") == []
    [line] = format_event(events.Disconnected("reset", will_reconnect=True), "alice")
    assert "disconnected: reset; reconnecting" in plain(line)
    [line] = format_event(events.ModeChanged("#c", {"invite_only": True, "limit": 0}, "b"), "a")
    assert plain(line).endswith("b set modes of #c: +i -l")


def test_errors_are_one_line() -> None:
    assert plain(format_error(Forbidden("you are not an op"))).endswith(
        "!!! server refused: you are not an op"
    )
    assert "try again in 3 s" in plain(format_error(RateLimited("slow", retry_after=3)))
    assert plain(format_error(RuntimeError())).endswith("!!! RuntimeError")


def test_progress_bar() -> None:
    assert progress_bar("up", 0, 10, width=10) == "up [..........]   0%"
    assert progress_bar("up", 5, 10, width=10) == "up [#####.....]  50%"
    assert progress_bar("up", 10, 10, width=10) == "up [##########] 100%"


@pytest.mark.parametrize(
    ("given", "stem"),
    [("../../etc/passwd", "passwd"), ("x/../../y.png", "y"), ("..", "image"), (None, "image"),
     (".bashrc", "bashrc"), ("C:\\evil\\run.exe", "run"), ("héllo wörld.png", "h_llo_w_rld"),
     ("a" * 300 + ".png", "a" * 64), ("\x00\n.png", "image"), ("cat.tar.gz", "cat.tar")],
)  # fmt: skip
def test_safe_stems(given: str | None, stem: str) -> None:
    assert safe_stem(given) == stem


def test_safe_names_use_the_mime_type_not_the_senders_extension() -> None:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(T))
    assert safe_name("evil.sh", "image/png", T) == f"{stamp}-evil.png"
    assert safe_name("evil.sh", "image/jpeg", T, 2) == f"{stamp}-evil-2.jpg"
    assert safe_name("x", "text/html", T).endswith(".img")


def test_saving_never_overwrites_or_follows_links(tmp_path: Path) -> None:
    target = tmp_path / "outside.png"
    target.write_bytes(b"keep")
    downloads = tmp_path / "dl"
    downloads.mkdir()
    name = safe_name("cat.png", "image/png", T)
    os.symlink(target, downloads / name)  # a trap waiting at the first name
    first = save_image(downloads, b"one", "cat.png", "image/png", T)
    second = save_image(downloads, b"two", "cat.png", "image/png", T)
    assert target.read_bytes() == b"keep"
    assert first.name != name and first != second
    assert (first.read_bytes(), second.read_bytes()) == (b"one", b"two")
    assert first.parent == second.parent == downloads


def test_config_from_flags_and_environment(tmp_path: Path) -> None:
    env = {
        "JUSTIRC_HOST": "chat.example",
        "JUSTIRC_PORT": "7000",
        "JUSTIRC_NICK": "envnick",
        "JUSTIRC_TLS": "yes",
        "JUSTIRC_CHANNELS": "#a, #b",
        "MY_PASS": "hunter2",
        "JUSTIRC_DOWNLOAD_DIR": str(tmp_path),
    }
    config = load_config(
        ["--nick", "flagnick", "--channel", "#c", "--passphrase-env", "MY_PASS"], env
    )
    assert (config.host, config.port, config.nick, config.tls) == (
        "chat.example",
        7000,
        "flagnick",
        True,
    )
    assert config.channels == ("#c", "#a", "#b")
    assert config.passphrase == "hunter2"
    assert config.download_dir == tmp_path
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return "pw"

    config = load_config(["--password", "--nick", "x"], {}, ask)
    assert config.password == "pw" and asked == ["password for x: "]
    assert load_config(["--nick", "x", "--password", "given"], {}).password == "given"
    assert load_config(["--nick", "x", "--tls-fingerprint", "ab"], {}).tls is True


def test_config_refuses_missing_nick(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        load_config([], {})
    assert "a nickname is required" in capsys.readouterr().err
