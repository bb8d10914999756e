"""Attachments (images, files): a random key per file and STREAM-style chunked encryption.

Each chunk on the wire is ``file_id 16 | index u32 | last u8 | ciphertext+tag``. The nonce is
``index (11 bytes) | last (1 byte)`` and the associated data repeats the header, so truncation
(no chunk flagged last), reordering, duplication and splicing chunks of another file (other
key, other file id) all fail. The :class:`AttachmentDescriptor` (key, size, digest, metadata)
travels inside an end-to-end encrypted message; the chunks can go as opaque ``kind="file"``
payloads. A sealed chunk is its plaintext plus 37 bytes (header and tag): the largest,
60 KiB, fits one 64 KiB binary body (see ``bin`` in docs/PROTOCOL.md).
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes

from ._primitives import LABEL_FILE, b64d, b64e, ct_equal, open_, seal
from .errors import AttachmentError, DecryptionError

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "AttachmentDecryptor",
    "AttachmentDescriptor",
    "decrypt_attachment",
    "encrypt_attachment",
]

DEFAULT_CHUNK_SIZE = 32 * 1024
MAX_CHUNK_SIZE = 60 * 1024
"""Largest chunk whose sealed form still fits the protocol's 64 KiB binary body."""
_HDR = struct.Struct(">16sIB")


@dataclass(frozen=True, slots=True)
class AttachmentDescriptor:
    """Everything a receiver needs to fetch and check a file; send it inside an E2E message."""

    file_id: bytes
    key: bytes
    size: int
    chunk_size: int
    digest: bytes
    """SHA-256 of the plaintext."""
    name: str = ""
    mime: str = "application/octet-stream"
    width: int | None = None
    height: int | None = None

    @property
    def chunk_count(self) -> int:
        return max(1, -(-self.size // self.chunk_size))

    def to_bytes(self) -> bytes:
        """Compact JSON (holds the key: only ever send it end-to-end encrypted)."""
        d: dict[str, Any] = {
            "id": b64e(self.file_id),
            "key": b64e(self.key),
            "size": self.size,
            "chunk": self.chunk_size,
            "sha256": b64e(self.digest),
            "name": self.name,
            "mime": self.mime,
        }
        if self.width is not None:
            d["w"] = self.width
        if self.height is not None:
            d["h"] = self.height
        return json.dumps(d, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> AttachmentDescriptor:
        try:
            d = json.loads(data)
            desc = cls(
                b64d(d["id"]),
                b64d(d["key"]),
                int(d["size"]),
                int(d["chunk"]),
                b64d(d["sha256"]),
                str(d.get("name", "")),
                str(d.get("mime", "application/octet-stream")),
                None if d.get("w") is None else int(d["w"]),
                None if d.get("h") is None else int(d["h"]),
            )
        except (ValueError, KeyError, TypeError, DecryptionError):
            raise AttachmentError("malformed attachment descriptor") from None
        if (
            len(desc.file_id) != 16
            or len(desc.key) != 32
            or len(desc.digest) != 32
            or desc.size < 0
            or not 0 < desc.chunk_size <= MAX_CHUNK_SIZE
        ):
            raise AttachmentError("attachment descriptor has invalid fields")
        return desc


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def encrypt_attachment(
    data: bytes,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    name: str = "",
    mime: str = "application/octet-stream",
    width: int | None = None,
    height: int | None = None,
) -> tuple[AttachmentDescriptor, list[bytes]]:
    """Encrypt *data* under a fresh random key; return the descriptor and the chunk list."""
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise AttachmentError(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE}")
    h = hashes.Hash(hashes.SHA256())
    h.update(data)
    desc = AttachmentDescriptor(
        os.urandom(16), os.urandom(32), len(data), chunk_size, h.finalize(),
        name, mime, width, height,
    )  # fmt: skip
    return desc, list(_chunks(desc, data))


def _chunks(desc: AttachmentDescriptor, data: bytes) -> Iterator[bytes]:
    count = desc.chunk_count
    for i in range(count):
        last = i == count - 1
        header = _HDR.pack(desc.file_id, i, last)
        part = data[i * desc.chunk_size : (i + 1) * desc.chunk_size]
        yield header + seal(desc.key, _nonce(i, last), part, LABEL_FILE + header)


class AttachmentDecryptor:
    """Streaming decryptor: feed chunks in order, then :meth:`finish` checks size and digest."""

    def __init__(self, descriptor: AttachmentDescriptor) -> None:
        self._d = descriptor
        self._next = 0
        self._size = 0
        self._hash = hashes.Hash(hashes.SHA256())
        self._done = False

    @property
    def descriptor(self) -> AttachmentDescriptor:
        return self._d

    @property
    def complete(self) -> bool:
        return self._done

    def feed(self, chunk: bytes) -> bytes:
        """Authenticate and decrypt the next chunk; raise :class:`AttachmentError` otherwise."""
        d = self._d
        if self._done:
            raise AttachmentError("chunk received after the last chunk")
        if len(chunk) < _HDR.size + 16:
            raise AttachmentError("attachment chunk is truncated")
        fid, index, last = _HDR.unpack_from(chunk)
        if not ct_equal(fid, d.file_id):
            raise AttachmentError("attachment chunk belongs to another file")
        if index != self._next:
            raise AttachmentError(f"attachment chunk {index} out of order (expected {self._next})")
        expect_last = index == d.chunk_count - 1
        if last != expect_last:
            raise AttachmentError("attachment chunk has the wrong last-chunk flag")
        header = chunk[: _HDR.size]
        try:
            part = open_(d.key, _nonce(index, expect_last), chunk[_HDR.size :], LABEL_FILE + header)
        except DecryptionError:
            raise AttachmentError("attachment chunk failed authentication") from None
        if len(part) > d.chunk_size or (not expect_last and len(part) != d.chunk_size):
            raise AttachmentError("attachment chunk has the wrong size")
        self._next += 1
        self._size += len(part)
        self._hash.update(part)
        self._done = expect_last
        return part

    def finish(self) -> None:
        """Raise unless every chunk arrived and size and digest match the descriptor."""
        if not self._done:
            raise AttachmentError("attachment is truncated: the last chunk never arrived")
        if self._size != self._d.size:
            raise AttachmentError("attachment size does not match its descriptor")
        if not ct_equal(self._hash.finalize(), self._d.digest):
            raise AttachmentError("attachment digest does not match its descriptor")


def decrypt_attachment(descriptor: AttachmentDescriptor, chunks: Iterable[bytes]) -> bytes:
    """Decrypt and check a whole attachment at once."""
    dec = AttachmentDecryptor(descriptor)
    out = [dec.feed(c) for c in chunks]
    dec.finish()
    return b"".join(out)
