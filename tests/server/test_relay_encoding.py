"""Relayed messages splice the payload in; the result must equal the JSON encoder's."""

from __future__ import annotations

import base64
import json

from hypothesis import given
from hypothesis import strategies as st

from justirc_sdk.protocol import ChanMsg, PrivMsg, decode_frame, encode, encode_dict
from server.relay import SPLICE_MIN, encode_relay, splice_safe

_ENVELOPE = {"type": "privmsg", "to": "bobby", "kind": "file", "sender": "alice", "ts": 1.5}

b64_payloads = st.binary(min_size=1, max_size=3 * SPLICE_MIN).map(
    lambda b: base64.b64encode(b).decode("ascii")
)
any_payloads = st.text(min_size=1, max_size=2 * SPLICE_MIN) | st.text(
    alphabet=st.characters(max_codepoint=0x7F), min_size=SPLICE_MIN, max_size=2 * SPLICE_MIN
)
stamps = st.floats(min_value=0, max_value=1e11, allow_nan=False, allow_infinity=False)


@given(payload=b64_payloads, ts=stamps, kind=st.sampled_from(["msg", "ctl", "file"]))
def test_base64_relay_decodes_like_the_slow_path(payload: str, ts: float, kind: str) -> None:
    envelope = {**_ENVELOPE, "ts": ts, "kind": kind}
    fast = encode_relay(envelope, payload)
    slow = encode_dict({**envelope, "payload": payload})
    assert fast.endswith(b"\n") and fast.count(b"\n") == 1
    assert json.loads(fast) == json.loads(slow)
    frame = decode_frame(fast)
    assert isinstance(frame, PrivMsg)
    assert frame.payload == payload and frame.ts == ts and frame.sender == "alice"


@given(payload=any_payloads)
def test_any_payload_relay_is_equal_json(payload: str) -> None:
    """Quotes, backslashes, control and non-ASCII characters fall back to real encoding."""
    envelope = {"type": "chanmsg", "channel": "#r", "kind": "msg", "sender": "a_b", "ts": 2.0}
    fast = encode_relay(envelope, payload)
    assert json.loads(fast) == {**envelope, "payload": payload}
    assert fast.isascii() and fast.count(b"\n") == 1
    frame = decode_frame(fast)
    assert frame == ChanMsg(channel="#r", payload=payload, kind="msg", sender="a_b", ts=2.0)
    assert json.loads(encode(frame)) == json.loads(fast)


def test_splice_safety_check() -> None:
    assert splice_safe("QUJD+/==")
    for bad in ('a"b', "a\\b", "a\nb", "a\x00b", "a\x1fb", "caf\u00e9"):
        assert not splice_safe(bad)
    assert splice_safe("a\x7fb")  # DEL needs no escaping in JSON


def test_large_unsafe_payload_is_escaped() -> None:
    payload = "x" * SPLICE_MIN + '"\\\n'
    data = encode_relay(dict(_ENVELOPE), payload)
    assert json.loads(data)["payload"] == payload
