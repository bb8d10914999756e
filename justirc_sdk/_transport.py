"""One connection to a server: TCP or TLS, frames in and out (the thin I/O shell).

TLS certificate pinning: with ``tls_fingerprint`` the usual CA check is replaced by a
comparison of the SHA-256 of the server's DER certificate with the pin, so a
self-signed server can be trusted exactly and nothing else can impersonate it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ssl

import anyio
from anyio.abc import ByteStream
from anyio.streams.tls import TLSAttribute

from . import protocol
from .errors import ConnectError, ConnectionLost, TLSError

__all__ = ["Transport", "normalize_fingerprint"]

_READ_SIZE = 65536


def normalize_fingerprint(fingerprint: str) -> str:
    """Lower-case hex without separators (``AB:CD:..`` and ``abcd..`` are the same pin)."""
    cleaned = fingerprint.replace(":", "").replace(" ", "").lower()
    if len(cleaned) != 64 or any(c not in "0123456789abcdef" for c in cleaned):
        raise ValueError("a TLS fingerprint is the 64 hex digits of a SHA-256 digest")
    return cleaned


def _client_context(tls: bool | ssl.SSLContext | None, pinned: bool) -> ssl.SSLContext | None:
    if isinstance(tls, ssl.SSLContext):
        return tls
    if pinned:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the pin below is the verification
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context
    if tls:
        return ssl.create_default_context()
    return None


class Transport:
    """A framed connection: :meth:`send` a frame, :meth:`receive` the next one."""

    def __init__(self, stream: ByteStream, max_frame: int) -> None:
        self._stream = stream
        self._decoder = protocol.FrameDecoder(max_frame)
        self._send_lock = anyio.Lock()
        self.bytes_sent = 0

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        tls: bool | ssl.SSLContext | None = None,
        tls_fingerprint: str | None = None,
        max_frame: int = protocol.DEFAULT_MAX_FRAME,
        timeout: float = 10.0,
    ) -> Transport:
        """Connect, and complete TLS (checking the pin) when asked to."""
        pin = normalize_fingerprint(tls_fingerprint) if tls_fingerprint else None
        context = _client_context(tls, pin is not None)
        try:
            with anyio.fail_after(timeout):
                if context is None:
                    stream: ByteStream = await anyio.connect_tcp(host, port)
                else:
                    stream = await anyio.connect_tcp(
                        host,
                        port,
                        ssl_context=context,
                        tls_hostname=None if pin else host,
                        tls_standard_compatible=False,
                    )
        except ssl.SSLError as exc:
            raise TLSError(f"TLS handshake with {host}:{port} failed: {exc}") from exc
        except TimeoutError as exc:
            raise ConnectError(f"timed out connecting to {host}:{port}") from exc
        except OSError as exc:
            raise ConnectError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from exc
        if pin is not None:
            der = stream.extra(TLSAttribute.peer_certificate_binary, None)
            seen = hashlib.sha256(der or b"").hexdigest()
            if not hmac.compare_digest(seen, pin):
                await stream.aclose()
                raise TLSError(
                    f"the server at {host}:{port} presented certificate {seen}, "
                    f"which is not the pinned {pin}"
                )
        return cls(stream, max_frame)

    async def send(self, frame: protocol.Frame) -> None:
        """Send one frame; raises :class:`ConnectionLost` if the connection is gone."""
        await self.send_bytes(protocol.encode(frame))

    async def send_bytes(self, data: bytes) -> None:
        """Send already-encoded frames."""
        try:
            async with self._send_lock:
                await self._stream.send(data)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            raise ConnectionLost(f"connection lost while sending: {exc!r}") from exc
        self.bytes_sent += len(data)

    async def receive(self) -> protocol.Frame:
        """The next frame; :class:`ConnectionLost` at end of stream.

        A frame the decoder rejects raises :class:`~justirc_sdk.protocol.ProtocolError`
        and the next call continues after it; a stream that can no longer be split into
        frames raises :class:`ConnectionLost`.
        """
        while True:
            try:
                frame = self._decoder.next_frame()
            except protocol.ProtocolError as exc:
                if exc.fatal:
                    await self.aclose()
                    raise ConnectionLost(f"the server sent an unframeable stream: {exc}") from exc
                raise
            if frame is not None:
                return frame
            try:
                data = await self._stream.receive(_READ_SIZE)
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError) as e:
                raise ConnectionLost("the server closed the connection") from e
            except OSError as exc:
                raise ConnectionLost(f"connection lost: {exc.strerror or exc}") from exc
            self._decoder.feed(data)

    def set_max_frame(self, max_frame: int) -> None:
        """Adopt the limit the server announced in ``welcome``."""
        self._decoder.max_frame = max_frame

    async def aclose(self) -> None:
        """Close the connection (idempotent)."""
        with (
            anyio.CancelScope(shield=True),
            contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError),
        ):
            await self._stream.aclose()
