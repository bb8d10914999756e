"""Encrypted traffic of a session: text, images, files and key management over the wire.

This is the glue between the session's connection and the crypto engine: it fetches
and pins key bundles, hands sender keys to channel members before a channel message
needs them, announces attachments (their chunks: :mod:`._transfers`), and turns
decrypted payloads back into events. The
payload formats inside the ciphertext are documented in ``docs/PROTOCOL.md``.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from typing import TYPE_CHECKING, Any

import anyio

from . import events as ev
from . import protocol as p
from ._e2e import Inbound
from ._transfers import Kind, Transfers
from .crypto import AttachmentDescriptor, encrypt_attachment
from .crypto.attachments import MAX_CHUNK_SIZE
from .crypto.errors import CryptoError, KeyChangedError, MissingKeysError, RekeyRequiredError
from .errors import JustIRCError, MessageTooLarge, NotInChannel
from .files import FileInput, prepare_file
from .images import ImageInput, ProgressCallback, prepare_image

if TYPE_CHECKING:
    from .session import Session

__all__ = ["MAX_TEXT_BYTES", "Messaging"]

_log = logging.getLogger(__name__)
_CHUNK = MAX_CHUNK_SIZE  # 60 KiB: the largest whose sealed chunk fits one binary body
_MAX_HELD = 50
_KEY_WAIT = 30.0
_ASK_INTERVAL = 10.0
_KEY_REQUEST_PREFIX = b'{"t":"key_request"'


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

    def __init__(self, session: Session, *, max_image_bytes: int, max_file_bytes: int) -> None:
        self._session = session
        self.max_image_bytes = max_image_bytes
        self.max_file_bytes = max_file_bytes
        self._transfers = Transfers(
            session, max_image_bytes=max_image_bytes, max_file_bytes=max_file_bytes
        )
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
        await self._announce_and_send("image", nick, channel, descriptor, chunks, caption, progress)

    async def send_file(
        self,
        nick: str | None,
        channel: str | None,
        file: FileInput,
        caption: str | None,
        progress: ProgressCallback | None,
        filename: str | None,
        mime_type: str | None,
    ) -> None:
        prepared = await anyio.to_thread.run_sync(
            lambda: prepare_file(
                file, max_bytes=self.max_file_bytes, filename=filename, mime_type=mime_type
            )
        )
        descriptor, chunks = encrypt_attachment(
            prepared.data, chunk_size=_CHUNK, name=prepared.filename, mime=prepared.mime_type
        )
        await self._announce_and_send("file", nick, channel, descriptor, chunks, caption, progress)

    async def _announce_and_send(
        self,
        kind: Kind,
        nick: str | None,
        channel: str | None,
        descriptor: AttachmentDescriptor,
        chunks: list[bytes],
        caption: str | None,
        progress: ProgressCallback | None,
    ) -> None:
        """The encrypted announcement (descriptor and caption), then the chunks."""
        body = _body(kind, desc=base64.b64encode(descriptor.to_bytes()).decode(), caption=caption)
        if channel is not None:
            name, payload = await self._seal_for_channel(channel, body)
            await self._session._request_retrying(p.ChanMsg(channel=name, payload=payload))
            await self._transfers.send_chunks(None, name, chunks, progress)
        else:
            assert nick is not None
            payload = await self._seal_private(nick, body)
            await self._send_private_payload(nick, payload, "msg")
            await self._transfers.send_chunks(nick, None, chunks, progress)

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
            return await self._transfers.receive_chunk(sender, channel, frame.payload)
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
        if kind in ("image", "file"):
            return self._transfers.start(kind, sender, channel, data, ts, verified)
        return [ev.DecryptionFailed(sender, channel, f"unknown message type {str(kind)[:30]!r}")]
