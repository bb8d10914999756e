"""Encrypted traffic of a session: text, images and key management over the wire.

This is the glue between the session's connection and the crypto engine: it fetches
and pins key bundles, hands sender keys to channel members before a channel message
needs them, chunks images, and turns decrypted payloads back into events. The
payload formats inside the ciphertext are documented in ``docs/PROTOCOL.md``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from . import events as ev
from . import protocol as p
from ._e2e import Inbound
from .crypto import AttachmentDecryptor, AttachmentDescriptor, encrypt_attachment
from .crypto.attachments import MAX_CHUNK_SIZE
from .crypto.errors import CryptoError, KeyChangedError, MissingKeysError, RekeyRequiredError
from .errors import (
    ImageError,
    JustIRCError,
    MessageTooLarge,
    NotInChannel,
    RateLimited,
)
from .images import ImageInput, ProgressCallback, check_image, prepare_image

if TYPE_CHECKING:
    from .session import Session

__all__ = ["MAX_TEXT_BYTES", "Messaging"]

_log = logging.getLogger(__name__)
_FILE_ID = 16  # every attachment chunk starts with its file id
_CHUNK = MAX_CHUNK_SIZE  # 60 KiB: the largest whose sealed chunk fits one binary body
_WINDOW = 8  # attachment chunks in flight
_MAX_EARLY = 64  # chunks a receiver holds ahead of a missing one
_MAX_CHUNK_REFUSALS = 1000  # rate-limit refusals one image may wait out
_MAX_TRANSFERS_PER_SENDER = 4
_TRANSFER_TIMEOUT = 300.0
_MAX_HELD = 50
_KEY_WAIT = 30.0
_ASK_INTERVAL = 10.0
_KEY_REQUEST_PREFIX = b'{"t":"key_request"'


@dataclass
class _Transfer:
    """An image being received: its decryptor and what the sender said about it."""

    sender: str
    channel: str | None
    meta: dict[str, Any]
    decryptor: AttachmentDecryptor
    started: float
    verified: bool
    parts: list[bytes] = field(default_factory=list)
    next_index: int = 0
    early: dict[int, bytes] = field(default_factory=dict)
    """Chunks that arrived ahead of their turn (a resent chunk overtaken by later ones)."""


MAX_TEXT_BYTES = 32 * 1024
"""Longest message text, in bytes of UTF-8 (what fits one frame after encryption)."""


def _body(kind: str, **fields: Any) -> bytes:
    return json.dumps({"t": kind, **fields}, separators=(",", ":"), ensure_ascii=False).encode()


def _text_body(text: str, action: bool) -> bytes:
    if not isinstance(text, str):
        raise TypeError("message text must be a str")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise MessageTooLarge(
            f"message is longer than {MAX_TEXT_BYTES:,} bytes of UTF-8; split it or send a file"
        )
    return _body("text", text=text, action=action)


class Messaging:
    """Sending and receiving encrypted messages for one :class:`Session`."""

    def __init__(self, session: Session, *, max_image_bytes: int) -> None:
        self._session = session
        self.max_image_bytes = max_image_bytes
        self._transfers: dict[tuple[str, bytes], _Transfer] = {}
        self._bundle_locks: dict[str, anyio.Lock] = {}
        self._held: dict[str, list[p.PrivMsg | p.ChanMsg]] = {}
        self._waiting: dict[tuple[str, str], list[tuple[float, p.PrivMsg | p.ChanMsg]]] = {}
        self._asked: dict[tuple[str, str], float] = {}

    def _hold_for_keys(self, sender: str, channel: str, frame: p.PrivMsg | p.ChanMsg) -> bool:
        waiting = self._waiting.setdefault((p.nick_key(sender), p.channel_key(channel)), [])
        if len(waiting) >= _MAX_HELD:
            return False
        waiting.append((time.monotonic(), frame))
        return True

    async def _ask_for_key(self, sender: str, channel: str) -> None:
        """Ask *sender* to hand us their channel key again (it was lost or is late)."""
        key = (p.nick_key(sender), p.channel_key(channel))
        now = time.monotonic()
        if now - self._asked.get(key, -_ASK_INTERVAL) < _ASK_INTERVAL:
            return
        self._asked[key] = now
        try:
            payload = await self._seal_private(sender, _body("key_request", channel=channel))
            await self._send_private_payload(sender, payload, "ctl")
        except JustIRCError as exc:
            _log.info("could not ask %s for the %s key: %s", sender, channel, exc)

    async def _answer_key_request(self, sender: str, body: bytes) -> None:
        try:
            channel = json.loads(body)["channel"]
            payload = self._e2e.resend_channel_key(str(channel), sender)
        except (ValueError, KeyError, TypeError, CryptoError) as exc:
            _log.info("ignored a bad key request from %s: %s", sender, exc)
            return
        if payload is None:
            _log.info(
                "%s asked for the %s key but is not a member we hand keys to", sender, channel
            )
            return
        try:
            await self._send_private_payload(sender, payload, "ctl")
        except JustIRCError as exc:
            _log.info("could not resend the %s key to %s: %s", channel, sender, exc)

    def _expire_waiting(self) -> list[ev.Event]:
        """Give up on channel messages whose key never came."""
        out: list[ev.Event] = []
        deadline = time.monotonic() - _KEY_WAIT
        for key, waiting in list(self._waiting.items()):
            while waiting and waiting[0][0] < deadline:
                frame = waiting.pop(0)[1]
                reason = "no key from the sender arrived for this channel message"
                out.append(ev.DecryptionFailed(frame.sender or key[0], key[1], reason))
            if not waiting:
                del self._waiting[key]
        return out

    def release_held(self, nick: str) -> list[p.PrivMsg | p.ChanMsg]:
        """Messages held back by a key change of *nick*, to process again after acceptance."""
        return self._held.pop(p.nick_key(nick), [])

    @property
    def _e2e(self) -> Any:
        return self._session.crypto

    # -- key bundles ------------------------------------------------------------------

    async def ensure_peer(self, nick: str, *, refresh: bool = False) -> None:
        """Make sure *nick*'s key bundle is fetched, verified and pinned."""
        key = p.nick_key(nick)
        lock = self._bundle_locks.setdefault(key, anyio.Lock())
        async with lock:
            if self._e2e.knows(nick) and not refresh:
                return
            reply = await self._session._request_retrying(p.FetchKeys(nick=nick))
            assert isinstance(reply, p.Keys)
            change = self._e2e.add_bundle(reply.nick, reply.bundle)
            if change is not None:
                self._session._emit(ev.KeyChanged(reply.nick, change[0], change[1]))

    async def _ensure_peers(self, nicks: list[str]) -> list[str]:
        """Fetch missing bundles concurrently; returns the nicks that are usable."""
        missing = [n for n in nicks if not self._e2e.knows(n)]
        failed: set[str] = set()

        async def fetch(nick: str) -> None:
            try:
                await self.ensure_peer(nick)
            except JustIRCError as exc:  # NoKeys, NoSuchNick, a bad bundle, ...
                _log.info("no usable keys for %s: %s", nick, exc)
                failed.add(nick)

        if missing:
            limiter = anyio.CapacityLimiter(16)

            async def limited(nick: str) -> None:
                async with limiter:
                    await fetch(nick)

            async with anyio.create_task_group() as tg:
                for nick in missing:
                    tg.start_soon(limited, nick)
        return [n for n in nicks if n not in failed]

    # -- sending ----------------------------------------------------------------------

    async def _send_private_payload(self, nick: str, payload: str, kind: str) -> None:
        await self._session._request_retrying(p.PrivMsg(to=nick, payload=payload, kind=kind))

    async def _seal_private(self, nick: str, body: bytes) -> str:
        await self.ensure_peer(nick)
        payload: str = self._e2e.seal_private(nick, body)  # KeyChangedError propagates
        return payload

    async def send_private_text(self, nick: str, text: str, *, action: bool) -> None:
        payload = await self._seal_private(nick, _text_body(text, action))
        await self._send_private_payload(nick, payload, "msg")

    async def _prepare_channel(self, channel: str) -> str:
        """Hand our sender key to members who lack it; returns the channel's name."""
        state = self._session.state.channel(channel)
        if state is None:
            raise NotInChannel(f"you are not in {channel}; join it first")
        others = [n for n in state.members if not self._session.state.is_me(n)]
        usable = await self._ensure_peers(others)
        for nick, payload in self._e2e.channel_distributions(state.name, usable):
            try:
                await self._send_private_payload(nick, payload, "ctl")
            except JustIRCError as exc:
                _log.info("could not hand the %s sender key to %s: %s", state.name, nick, exc)
        return state.name

    async def _seal_for_channel(self, channel: str, body: bytes) -> tuple[str, str]:
        """Encrypt *body* once for *channel*; returns (channel name, payload).

        The fast path costs the same whatever the channel size: the engine tracks
        membership through the session's events and asks for a key hand-out (with
        ``RekeyRequiredError``) only after a membership change or a rotation.
        """
        state = self._session.state.channel(channel)
        if state is None:
            raise NotInChannel(f"you are not in {channel}; join it first")
        try:
            return state.name, self._e2e.seal_channel(state.name, body)
        except RekeyRequiredError:
            name = await self._prepare_channel(state.name)
            return name, self._e2e.seal_channel(name, body)

    async def send_channel_text(self, channel: str, text: str, *, action: bool) -> None:
        name, payload = await self._seal_for_channel(channel, _text_body(text, action))
        await self._session._request_retrying(p.ChanMsg(channel=name, payload=payload))

    async def send_image(
        self,
        nick: str | None,
        channel: str | None,
        image: ImageInput,
        caption: str | None,
        progress: ProgressCallback | None,
        filename: str | None,
        strip_metadata: bool,
    ) -> None:
        prepared = await anyio.to_thread.run_sync(
            lambda: prepare_image(
                image,
                max_bytes=self.max_image_bytes,
                filename=filename,
                strip_metadata=strip_metadata,
            )
        )
        descriptor, chunks = encrypt_attachment(
            prepared.data,
            chunk_size=_CHUNK,
            name=prepared.filename,
            mime=prepared.mime_type,
            width=prepared.width,
            height=prepared.height,
        )
        body = _body(
            "image", desc=base64.b64encode(descriptor.to_bytes()).decode(), caption=caption
        )
        if channel is not None:
            name, payload = await self._seal_for_channel(channel, body)
            await self._session._request_retrying(p.ChanMsg(channel=name, payload=payload))
        else:
            assert nick is not None
            payload = await self._seal_private(nick, body)
            await self._send_private_payload(nick, payload, "msg")
        await self._send_chunks(nick, name if channel is not None else None, chunks, progress)

    async def _send_chunks(
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

    async def rotate(self, target: str) -> None:
        if p.is_valid_channel(target):
            name = self._session.channel(target).name
            self._e2e.rotate_channel(name)
            await self._prepare_channel(name)  # hand out the new epoch's key now
            self._session._emit(
                ev.KeysRotated(name, self._e2e.channel_epoch(name), self._session.nick)
            )
            return
        await self.ensure_peer(target)
        payload, epoch = self._e2e.rotate_private(target)
        await self._send_private_payload(target, payload, "ctl")
        self._session._emit(ev.KeysRotated(target, epoch, self._session.nick))

    # -- membership -------------------------------------------------------------------

    def on_membership(self, event: ev.Event) -> None:
        """Tell the engine about membership changes (a removal forces a new epoch)."""
        if isinstance(event, ev.MemberLeft):
            self._e2e.member_left(event.channel, event.nick)
        elif isinstance(event, ev.Kicked):
            if self._session.state.is_me(event.nick):
                self._e2e.left_channel(event.channel)
            else:
                self._e2e.member_left(event.channel, event.nick)
        elif isinstance(event, ev.ChannelLeft):
            self._e2e.left_channel(event.channel)
        elif isinstance(event, ev.MemberJoined):
            self._e2e.member_joined(event.channel, event.nick)
        elif isinstance(event, ev.ChannelJoined):
            self._e2e.joined_channel(event.channel, list(event.members))
        elif isinstance(event, ev.NickChanged) and not self._session.state.is_me(event.new):
            self._e2e.peer_renamed(event.old, event.new)

    # -- receiving --------------------------------------------------------------------

    async def receive(self, frame: p.PrivMsg | p.ChanMsg) -> list[ev.Event]:
        """Decrypt one relayed message into the events it means (possibly none)."""
        sender = frame.sender
        if sender is None or self._session.state.is_me(sender):
            return []
        channel = frame.channel if isinstance(frame, p.ChanMsg) else None
        ts = frame.ts or time.time()
        if frame.kind == "file":
            return await self._receive_chunk(sender, channel, frame.payload)
        if not isinstance(frame.payload, str):
            return [ev.DecryptionFailed(sender, channel, "a message came as a binary body")]
        old_fingerprint = self._e2e.peer_fingerprint(sender)
        try:
            if channel is None:
                inbound: Inbound = self._e2e.open_private(sender, frame.payload)
            else:
                inbound = Inbound(self._e2e.open_channel(channel, sender, frame.payload))
        except KeyChangedError as exc:
            old = exc.old_fingerprint or old_fingerprint or ""
            new = exc.new_fingerprint or self._e2e.peer_fingerprint(sender) or ""
            held = self._held.setdefault(p.nick_key(sender), [])
            if len(held) < _MAX_HELD:
                held.append(frame)  # shown once the user accepts the new key
            return [ev.KeyChanged(sender, old, new)]
        except MissingKeysError as exc:
            if channel is not None and self._hold_for_keys(sender, channel, frame):
                await self._ask_for_key(sender, channel)
                return self._expire_waiting()
            return [ev.DecryptionFailed(sender, channel, str(exc))]
        except CryptoError as exc:
            return [ev.DecryptionFailed(sender, channel, str(exc))]
        out: list[ev.Event] = self._expire_waiting()
        if inbound.notice is not None:
            out.append(ev.KeysRotated(inbound.notice[0], inbound.notice[1], sender))
        if inbound.unlocked is not None:
            for waiting in self._waiting.pop((p.nick_key(sender), inbound.unlocked), []):
                out.extend(await self.receive(waiting[1]))
        if inbound.body is None:
            return out
        if inbound.body.startswith(_KEY_REQUEST_PREFIX):
            await self._answer_key_request(sender, inbound.body)
            return out
        out.extend(self._interpret(sender, channel, inbound.body, ts))
        return out

    def _interpret(
        self, sender: str, channel: str | None, body: bytes, ts: float
    ) -> list[ev.Event]:
        verified = self._e2e.is_verified(sender)
        try:
            data = json.loads(body)
            kind = data["t"]
        except (ValueError, KeyError, TypeError):
            return [ev.DecryptionFailed(sender, channel, "decrypted message is not understood")]
        if kind == "text" and isinstance(data.get("text"), str):
            return [
                ev.Message(sender, data["text"], channel, ts, verified, bool(data.get("action")))
            ]
        if kind == "image":
            return self._start_transfer(sender, channel, data, ts, verified)
        return [ev.DecryptionFailed(sender, channel, f"unknown message type {str(kind)[:30]!r}")]

    def _start_transfer(
        self, sender: str, channel: str | None, data: dict[str, Any], ts: float, verified: bool
    ) -> list[ev.Event]:
        self._expire_transfers()
        try:
            descriptor = AttachmentDescriptor.from_bytes(
                base64.b64decode(data["desc"], validate=True)
            )
            caption = data.get("caption")
            if caption is not None and not isinstance(caption, str):
                raise ValueError("caption must be text")
        except (KeyError, ValueError, TypeError, binascii.Error, CryptoError) as exc:
            return [ev.DecryptionFailed(sender, channel, f"bad image descriptor: {exc}")]
        if descriptor.size > self.max_image_bytes:
            return [
                ev.DecryptionFailed(
                    sender, channel, f"image of {descriptor.size:,} bytes exceeds the limit"
                )
            ]
        key = p.nick_key(sender)
        if sum(1 for (s, _) in self._transfers if s == key) >= _MAX_TRANSFERS_PER_SENDER:
            return [ev.DecryptionFailed(sender, channel, "too many images in flight from sender")]
        meta = {"caption": caption, "ts": ts}
        self._transfers[(key, descriptor.file_id)] = _Transfer(
            sender, channel, meta, AttachmentDecryptor(descriptor), time.monotonic(), verified
        )
        return []

    def _expire_transfers(self) -> None:
        now = time.monotonic()
        for key, transfer in list(self._transfers.items()):
            if now - transfer.started > _TRANSFER_TIMEOUT:
                del self._transfers[key]

    async def _receive_chunk(
        self, sender: str, channel: str | None, payload: str | bytes
    ) -> list[ev.Event]:
        if isinstance(payload, bytes):
            raw = payload
        else:  # a chunk sent as base64 text is accepted too
            try:
                raw = base64.b64decode(payload, validate=True)
            except (binascii.Error, ValueError):
                return [ev.DecryptionFailed(sender, channel, "image chunk is not base64")]
        key = (p.nick_key(sender), raw[:_FILE_ID])
        transfer = self._transfers.get(key)
        if transfer is None or transfer.channel != channel:
            return [ev.DecryptionFailed(sender, channel, "image chunk for no known transfer")]
        index = int.from_bytes(raw[_FILE_ID : _FILE_ID + 4], "big")
        if index < transfer.next_index or index in transfer.early:
            return []  # a duplicate: the chunk is already in
        if index > transfer.next_index:
            if len(transfer.early) >= _MAX_EARLY:
                del self._transfers[key]
                return [ev.DecryptionFailed(sender, channel, "image chunks far out of order")]
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
            del self._transfers[key]
            return [ev.DecryptionFailed(sender, channel, f"image rejected: {exc}")]
        del self._transfers[key]
        data = b"".join(transfer.parts)
        descriptor = transfer.decryptor.descriptor
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
                filename=descriptor.name or "image",
                mime_type=mime,
                width=width,
                height=height,
                caption=transfer.meta["caption"],
                timestamp=transfer.meta["ts"],
                verified=transfer.verified,
            )
        ]
