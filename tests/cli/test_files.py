"""Files through the client: sending with progress, receiving into safe, fresh files."""

from __future__ import annotations

import os
import time
from pathlib import Path

import anyio
import pytest

from justirc_cli.conversations import Level, route
from justirc_cli.downloads import safe_file_name, save_file
from justirc_cli.formatting import format_file, plain, size_text
from justirc_sdk import events

from .conftest import Connect, OpenTerm

T = time.mktime((2024, 1, 31, 12, 0, 0, 0, 0, -1))
CSV = b"day,temp\n" + b"mon,12\n" * 1755  # 12 KiB


def file_event(
    name: str,
    data: bytes = b"x",
    *,
    sender: str = "mallory",
    channel: str | None = "#room",
    caption: str | None = None,
    mime_type: str = "application/octet-stream",
) -> events.FileMessage:
    return events.FileMessage(
        sender, channel, data, name, mime_type, len(data), caption, T, verified=False
    )


# -- pure pieces ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "saved"),
    [("data.csv", "data.csv"), ("../../x", "x"), (".bashrc", "bashrc"),
     ("../../.ssh/authorized_keys", "authorized_keys"), ("..", "file"), ("", "file"),
     ("x/../../y.tar.gz", "y.tar.gz"), ("C:\\evil\\run.exe", "run.exe"),
     ("/etc/shadow", "shadow"), ("héllo wörld.pdf", "h_llo_w_rld.pdf"),
     ("a.$$$", "a"), ("notes.", "notes"), ("CON.txt", "_CON.txt"), ("nul", "_nul"),
     ("a" * 300 + "." + "b" * 40, "a" * 64 + "." + "b" * 16)],
)  # fmt: skip
def test_safe_file_names_keep_a_cleaned_name_and_extension(given: str, saved: str) -> None:
    assert safe_file_name(given) == saved


def test_safe_file_names_count_before_the_extension() -> None:
    assert safe_file_name("data.csv", 1) == "data-1.csv"
    assert safe_file_name("README", 2) == "README-2"


def test_saving_files_never_overwrites_or_follows_links(tmp_path: Path) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_bytes(b"keep")
    downloads = tmp_path / "dl"
    downloads.mkdir()
    (downloads / "data.csv").write_bytes(b"mine")
    os.symlink(outside, downloads / "data-1.csv")  # a trap waiting at the next name
    saved = [save_file(downloads, data, "data.csv") for data in (b"one", b"two")]
    assert [p.name for p in saved] == ["data-2.csv", "data-3.csv"]
    assert [p.read_bytes() for p in saved] == [b"one", b"two"]
    assert (downloads / "data.csv").read_bytes() == b"mine"
    assert outside.read_bytes() == b"keep"
    assert all(p.stat().st_mode & 0o177 == 0 for p in saved)  # 0600: not executable


def test_sizes_for_people() -> None:
    assert [size_text(n) for n in (0, 512, 12 * 1024, 3_500_000)] == [
        "0 B",
        "512 B",
        "12 KiB",
        "3.3 MiB",
    ]


def test_received_file_lines() -> None:
    event = file_event("data.csv", CSV, sender="bob", caption="the numbers", mime_type="text/csv")
    line = plain(format_file(event, Path("/dl/data.csv")))
    assert line == (
        "12:00 #room [file] <bob> data.csv (12 KiB, text/csv) saved to /dl/data.csv — the numbers"
    )
    private = file_event("a.bin", b"\0" * 10, sender="bob", channel=None)
    assert plain(format_file(private, Path("/dl/a.bin"))) == (
        "12:00 [PM] [file] <bob> a.bin (10 B, application/octet-stream) saved to /dl/a.bin"
    )
    sneaky = file_event("cod\u202eexe.txt", caption="ok\x1b[2J")
    assert "\u202e" not in plain(format_file(sneaky, Path("/dl/x")))
    assert "\x1b" not in plain(format_file(sneaky, Path("/dl/x")))


def test_received_files_are_routed_like_messages() -> None:
    assert route(file_event("a", sender="bob"), "alice") == ("#room", Level.MESSAGE)
    assert route(file_event("a", sender="bob", caption="alice: here"), "alice") == (
        "#room",
        Level.HIGHLIGHT,
    )
    assert route(file_event("a", sender="bob", channel=None), "alice") == (
        "bob",
        Level.HIGHLIGHT,
    )


# -- through the server -----------------------------------------------------------------


