"""Images and files in the chat panel: sending them with progress, saving received ones.

:meth:`ChatPanel.send_image <widgets.panel.ChatPanel.send_image>`,
:meth:`~widgets.panel.ChatPanel.send_file`, the *Image* and *File* upload buttons and
each file block's *Save* button are carried out here. Saving writes a new file and
never replaces one: ``report (1).pdf`` is used if ``report.pdf`` exists.
"""

from __future__ import annotations

import asyncio
import io
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from justirc_sdk.errors import JustIRCError
from justirc_sdk.files import safe_filename, safe_mime

from .records import Entry

if TYPE_CHECKING:
    from .panel import ChatPanel

__all__: list[str] = []


async def _upload(
    panel: ChatPanel,
    key: str,
    name: str,
    send: Callable[[Callable[[int, int], None]], Awaitable[None]],
) -> bool:
    """Run *send* with the panel's progress bar; False (and the error shown) if it failed."""
    panel.state.start_upload(key, name)
    panel._refresh(panel.state.take_dirty())

    def progress(done: int, total: int) -> None:
        panel.state.upload_progress(done, total)
        panel._refresh(panel.state.take_dirty())

    try:
        await send(progress)
    except JustIRCError as exc:
        panel.state.finish_upload(str(exc))
        panel._refresh(panel.state.take_dirty())
        return False
    panel.state.finish_upload()
    return True


async def _send_image(panel: ChatPanel, data: bytes, filename: str, caption: str | None) -> None:
    """Encrypt and send an image to the current conversation, showing progress."""
    allowed, why = panel.state.can_send()
    conv = panel.state.current_conversation
    if not allowed or conv is None:
        panel._set_status(why)
        return

    def send(progress: Callable[[int, int], None]) -> Awaitable[None]:
        if conv.kind == "channel":
            return panel.session.channel(conv.name).send_image(
                data, caption, progress, filename=filename
            )
        return panel.session.send_image(conv.name, data, caption, progress, filename=filename)

    if not await _upload(panel, conv.key, filename, send):
        return
    width, height, mime = _image_info(data)
    panel.state.add_image(
        conv.key,
        panel.state.own_nick,
        data,
        time.time(),
        filename=filename,
        mime_type=mime,
        width=width,
        height=height,
        caption=caption,
        own=True,
    )
    panel._refresh(panel.state.take_dirty())


async def _send_file(
    panel: ChatPanel,
    file: bytes | bytearray | str | os.PathLike[str],
    filename: str | None,
    caption: str | None,
    mime_type: str | None,
) -> None:
    """Encrypt and send any file (bytes or a path) to the current conversation.

    Shows the upload progress, then the file with its download link; errors go to the
    status line. The sent bytes are read back from a path to show them.
    """
    allowed, why = panel.state.can_send()
    conv = panel.state.current_conversation
    if not allowed or conv is None:
        panel._set_status(why)
        return
    if isinstance(file, bytes | bytearray):
        name = safe_filename(filename or "file")
        payload: bytes | str | os.PathLike[str] = bytes(file)
    else:
        name = safe_filename(filename or Path(file).name)
        payload = file  # the SDK checks its size before reading it

    def send(progress: Callable[[int, int], None]) -> Awaitable[None]:
        if conv.kind == "channel":
            return panel.session.channel(conv.name).send_file(
                payload, caption, progress, filename=name, mime_type=mime_type
            )
        return panel.session.send_file(
            conv.name, payload, caption, progress, filename=name, mime_type=mime_type
        )

    if not await _upload(panel, conv.key, name, send):
        return
    try:
        data = payload if isinstance(payload, bytes) else await _read(payload)
    except OSError as exc:  # sent, but gone or unreadable since
        panel.state.add_notice(conv.key, f"You sent {name} (cannot show it: {exc}).")
        panel._refresh(panel.state.take_dirty())
        return
    panel.state.add_file(
        conv.key,
        panel.state.own_nick,
        data,
        time.time(),
        filename=name,
        mime_type=safe_mime(mime_type) if mime_type else None,
        caption=caption,
        own=True,
    )
    if conv.kind == "private":
        panel._refresh_trust(conv.name)
    panel._refresh(panel.state.take_dirty())


def _save_clicked(panel: ChatPanel, entry: Entry) -> None:
    """A file block's *Save* button: save it and say where (or why not) on the status line."""
    try:
        path = panel.save_file(entry)
    except OSError as exc:
        panel._set_status(f"Could not save {entry.filename}: {exc}")
        return
    panel._set_status(f"Saved {entry.filename} to {path}")


def _on_image_upload(panel: ChatPanel, change: dict[str, Any]) -> None:
    """The *Image* button got a file: send it, then clear the button for the next one."""
    files: Sequence[Any] = change["new"] or ()
    for item in files:
        data = bytes(item["content"])
        name = str(item.get("name") or "image")
        panel._schedule(panel.send_image(data, name))
    if files:
        panel.upload.value = ()


def _on_file_upload(panel: ChatPanel, change: dict[str, Any]) -> None:
    """The *File* button got a file: send it, then clear the button for the next one."""
    files: Sequence[Any] = change["new"] or ()
    for item in files:
        data = bytes(item["content"])
        name = str(item.get("name") or "file")
        mime = str(item.get("type") or "") or None
        panel._schedule(panel.send_file(data, name, mime_type=mime))
    if files:
        panel.file_upload.value = ()


async def _read(path: str | os.PathLike[str]) -> bytes:
    """A file's bytes, read off the event loop."""
    return await asyncio.to_thread(Path(path).read_bytes)


def _write_new_file(directory: Path, entry: Entry) -> Path:
    """Write *entry*'s bytes to a new file in *directory*, never replacing one."""
    name = safe_filename(entry.filename)  # a bare name: no directories, no leading dots
    stem, suffix = os.path.splitext(name)
    directory.mkdir(parents=True, exist_ok=True)
    for attempt in range(1000):
        candidate = directory / (name if attempt == 0 else f"{stem} ({attempt}){suffix}")
        try:
            with candidate.open("xb") as out:
                out.write(entry.data or b"")
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"too many files named like {name!r} in {directory}")


def _image_info(data: bytes) -> tuple[int, int, str]:
    """Width, height and MIME type of an image (``0, 0, "image/png"`` if unreadable)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            mime = Image.MIME.get(image.format or "", "image/png")
            return image.width, image.height, mime
    except Exception:
        return 0, 0, "image/png"
