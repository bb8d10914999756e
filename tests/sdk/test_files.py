"""Encrypted files through the SDK: any bytes, private and channel, limits, hostile names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from justirc_sdk import events
from justirc_sdk.errors import FileError, FileTooLarge
from justirc_sdk.files import PreparedFile, prepare_file, safe_filename, safe_mime
from justirc_sdk.session import Session

from .conftest import Connect

pytestmark = pytest.mark.anyio


def file_from(session: Session, sender: str, channel: str | None = None) -> object:
    return session.wait_for(
        events.FileMessage,
        check=lambda e: e.sender == sender and e.channel == channel,
        timeout=30,
    )


async def test_private_file_from_a_path_arrives_byte_exact(
    connect: Connect, tmp_path: Path
) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    path = tmp_path / "results.csv"
    path.write_bytes(b"x,y\n" + os.urandom(150_000))  # three chunks, incompressible
    got = file_from(bob, "alice")
    progress: list[tuple[int, int]] = []
    await alice.send_file(
        "bob", path, caption="today's run", progress=lambda d, t: progress.append((d, t))
    )
    received = await got  # type: ignore[misc]
    assert received.data == path.read_bytes()
    assert (received.filename, received.mime_type, received.size) == (
        "results.csv",
        "text/csv",
        path.stat().st_size,
    )
    assert (received.caption, received.channel) == ("today's run", None)
    assert progress == [(1, 3), (2, 3), (3, 3)]


async def test_channel_file_reaches_every_member(connect: Connect) -> None:
    alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
    room = await alice.join("#data")
    await bob.join("#data")
    joined = alice.wait_for(events.MemberJoined, check=lambda e: e.nick == "carol", timeout=10)
    await carol.join("#data")
    await joined
    payload = bytes(range(256)) * 40
    waiters = [file_from(bob, "alice", "#data"), file_from(carol, "alice", "#data")]
    await room.send_file(payload, filename="table.bin", mime_type="application/x-parquet")
    for waiter in waiters:
        got = await waiter  # type: ignore[misc]
        assert got.data == payload
        assert (got.filename, got.mime_type) == ("table.bin", "application/x-parquet")


async def test_a_hostile_name_and_type_arrive_harmless(
    connect: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = await connect("alice"), await connect("bob")

    def hostile(file: object, **_: object) -> PreparedFile:  # a modified client's sender
        return PreparedFile(b"#!/bin/sh\n", "../..\x1b[31mrun\u202e.sh", "text/html; x=<b>")

    monkeypatch.setattr("justirc_sdk._messaging.prepare_file", hostile)
    got = file_from(bob, "alice")
    await alice.send_file("bob", b"ignored")
    received = await got  # type: ignore[misc]
    assert received.filename == "[31mrun.sh"  # no directories, escapes or bidi override
    assert received.mime_type == "application/octet-stream"
    assert received.data == b"#!/bin/sh\n"


async def test_files_over_the_limits_are_refused(connect: Connect, tmp_path: Path) -> None:
    alice = await connect("alice", max_file_bytes=10_000)
    bob = await connect("bob", max_file_bytes=5_000)
    with pytest.raises(FileTooLarge, match="10,000"):
        await alice.send_file("bob", b"x" * 10_001)
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 20_000)
    with pytest.raises(FileTooLarge, match=r"big\.bin"):
        await alice.send_file("bob", big)
    with pytest.raises(FileError, match="cannot read"):
        await alice.send_file("bob", tmp_path / "missing.txt")
    refused = bob.wait_for(events.DecryptionFailed, timeout=10)
    await alice.send_file("bob", b"y" * 8_000, filename="over-bobs-limit.txt")
    assert "exceeds the limit" in (await refused).reason  # type: ignore[attr-defined]
    got = file_from(bob, "alice")
    await alice.send_file("bob", b"fits", filename="ok.txt")
    assert (await got).data == b"fits"  # type: ignore[misc,attr-defined]


def test_safe_filename_and_mime() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\Users\\x\\report.pdf") == "report.pdf"
    assert safe_filename(".bashrc") == "bashrc"
    assert safe_filename("..") == "file"
    assert safe_filename("a\x00b\nc\u200bd.txt") == "abcd.txt"
    assert safe_filename("é" * 300) == "é" * 200
    assert safe_mime("Text/CSV") == "text/csv"
    for bad in ("text", "text/html; charset=x", "<script>/x", 5, "a/b/c"):
        assert safe_mime(bad) == "application/octet-stream"


def test_prepare_file_guesses_the_type_from_the_name(tmp_path: Path) -> None:
    path = tmp_path / "plot.svg"
    path.write_text("<svg/>")
    prepared = prepare_file(path, max_bytes=100)
    assert (prepared.filename, prepared.mime_type, prepared.data) == (
        "plot.svg",
        "image/svg+xml",
        b"<svg/>",
    )
    assert prepare_file(b"\x00", max_bytes=1).mime_type == "application/octet-stream"
