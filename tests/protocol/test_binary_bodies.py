"""Binary bodies: a message's payload as raw bytes after its header line."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from justirc_sdk import protocol as p
from justirc_sdk.protocol.frames import ChanMsg, PrivMsg


def _decode_all(data: bytes, *, step: int) -> list[p.Frame | p.ProtocolError]:
    """Feed *data* in *step*-byte pieces; collect every frame and every error."""
    decoder = p.FrameDecoder()
    out: list[p.Frame | p.ProtocolError] = []
    for start in range(0, len(data), step):
        decoder.feed(data[start : start + step])
        while True:
            try:
                frame = decoder.next_frame()
            except p.ProtocolError as exc:
                out.append(exc)
                continue
            if frame is None:
                break
            out.append(frame)
    assert decoder.buffered == 0, "the decoder kept bytes after a whole stream"
    return out


def test_bytes_payload_is_encoded_as_a_header_line_and_raw_body() -> None:
    body = b"\x00\n{raw}\xff" * 5
    data = p.encode(PrivMsg(to="bob", payload=body, kind="file", id="7"))
    header, _, rest = data.partition(b"\n")
    assert json.loads(header) == {
        "type": "privmsg",
        "to": "bob",
        "kind": "file",
        "id": "7",
        "bin": len(body),
    }
    assert rest == body


@given(
    bodies=st.lists(st.binary(min_size=1, max_size=3000), min_size=1, max_size=5),
    step=st.integers(min_value=1, max_value=4096),
)
def test_binary_bodies_survive_any_split_of_the_stream(bodies: list[bytes], step: int) -> None:
    frames = [ChanMsg(channel="#py", payload=b, kind="file", sender="alice") for b in bodies]
    stream = b"".join(p.encode(f) + p.encode(p.Ping(token="t")) for f in frames)
    got = _decode_all(stream, step=step)
    assert got == [x for f in frames for x in (f, p.Ping(token="t"))]


def test_base64_payloads_keep_working_beside_binary_ones() -> None:
    text = PrivMsg(to="bob", payload="QUJD")
    raw = PrivMsg(to="bob", payload=b"ABC")
    assert _decode_all(p.encode(text) + p.encode(raw), step=3) == [text, raw]


def test_encode_dict_sends_a_bytes_payload_as_a_body() -> None:
    data = p.encode_dict({"type": "privmsg", "to": "bob", "payload": b"xyz"})
    assert data == b'{"type":"privmsg","to":"bob","bin":3}\nxyz'


@pytest.mark.parametrize(
    ("header", "body", "code", "message"),
    [
        ({"type": "privmsg", "to": "bob", "bin": 70_000}, b"\n" * 70_000, "too_large", "exceeds"),
        (
            {"type": "privmsg", "to": "bob", "payload": "QUJD", "bin": 4},
            b"\n\n\n\n",
            "bad_frame",
            "not both",
        ),
        ({"type": "nick", "nick": "carol", "bin": 4}, b"\n\n\n\n", "bad_frame", "binary body"),
    ],
    ids=["body-too-large", "payload-and-body", "body-on-a-non-message"],
)
def test_refused_bodies_are_skipped_and_the_stream_stays_in_step(
    header: dict[str, object], body: bytes, code: str, message: str
) -> None:
    # the body is full of newlines: were it read as lines, bogus frames would follow
    stream = json.dumps({**header, "id": "q"}).encode() + b"\n" + body
    stream += p.encode(p.Ping(token="next"))
    got = _decode_all(stream, step=1000)
    assert len(got) == 2
    error, after = got
    assert isinstance(error, p.ProtocolError)
    assert (error.code.value, error.request_id, error.fatal) == (code, "q", False)
    assert message in error.message
    assert after == p.Ping(token="next")


@pytest.mark.parametrize("size", ["12", -1, 0, 1.5, None])
def test_a_bin_that_is_not_a_length_ends_the_stream(size: object) -> None:
    decoder = p.FrameDecoder()
    decoder.feed(json.dumps({"type": "privmsg", "to": "bob", "bin": size}).encode() + b"\n")
    decoder.feed(p.encode(p.Ping(token="lost")))
    with pytest.raises(p.ProtocolError) as info:
        decoder.next_frame()
    assert info.value.fatal and info.value.code is p.ErrorCode.BAD_FRAME
    decoder.feed(p.encode(p.Ping(token="also lost")))
    assert decoder.next_frame() is None


def test_a_header_waiting_for_its_body_counts_as_buffered() -> None:
    decoder = p.FrameDecoder()
    decoder.feed(b'{"type":"privmsg","to":"bob","bin":3}\n')
    assert decoder.next_frame() is None
    assert decoder.buffered > 0  # a server must keep this decoder (and time the partial)
    decoder.feed(b"abc")
    frame = decoder.next_frame()
    assert isinstance(frame, PrivMsg) and frame.payload == b"abc"
    assert decoder.buffered == 0


def test_payload_validator_bounds_text_and_bytes() -> None:
    with pytest.raises(p.ProtocolError, match="1-65536 bytes"):
        PrivMsg.from_dict({"type": "privmsg", "to": "bob", "payload": b"x" * 65_537})
    with pytest.raises(p.ProtocolError, match="must be a string"):
        PrivMsg.from_dict({"type": "privmsg", "to": "bob", "payload": 5})
    assert PrivMsg.from_dict({"type": "privmsg", "to": "bob", "payload": b"x"}).payload == b"x"
