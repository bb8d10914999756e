"""Attachment transfers of a session: images and files, chunked, both directions.

An attachment is announced by an end-to-end encrypted message carrying its descriptor
(key, size, digest, name); its chunks follow as ``kind="file"`` messages with binary
bodies, up to ``_WINDOW`` awaiting the server's ``ok``. The receiver authenticates each
chunk, puts them back in order, checks size and digest, and (for images) decodes every
pixel before anything is shown.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import anyio

from . import events as ev
from . import protocol as p
from .crypto import AttachmentDecryptor, AttachmentDescriptor
from .crypto.errors import CryptoError
from .errors import ImageError, RateLimited
from .files import safe_filename, safe_mime
from .images import ProgressCallback, check_image

if TYPE_CHECKING:
    from .session import Session

__all__ = ["Kind", "Transfers"]

Kind = Literal["image", "file"]

_FILE_ID = 16  # every attachment chunk starts with its file id
_WINDOW = 8  # attachment chunks in flight
_MAX_EARLY = 64  # chunks a receiver holds ahead of a missing one
_MAX_CHUNK_REFUSALS = 1000  # rate-limit refusals one attachment may wait out
_MAX_TRANSFERS_PER_SENDER = 4
_TRANSFER_TIMEOUT = 300.0


@dataclass
class _Transfer:
    """An attachment being received: its decryptor and what the sender said about it."""

    kind: Kind
    sender: str
    channel: str | None
    caption: str | None
    ts: float
    decryptor: AttachmentDecryptor
    started: float
    verified: bool
    parts: list[bytes] = field(default_factory=list)
    next_index: int = 0
    early: dict[int, bytes] = field(default_factory=dict)
    """Chunks that arrived ahead of their turn (a resent chunk overtaken by later ones)."""


class Transfers:
    """Sending and receiving attachment chunks for one :class:`Session`."""

    def __init__(self, session: Session, *, max_image_bytes: int, max_file_bytes: int) -> None:
        self._session = session
        self.max_image_bytes = max_image_bytes
        self.max_file_bytes = max_file_bytes
        self._incoming: dict[tuple[str, bytes], _Transfer] = {}

    # -- sending ----------------------------------------------------------------------

    async def send_chunks(
        self,
        nick: str | None,
        channel: str | None,
        chunks: list[bytes],
        progress: ProgressCallback | None,
    ) -> None:
        """Send attachment chunks with up to ``_WINDOW`` awaiting their ``ok``.

        The window keeps the connection busy while the server relays earlier chunks. A
        chunk the server refuses for the rate limit is sent again after ``retry_after``;
        the receiver puts chunks back in order by their authenticated index.
        ``progress(done, total)`` follows the acknowledged chunks.
        """
        session = self._session
        frames: deque[p.Frame] = deque()
        for chunk in chunks:  # raw bytes: each goes as a binary body, no base64
            if channel is not None:
                frames.append(p.ChanMsg(channel=channel, payload=chunk, kind="file"))
            else:
                assert nick is not None
                frames.append(p.PrivMsg(to=nick, payload=chunk, kind="file"))
        window: deque[tuple[str, Any, p.Frame]] = deque()
        total, done, refusals = len(frames), 0, 0
        try:
            while frames or window:
                while frames and len(window) < _WINDOW:
                    frame = frames.popleft()
                    window.append((*await session._send_request(frame), frame))
                rid, pending, frame = window.popleft()
                try:
                    await session._await_reply(rid, pending, "file")
                except RateLimited as exc:
                    refusals += 1
                    if refusals > _MAX_CHUNK_REFUSALS:
                        raise
                    await anyio.sleep(max(exc.retry_after, 0.01))
                    frames.appendleft(frame)
                    continue
                done += 1
                if progress is not None:
                    result = progress(done, total)
                    if result is not None:
                        await result
        finally:
            for rid, _, _ in window:
                session._pending.pop(rid, None)

    # -- receiving --------------------------------------------------------------------

    def start(
        self,
        kind: Kind,
        sender: str,
        channel: str | None,
        data: dict[str, Any],
        ts: float,
        verified: bool,
    ) -> list[ev.Event]:
        """An announcement arrived: expect its chunks (or say why not)."""
        self._expire()
        try:
            descriptor = AttachmentDescriptor.from_bytes(
                base64.b64decode(data["desc"], validate=True)
            )
            caption = data.get("caption")
            if caption is not None and not isinstance(caption, str):
                raise ValueError("caption must be text")
        except (KeyError, ValueError, TypeError, binascii.Error, CryptoError) as exc:
            return [ev.DecryptionFailed(sender, channel, f"bad {kind} descriptor: {exc}")]
        limit = self.max_image_bytes if kind == "image" else self.max_file_bytes
        if descriptor.size > limit:
            return [
                ev.DecryptionFailed(
                    sender, channel, f"{kind} of {descriptor.size:,} bytes exceeds the limit"
                )
            ]
        key = p.nick_key(sender)
        if sum(1 for (s, _) in self._incoming if s == key) >= _MAX_TRANSFERS_PER_SENDER:
            return [ev.DecryptionFailed(sender, channel, "too many attachments in flight")]
        self._incoming[(key, descriptor.file_id)] = _Transfer(
            kind,
            sender,
            channel,
            caption,
            ts,
            AttachmentDecryptor(descriptor),
            time.monotonic(),
            verified,
        )
        return []

    def _expire(self) -> None:
        now = time.monotonic()
        for key, transfer in list(self._incoming.items()):
            if now - transfer.started > _TRANSFER_TIMEOUT:
                del self._incoming[key]

    async def receive_chunk(
        self, sender: str, channel: str | None, payload: str | bytes
    ) -> list[ev.Event]:
        """One chunk arrived; the finished attachment's event once the last is in."""
        if isinstance(payload, bytes):
            raw = payload
        else:  # a chunk sent as base64 text is accepted too
            try:
                raw = base64.b64decode(payload, validate=True)
            except (binascii.Error, ValueError):
                return [ev.DecryptionFailed(sender, channel, "attachment chunk is not base64")]
        key = (p.nick_key(sender), raw[:_FILE_ID])
        transfer = self._incoming.get(key)
        if transfer is None or transfer.channel != channel:
            return [ev.DecryptionFailed(sender, channel, "attachment chunk for no known transfer")]
        index = int.from_bytes(raw[_FILE_ID : _FILE_ID + 4], "big")
        if index < transfer.next_index or index in transfer.early:
            return []  # a duplicate: the chunk is already in
        if index > transfer.next_index:
            if len(transfer.early) >= _MAX_EARLY:
                del self._incoming[key]
                return [ev.DecryptionFailed(sender, channel, "attachment chunks far out of order")]
            transfer.early[index] = raw  # authenticated when its turn comes
            return []
        try:
            chunk: bytes | None = raw
            while chunk is not None:
                transfer.parts.append(transfer.decryptor.feed(chunk))
                transfer.next_index += 1
                chunk = transfer.early.pop(transfer.next_index, None)
            if not transfer.decryptor.complete:
                return []
            transfer.decryptor.finish()
        except CryptoError as exc:
            del self._incoming[key]
            return [ev.DecryptionFailed(sender, channel, f"{transfer.kind} rejected: {exc}")]
        del self._incoming[key]
        return await self._finished(transfer, b"".join(transfer.parts))

    async def _finished(self, transfer: _Transfer, data: bytes) -> list[ev.Event]:
        descriptor = transfer.decryptor.descriptor
        sender, channel = transfer.sender, transfer.channel
        if transfer.kind == "file":
            return [
                ev.FileMessage(
                    sender=sender,
                    channel=channel,
                    data=data,
                    filename=safe_filename(descriptor.name),
                    mime_type=safe_mime(descriptor.mime),
                    size=len(data),
                    caption=transfer.caption,
                    timestamp=transfer.ts,
                    verified=transfer.verified,
                )
            ]
        try:
            # decoding every pixel takes a while for a large image: off the event loop
            mime, width, height = await anyio.to_thread.run_sync(
                check_image, data, self.max_image_bytes
            )
        except ImageError as exc:
            return [ev.DecryptionFailed(sender, channel, f"image rejected: {exc}")]
        return [
            ev.ImageMessage(
                sender=sender,
                channel=channel,
                data=data,
                filename=safe_filename(descriptor.name, "image"),
                mime_type=mime,
                width=width,
                height=height,
                caption=transfer.caption,
                timestamp=transfer.ts,
                verified=transfer.verified,
            )
        ]
