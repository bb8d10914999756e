"""Attachments: STREAM chunks resist truncation, reordering, duplication and splicing."""

from __future__ import annotations

import base64
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from justirc_sdk.crypto import (
    AttachmentDescriptor,
    AttachmentError,
    CryptoEngine,
    decrypt_attachment,
    encrypt_attachment,
)
from justirc_sdk.crypto.attachments import MAX_CHUNK_SIZE
from justirc_sdk.protocol.limits import MAX_BINARY, MAX_PAYLOAD

DATA = os.urandom(100_000)


def _enc(data: bytes = DATA, size: int = 16 * 1024) -> tuple[AttachmentDescriptor, list[bytes]]:
    return encrypt_attachment(data, chunk_size=size, name="cat.png", mime="image/png", width=3)


@settings(max_examples=25, deadline=None)
@given(data=st.binary(max_size=5000), size=st.integers(1, 2048))
def test_round_trip_any_size(data: bytes, size: int) -> None:
    desc, chunks = encrypt_attachment(data, chunk_size=size)
    assert len(chunks) == max(1, -(-len(data) // size))
    assert decrypt_attachment(desc, chunks) == data


def test_descriptor_round_trip_carries_metadata() -> None:
    desc, chunks = _enc()
    back = AttachmentDescriptor.from_bytes(desc.to_bytes())
    assert back == desc
    assert (back.name, back.mime, back.width, back.height) == ("cat.png", "image/png", 3, None)
    dec = CryptoEngine.attachment_decryptor(desc.to_bytes())
    assert b"".join(dec.feed(c) for c in chunks) == DATA
    dec.finish()


def test_default_chunk_fits_one_frame() -> None:
    _, chunks = encrypt_attachment(os.urandom(200_000))
    assert max(len(base64.b64encode(c)) for c in chunks) < MAX_PAYLOAD - 1024


def test_largest_chunk_fits_one_binary_body() -> None:
    _, chunks = encrypt_attachment(os.urandom(200_000), chunk_size=MAX_CHUNK_SIZE)
    assert max(len(c) for c in chunks) <= MAX_BINARY
    with pytest.raises(AttachmentError):
        encrypt_attachment(b"x", chunk_size=MAX_CHUNK_SIZE + 1)


def test_truncation_fails() -> None:
    desc, chunks = _enc()
    with pytest.raises(AttachmentError, match="truncated"):
        decrypt_attachment(desc, chunks[:-1])


def test_reordering_fails() -> None:
    desc, chunks = _enc()
    chunks[1], chunks[2] = chunks[2], chunks[1]
    with pytest.raises(AttachmentError):
        decrypt_attachment(desc, chunks)


def test_duplication_fails() -> None:
    desc, chunks = _enc()
    with pytest.raises(AttachmentError):
        decrypt_attachment(desc, [chunks[0], *chunks])
    with pytest.raises(AttachmentError):
        decrypt_attachment(desc, [*chunks, chunks[-1]])


def test_relabelled_index_or_last_flag_fails() -> None:
    desc, chunks = _enc()
    for pos in (16 + 3, 20):  # index byte, last flag
        bad = bytearray(chunks[1])
        bad[pos] ^= 1
        dec = CryptoEngine.attachment_decryptor(desc)
        dec.feed(chunks[0])
        with pytest.raises(AttachmentError):
            dec.feed(bytes(bad))
    # Dropping the tail and flagging a middle chunk as last (with its header rewritten).
    bad = bytearray(chunks[1])
    bad[20] = 1
    dec = CryptoEngine.attachment_decryptor(desc)
    dec.feed(chunks[0])
    with pytest.raises(AttachmentError):
        dec.feed(bytes(bad))


def test_splicing_across_files_fails() -> None:
    d1, c1 = _enc()
    _, c2 = _enc(os.urandom(len(DATA)))
    with pytest.raises(AttachmentError):
        decrypt_attachment(d1, [c1[0], c2[1], *c1[2:]])
    # Even with the file id rewritten, the other file's key does not authenticate.
    forged = d1.file_id + c2[1][16:]
    with pytest.raises(AttachmentError, match="authentication"):
        decrypt_attachment(d1, [c1[0], forged, *c1[2:]])


def test_tampered_ciphertext_and_lying_descriptor_fail() -> None:
    desc, chunks = _enc()
    bad = bytearray(chunks[0])
    bad[-1] ^= 1
    with pytest.raises(AttachmentError):
        decrypt_attachment(desc, [bytes(bad), *chunks[1:]])
    lying = AttachmentDescriptor(
        desc.file_id, desc.key, desc.size, desc.chunk_size, bytes(32), desc.name
    )
    with pytest.raises(AttachmentError, match="digest"):
        decrypt_attachment(lying, chunks)
    with pytest.raises(AttachmentError):
        AttachmentDescriptor.from_bytes(b'{"id": "x"}')


def test_each_file_has_its_own_key() -> None:
    assert _enc()[0].key != _enc()[0].key