@pytest.mark.anyio
async def test_file_send_to_a_channel_with_progress(
    open_term: OpenTerm, connect: Connect, tmp_path: Path
) -> None:
    report = tmp_path / "quarterly report.csv"
    report.write_bytes(CSV)
    async with open_term("alice") as alice:
        await alice.type("/join #room")
        bob = await connect("bob")
        await bob.join("#room")
        await alice.screen.wait_for("bob joined")
        statuses: list[str | None] = []
        alice.client.on_change = lambda: statuses.append(alice.client.status)
        got = bob.wait_for(events.FileMessage, timeout=10)
        shown = await alice.type(f'/file #room "{report}" see the numbers')
        received = await got
        assert received.data == CSV
        assert (received.filename, received.mime_type) == ("quarterly report.csv", "text/csv")
        assert received.caption == "see the numbers"
        assert "-!- file quarterly report.csv (12 KiB) sent to #room" in shown
        bars = [s for s in statuses if s]
        assert bars and "sending quarterly report.csv to #room [" in bars[0]
        assert bars[-1].endswith("100%")
        assert statuses[-1] is None  # the progress line is gone afterwards
        assert "sent to #room" in "\n".join(map(plain, alice.client.convs.last(5, "#room")))


@pytest.mark.anyio
async def test_a_file_between_two_clients_arrives_intact(open_term: OpenTerm) -> None:
    """alice types /file bob ...; bob's client saves the same bytes and says where."""
    data = os.urandom(200_000)  # several chunks, any bytes
    async with open_term("alice") as alice, open_term("bob") as bob:
        source = bob.client.download_dir.parent / "blob.bin"
        source.write_bytes(data)
        shown = await bob.type(f"/file alice {source} raw data")
        assert "-!- file blob.bin (195 KiB) sent to alice" in shown
        line = await alice.screen.wait_for("[file]", 0)
        assert "[PM] [file] <bob> blob.bin (195 KiB, application/octet-stream) saved to " in line
        assert line.endswith(" — raw data")
        saved = anyio.Path(line.split("saved to ", 1)[1].rsplit(" — ", 1)[0])
        assert saved == anyio.Path(alice.client.download_dir / "blob.bin")
        assert await saved.read_bytes() == data
        assert (await saved.stat()).st_mode & 0o177 == 0
        assert alice.client.conversations == ["bob"]  # a private file opens the conversation


@pytest.mark.anyio
async def test_files_in_another_conversation_count_as_unread(
    open_term: OpenTerm, connect: Connect
) -> None:
    async with open_term("alice") as alice:
        await alice.type("/join #room")
        await alice.type("/join #other")
        bob = await connect("bob")
        await bob.join("#room")
        await bob.channel("#room").send_file(b"a,b\n", filename="t.csv")
        await alice.screen.wait_for("[file] <bob> t.csv")
        await bob.send_file("alice", b"psst", filename="secret.txt")
        await alice.screen.wait_for("[file] <bob> secret.txt")
        labels = [a.label for a in alice.client.convs.activity()]
        assert labels == ["bob(1!)", "#room(1)"]
        assert alice.client.current == "#other"  # a file never steals focus
        shown = await alice.type("/switch #room")
        assert "[file] <bob> t.csv (4 B, text/csv) saved to " in shown


@pytest.mark.anyio
async def test_file_send_errors_are_readable(open_term: OpenTerm, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * 2000)
    async with open_term("alice", max_file_bytes=1000) as alice:
        await alice.type("/join #room")
        shown = await alice.type(f"/file #room {tmp_path / 'missing.txt'}")
        assert "!!! no such file" in shown and "usage: /file target file [caption]" in shown
        assert "!!! no such file" in await alice.type(f"/file #room {tmp_path}")
        shown = await alice.type(f"/file #room {big}")
        assert "!!! big.bin is 2,000 bytes; the limit is 1,000" in shown
        assert "sent to" not in shown
        assert alice.client.status is None
        assert "/file needs more arguments" in await alice.type(f"/file {big}")


@pytest.mark.anyio
async def test_hostile_file_names_from_a_modified_sender_stay_inside(
    open_term: OpenTerm, tmp_path: Path
) -> None:
    """The SDK cleans names when receiving, but check ours does not rely on it."""
    async with open_term("alice") as alice:
        downloads = alice.client.download_dir
        downloads.mkdir(parents=True)
        victim = tmp_path / "x"
        victim.write_bytes(b"precious")
        names = ["../../x", "../x", "x", ".bashrc", "/etc/passwd", "..\\..\\win.ini", "..", ""]
        for name in names:
            await alice.client.handle_event(file_event(name, b"evil"))
        assert victim.read_bytes() == b"precious"
        saved = sorted(p.name for p in downloads.iterdir())
        assert saved == ["bashrc", "file", "file-1", "passwd", "win.ini", "x", "x-1", "x-2"]
        assert all(p.is_file() and not p.is_symlink() for p in downloads.iterdir())
        assert alice.screen.text.count("saved to ") == len(names)
