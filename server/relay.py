"""Encoding of relayed messages without re-serialising their opaque payload.

A relayed ``privmsg``/``chanmsg`` is the client's frame with the server's ``sender`` and
``ts`` stamped on it. Its payload (up to 60 KiB of base64 for an image chunk) is by far
the largest part, and running it through ``json.dumps`` again costs a scan and a copy
per character. When the payload needs no JSON escaping (ASCII, no ``"``, no ``\\``, no
control character: always true for base64, which is what clients send) its characters
are written verbatim between quotes after the small envelope, which is encoded
normally. Anything else takes the ordinary :func:`encode_dict` path, so the result is
always the same JSON object the slow path would produce.
"""

from __future__ import annotations

from justirc_sdk.protocol.codec import SPLICE_MIN, encode_spliced, splice_safe

__all__ = ["SPLICE_MIN", "encode_relay", "splice_safe"]

encode_relay = encode_spliced
"""The relay's encoder: the protocol's payload-splicing :func:`encode_spliced`."""
