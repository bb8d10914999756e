"""Property and unit tests of the sans-IO wire codec."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from justirc_sdk import JustIRCError
from justirc_sdk import protocol as p
from justirc_sdk.protocol import _fields

NICKS = st.from_regex(r"[A-Za-z0-9_\-]{3,20}", fullmatch=True)
CHANNELS = st.from_regex(r"#[A-Za-z0-9_\-]{1,50}", fullmatch=True)
B64 = st.from_regex(r"[A-Za-z0-9+/]{4,200}={0,2}", fullmatch=True)
SHORT = st.text(max_size=60)


_BY_NAME: dict[str, st.SearchStrategy[Any]] = {
    "id": st.none() | st.text(min_size=1, max_size=64),
    "nick": NICKS,
    "to": NICKS,
    "sender": st.none() | NICKS,
    "by": NICKS,
    "old": NICKS,
    "new": NICKS,
    "account": st.none() | NICKS,
    "channel": CHANNELS,
    "payload": B64,
    "bundle": B64,
    "kind": st.sampled_from(["msg", "ctl", "file"]),
    "role": st.sampled_from(["op", "mod", "member", "owner"]),
    "version": st.integers(min_value=0, max_value=1_000_000),
    "max_frame": st.integers(min_value=1024, max_value=1 << 20),
    "users": st.lists(NICKS, max_size=3),
    "channels": st.lists(CHANNELS, max_size=3),
    "members": st.dictionaries(
        NICKS, st.sampled_from(["owner", "op", "mod", "member"]), max_size=3
    ),
    "limit": st.none() | st.integers(min_value=0, max_value=100_000),
    "online": st.booleans(),
    "auth_required": st.booleans(),
    "code": st.text(min_size=1, max_size=40),
    "token": st.none() | st.text(min_size=1, max_size=64),
    "invite_only": st.none() | st.booleans(),
    "moderated": st.none() | st.booleans(),
    "secret": st.none() | st.booleans(),
    "topic_lock": st.none() | st.booleans(),
    "password": st.none() | st.text(max_size=50),
    "duration": st.none() | st.floats(min_value=1, max_value=1e9),
    "expires": st.floats(min_value=0, max_value=1e10),
    "message": st.text(max_size=100),
    "topic": st.none() | st.text(max_size=100),
    "reason": st.none() | st.text(max_size=100),
    "client": st.none() | st.text(max_size=100),
    "motd": st.none() | st.text(max_size=100),
    "until": st.none() | st.floats(min_value=0, max_value=1e10),
    "ts": st.none() | st.floats(min_value=0, max_value=1e10),
    "idle": st.none() | st.floats(min_value=0, max_value=1e10),
    "retry_after": st.none() | st.floats(min_value=0, max_value=1e6),
    "ref": st.none() | st.text(max_size=40),
}
_FALLBACK = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(min_value=1, max_value=1e9, allow_nan=False),
    st.text(max_size=60),
)


def _accepts(validator: Any, name: str, value: Any) -> bool:
    try:
        validator(name, value)
    except p.ProtocolError:
        return False
    return True


def _frame_dict(cls: type[p.Frame]) -> st.SearchStrategy[dict[str, Any]]:
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for f in dataclasses.fields(cls):
        validator = f.metadata["v"]
        base = _BY_NAME.get(f.name, _FALLBACK)
        fields[f.name] = base.filter(lambda v, v_=validator, n=f.name: _accepts(v_, n, v))
    return st.fixed_dictionaries(fields)


SIMPLE_TYPES = [
    cls
    for cls in p.FRAME_TYPES.values()
    if not any(f.name in {"modes", "channels", "bans"} for f in dataclasses.fields(cls))
]


@pytest.mark.parametrize("cls", SIMPLE_TYPES, ids=lambda c: c.type)
@settings(
    max_examples=15, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow]
)
@given(data=st.data())
def test_every_frame_type_round_trips(cls: type[p.Frame], data: st.DataObject) -> None:
    raw = data.draw(_frame_dict(cls))
    frame = cls.from_dict(raw)
    line = p.encode(frame)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert p.decode_frame(line) == frame


def test_nested_frames_round_trip() -> None:
    frames: list[p.Frame] = [
        p.Joined(
            channel="#Room",
            members={"alice": "owner", "bob": "member"},
            topic="hi ✓",
            modes=p.ChannelModes(invite_only=True, limit=5, has_password=True),
        ),
        p.ModeChanged(channel="#r", modes=p.ChannelModes(secret=True), by="alice"),
        p.ChannelList(channels=(p.ChannelSummary(name="#a", members=3, topic=None),)),
        p.BanList(channel="#a", bans=(p.BanEntry(nick="eve", by="alice", until=1.5e9),)),
    ]
    for frame in frames:
        assert p.decode_frame(p.encode(frame)) == frame


def test_every_declared_type_is_registered_and_documented() -> None:
    assert len(p.FRAME_TYPES) >= 50
    for name, cls in p.FRAME_TYPES.items():
        assert cls.type == name
        assert cls.__doc__ and cls.__doc__.strip()


@settings(max_examples=400)
@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_protocol_error(data: bytes) -> None:
    try:
        frame = p.decode_frame(data)
    except p.ProtocolError as exc:
        assert isinstance(exc, JustIRCError)
        assert isinstance(exc.code, p.ErrorCode)
    else:
        assert isinstance(frame, p.Frame)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=250)
@given(
    st.sampled_from(sorted(p.FRAME_TYPES)),
    st.dictionaries(
        st.sampled_from(
            [
                "id",
                "nick",
                "to",
                "channel",
                "payload",
                "members",
                "modes",
                "version",
                "kind",
                "bans",
                "topic",
                "limit",
                "duration",
            ]
        ),
        JSON_VALUES,
        max_size=6,
    ),
)
def test_mutated_frames_decode_or_raise_protocol_error(
    type_name: str, body: dict[str, Any]
) -> None:
    line = json.dumps({"type": type_name, **body}).encode()
    try:
        frame = p.decode_frame(line)
    except p.ProtocolError as exc:
        assert exc.frame_type == type_name
    else:
        assert frame.type == type_name


@settings(max_examples=200)
@given(st.lists(st.binary(max_size=80), max_size=8))
def test_decoder_never_raises_foreign_exceptions_on_a_stream(chunks: list[bytes]) -> None:
    decoder = p.FrameDecoder(max_frame=128)
    for chunk in chunks:
        decoder.feed(chunk)
        for _ in range(50):
            try:
                if decoder.next_frame() is None:
                    break
            except p.ProtocolError:
                continue
    assert decoder.buffered < 128


def test_decoder_reassembles_split_frames_and_skips_blank_lines() -> None:
    data = p.encode(p.Ping(token="a")) + b"\n\r\n" + p.encode(p.Register(nick="alice"))
    decoder = p.FrameDecoder()
    got: list[p.Frame] = []
    for i in range(len(data)):
        decoder.feed(data[i : i + 1])
        while (frame := decoder.next_frame()) is not None:
            got.append(frame)
    assert got == [p.Ping(token="a"), p.Register(nick="alice")]


def test_oversized_frame_is_reported_once_and_the_stream_recovers() -> None:
    decoder = p.FrameDecoder(max_frame=1024)
    decoder.feed(b'{"type":"ping","token":"' + b"x" * 3000)
    with pytest.raises(p.ProtocolError) as info:
        decoder.next_frame()
    assert info.value.code is p.ErrorCode.TOO_LARGE
    decoder.feed(b"x" * 3000 + b'"}\n' + p.encode(p.Pong(token="ok")))
    assert decoder.next_frame() == p.Pong(token="ok")
    assert decoder.buffered == 0


def test_oversized_complete_line_is_too_large() -> None:
    decoder = p.FrameDecoder(max_frame=64)
    decoder.feed(json.dumps({"type": "ping", "token": "y" * 60}).encode() + b"\n")
    with pytest.raises(p.ProtocolError) as info:
        decoder.next_frame()
    assert info.value.code is p.ErrorCode.TOO_LARGE


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"\xff\xfe{}", p.ErrorCode.BAD_FRAME),
        (b"not json", p.ErrorCode.BAD_FRAME),
        (b"[1,2]", p.ErrorCode.BAD_FRAME),
        (b'{"type": 5}', p.ErrorCode.BAD_FRAME),
        (b'{"type":"ping","token":NaN}', p.ErrorCode.BAD_FRAME),
        (b"[" * 20000 + b"]" * 20000, p.ErrorCode.BAD_FRAME),
        (b'{"type":"nope","id":"r1"}', p.ErrorCode.UNKNOWN_TYPE),
        (b'{"type":"privmsg","id":"r2","to":"bob"}', p.ErrorCode.BAD_FRAME),
        (b'{"type":"privmsg","to":"bob","payload":7}', p.ErrorCode.BAD_FRAME),
        (b'{"type":"register","nick":"a b"}', p.ErrorCode.INVALID_NICK),
        (b'{"type":"register","nick":"ab"}', p.ErrorCode.INVALID_NICK),
        (b'{"type":"join","channel":"nohash"}', p.ErrorCode.INVALID_CHANNEL),
        (b'{"type":"hello","version":true}', p.ErrorCode.BAD_FRAME),
        (b'{"type":"privmsg","to":"bob","payload":"QQ==","kind":"evil"}', p.ErrorCode.BAD_FRAME),
    ],
)
def test_bad_lines_get_their_error_code(line: bytes, code: p.ErrorCode) -> None:
    with pytest.raises(p.ProtocolError) as info:
        p.decode_frame(line)
    assert info.value.code is code


def test_request_id_is_recovered_from_a_rejected_frame() -> None:
    with pytest.raises(p.ProtocolError) as info:
        p.decode_frame(b'{"type":"privmsg","id":"r9","to":"bob"}')
    assert info.value.request_id == "r9"
    assert info.value.frame_type == "privmsg"


def test_encoding_is_one_ascii_line_even_for_unicode_and_newlines() -> None:
    line = p.encode(p.Topic(channel="#a", topic="line1\nline2 \u2028 ✓"))
    assert line.count(b"\n") == 1
    line.decode("ascii")
    assert p.decode_frame(line) == p.Topic(channel="#a", topic="line1\nline2 \u2028 ✓")


def test_validators_reject_bools_as_numbers() -> None:
    with pytest.raises(p.ProtocolError):
        _fields.v_int(0, 10)("n", True)
    with pytest.raises(p.ProtocolError):
        _fields.v_float(0, 10)("n", False)


def test_names_are_case_insensitive_and_reserved_names_caught() -> None:
    assert p.nick_key("Alice") == p.nick_key("aLICE")
    assert p.channel_key("#Test") == "#test"
    assert p.is_reserved_nick("ADMIN") and p.is_reserved_nick("Root")
    assert not p.is_valid_nick("ab") and p.is_valid_nick("a_b-c")
    assert p.is_valid_channel("#" + "a" * 50) and not p.is_valid_channel("#" + "a" * 51)


@settings(max_examples=60)
@given(
    st.text(min_size=1024, max_size=3000)
    | st.from_regex(r"[A-Za-z0-9+/]{1024,3000}", fullmatch=True)
)
def test_large_payloads_round_trip_whether_spliced_or_escaped(payload: str) -> None:
    frame = p.ChanMsg(channel="#big", payload=payload, kind="file", sender="alice", ts=1.5)
    line = p.encode(frame)
    assert line.count(b"\n") == 1
    assert json.loads(line) == {"type": "chanmsg", **_fields.to_json(frame)}
    assert p.decode_frame(line) == frame
