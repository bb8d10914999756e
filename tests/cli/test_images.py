"""Images through the client: sending with progress, receiving into safe, fresh files."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import Image

from justirc_sdk import events

from .conftest import Connect, OpenTerm

pytestmark = pytest.mark.anyio


def png(colour: tuple[int, int, int] = (10, 200, 90), size: tuple[int, int] = (32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


async def test_image_send_to_a_channel_with_progress(
    open_term: OpenTerm, connect: Connect, tmp_path: Path
) -> None:
    picture = tmp_path / "cat picture.png"
    picture.write_bytes(png())
    async with open_term("alice") as alice:
        await alice.type("/join #room")
        bob = await connect("bob")
        await bob.join("#room")
        await alice.screen.wait_for("bob joined")
        statuses: list[str | None] = []
        alice.client.on_change = lambda: statuses.append(alice.client.status)
        got = bob.wait_for(events.ImageMessage, timeout=10)
        shown = await alice.type(f'/image #room "{picture}" look at this')
        image = await got
        assert (image.width, image.height) == (32, 24)
        assert image.caption == "look at this"
        assert "image cat picture.png" in shown and "sent to #room" in shown
        bars = [s for s in statuses if s]
        assert bars and "sending cat picture.png to #room [" in bars[0]
        assert bars[-1].endswith("100%")
        assert statuses[-1] is None  # the progress line is gone afterwards


async def test_image_send_errors_are_readable(open_term: OpenTerm, tmp_path: Path) -> None:
    not_image = tmp_path / "notes.txt"
    not_image.write_text("hello")
    async with open_term("alice") as alice:
        await alice.type("/join #room")
        assert "no such file" in await alice.type(f"/image #room {tmp_path / 'missing.png'}")
        shown = await alice.type(f"/image #room {not_image}")
        assert "!!! not a readable image" in shown
        assert alice.client.status is None


async def test_received_images_land_in_the_download_dir_under_safe_new_names(
    open_term: OpenTerm, connect: Connect
) -> None:
    async with open_term("alice") as alice:
        bob = await connect("bob")
        downloads = alice.client.download_dir
        paths = []
        for _ in range(2):
            mark = alice.screen.mark()
            await bob.send_image("alice", png(), "hi", filename="../../etc/passwd")
            line = await alice.screen.wait_for("[image]", mark)
            assert "[PM] [image] <bob> 32x24 'hi' saved to " in line
            paths.append(Path(line.split("saved to ", 1)[1]))
        first, second = paths
        assert first != second  # a repeat never overwrites
        for path in paths:
            assert path.parent == downloads
            assert path.name.endswith("-passwd.png") or "-passwd-" in path.name
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert path.stat().st_mode & 0o077 == 0
        assert sorted(p.name for p in downloads.iterdir()) == sorted(p.name for p in paths)
        assert alice.client.conversations == ["bob"]


async def test_hostile_file_names_from_a_modified_sender_stay_inside(
    open_term: OpenTerm, tmp_path: Path
) -> None:
    """The SDK strips directories when sending, but a hostile client may not: check ours."""
    async with open_term("alice") as alice:
        downloads = alice.client.download_dir
        downloads.mkdir(parents=True)
        victim = tmp_path / "y.png"
        victim.write_bytes(b"precious")
        for name in ("x/../../y.png", "../../etc/passwd", "..", "/etc/shadow", "..\\..\\win.ini"):
            event = events.ImageMessage(
                "mallory", "#room", png(), name, "image/png", 32, 24, None, time.time()
            )
            await alice.client.handle_event(event)
        assert victim.read_bytes() == b"precious"
        saved = sorted(p.name for p in downloads.iterdir())
        assert len(saved) == 5
        assert all(p.is_file() and not p.is_symlink() for p in downloads.iterdir())
        assert any(name.endswith("-y.png") for name in saved)
        assert any(name.endswith("-passwd.png") for name in saved)
        assert any(name.endswith("-image.png") for name in saved)
        assert "saved to" in alice.screen.text
