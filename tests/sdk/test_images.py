"""Encrypted images through the SDK: channel and private, validation, metadata stripping."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from justirc_sdk import events
from justirc_sdk.errors import ImageError
from justirc_sdk.images import prepare_image
from justirc_sdk.session import Session
from server.embedded import EmbeddedServer
from tests._sessions import sessions

from .conftest import Connect

pytestmark = pytest.mark.anyio

GPS_IFD = 0x8825


def jpeg_with_gps(width: int = 64, height: int = 48) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif.get_ifd(GPS_IFD)[2] = (48.0, 51.0, 29.0)  # GPSLatitude
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=90)
    return out.getvalue()


def png_bytes(width: int, height: int, noise: bool = False) -> bytes:
    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGBA", (width, height), (10, 200, 90, 255))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def png_bomb() -> bytes:
    """A tiny PNG file that claims 30000 x 30000 pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )


def image_from(session: Session, sender: str, channel: str | None = None) -> object:
    return session.wait_for(
        events.ImageMessage,
        check=lambda e: e.sender == sender and e.channel == channel,
        timeout=30,
    )


async def test_channel_image_arrives_byte_exact_without_exif(connect: Connect) -> None:
    alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
    room = await alice.join("#pics")
    await bob.join("#pics")
    joined = alice.wait_for(events.MemberJoined, check=lambda e: e.nick == "carol", timeout=10)
    await carol.join("#pics")
    await joined
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif()  # the input really has EXIF
    expected = prepare_image(original, max_bytes=10_000_000, filename="photo.jpg")
    progress: list[tuple[int, int]] = []
    at_bob, at_carol = image_from(bob, "alice", "#pics"), image_from(carol, "alice", "#pics")
    await room.send_image(
        original,
        caption="look",
        filename="photo.jpg",
        progress=lambda done, total: progress.append((done, total)),
    )
    for waiter in (at_bob, at_carol):
        got = await waiter  # type: ignore[misc]
        assert got.data == expected.data
        assert (got.width, got.height, got.mime_type) == (64, 48, "image/jpeg")
        assert got.caption == "look"
        assert got.filename == "photo.jpg"
        assert not Image.open(io.BytesIO(got.data)).getexif()
    assert progress[-1][0] == progress[-1][1]
    assert [d for d, _ in progress] == list(range(1, progress[-1][1] + 1))


async def test_private_image_from_path_and_pil(connect: Connect, tmp_path: Path) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    path = tmp_path / "chart.png"
    path.write_bytes(png_bytes(120, 80))
    got_path = image_from(bob, "alice")
    await alice.send_image("bob", path)
    received = await got_path  # type: ignore[misc]
    assert received.data == path.read_bytes()  # no metadata: sent unchanged
    assert (received.width, received.height, received.filename) == (120, 80, "chart.png")
    assert received.channel is None

    got_pil = image_from(bob, "alice")
    await alice.send_image("bob", Image.new("RGB", (33, 22), "navy"), caption="pil")
    received = await got_pil  # type: ignore[misc]
    assert (received.width, received.height, received.mime_type) == (33, 22, "image/png")


async def test_bad_images_are_refused_before_sending(connect: Connect) -> None:
    alice = await connect("alice")
    await connect("bob")
    with pytest.raises(ImageError, match=r"decompression bomb|pixel limit"):
        await alice.send_image("bob", png_bomb())
    with pytest.raises(ImageError, match=r"not a readable image"):
        await alice.send_image("bob", b"GIF89a but not really")
    with pytest.raises(ImageError, match="exceeds"):
        await alice.send_image("bob", png_bytes(64, 64, noise=True)[:0] + b"x" * 11_000_000)
    small_limit = await connect("carol", max_image_bytes=1000)
    with pytest.raises(ImageError, match="limit"):
        await small_limit.send_image("bob", png_bytes(64, 64, noise=True))
    bmp = io.BytesIO()
    Image.new("RGB", (4, 4)).save(bmp, format="BMP")
    with pytest.raises(ImageError, match="BMP"):
        await alice.send_image("bob", bmp.getvalue())


async def test_receiver_refuses_image_over_its_own_limit(connect: Connect) -> None:
    alice = await connect("alice")
    bob = await connect("bob", max_image_bytes=2000)
    failed = bob.wait_for(events.DecryptionFailed, timeout=10)
    await alice.send_image("bob", png_bytes(64, 64, noise=True))
    assert "exceeds" in (await failed).reason


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_ten_megabyte_image_passes_default_limits(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    data = png_bytes(1800, 1800, noise=True)
    assert len(data) > 9_000_000
    got = image_from(bob, "alice")
    await alice.send_image("bob", data)
    received = await got  # type: ignore[misc]
    assert received.data == data


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_image_survives_rate_limit_refusals(tmp_path: Path) -> None:
    """Chunks refused by a tight image limit are resent; the receiver reorders them."""
    data = png_bytes(400, 300, noise=True)  # ~360 KB: about 9 chunks
    limit = (200_000.0, 130_000.0)  # bytes/s and burst: refuses most of a full window
    with EmbeddedServer(tmp_path / "data", rate_images=limit, rate_refusals=(1e6, 1e6)) as srv:
        async with sessions("127.0.0.1", srv.port) as connect:
            alice, bob = await connect("alice"), await connect("bob")
            progress: list[int] = []
            got = image_from(bob, "alice")
            await alice.send_image("bob", data, progress=lambda done, _total: progress.append(done))
            received = await got  # type: ignore[misc]
    assert received.data == data
    assert progress == list(range(1, len(progress) + 1))
