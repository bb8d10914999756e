"""Per-connection state is created lazily, and still enforces every rule once used."""

from __future__ import annotations

import json
from typing import Any

import pytest

from justirc_sdk.protocol import ErrorCode, ProtocolError, decode_frame
from server.config import ServerConfig
from server.ratelimit import CATEGORIES, ConnectionLimits, RateLimitConfig, RateSpec
from server.router import Router
from server.routing import Output


def feed(router: Router, conn: int, **frame: Any) -> Output:
    return router.handle(conn, decode_frame(json.dumps(frame)))


def test_fresh_limits_hold_no_buckets() -> None:
    limits = ConnectionLimits(now=0.0)
    assert not hasattr(limits, "__dict__")
    assert limits._buckets is None and limits._refusals is None
    assert limits.refused == dict.fromkeys(CATEGORIES, 0)


@pytest.mark.parametrize("category", CATEGORIES)
def test_lazy_bucket_starts_full_and_refuses_beyond_burst(category: str) -> None:
    limits = ConnectionLimits(RateLimitConfig(**{category: RateSpec(rate=2.0, burst=3.0)}), 0.0)
    # first use long after connecting: the bucket is full, as if it had been refilling
    for _ in range(3):
        assert limits.check(category, 500.0) is None
    refusal = limits.check(category, 500.0)
    assert refusal is not None and refusal.category == category
    assert refusal.retry_after == pytest.approx(0.5)
    assert limits.refused[category] == 1
    assert limits.check(category, 500.5) is None


def test_lazy_refusal_bucket_still_flags_abuse() -> None:
    config = RateLimitConfig(
        messages=RateSpec(rate=1.0, burst=1.0), refusals=RateSpec(rate=1.0, burst=2.0)
    )
    limits = ConnectionLimits(config, 0.0)
    assert limits.check("messages", 0.0) is None
    results = [limits.check("messages", 0.0) for _ in range(3)]
    assert [r is not None and r.abusive for r in results] == [False, False, True]


def test_router_still_rate_limits_a_connection_with_lazy_buckets() -> None:
    router = Router(ServerConfig(rate_messages=(1.0, 2.0)))
    for conn, nick in ((1, "alice"), (2, "bobby")):
        router.connected(conn)
        feed(router, conn, type="hello", version=1)
        feed(router, conn, type="register", nick=nick)
    codes = []
    for i in range(3):
        out = feed(router, 1, type="privmsg", to="bobby", payload="cA==", id=str(i))
        codes.append(json.loads(out.frames_for(1)[0]).get("code"))
    assert codes == [None, None, "rate_limited"]


def test_idle_client_has_no_error_or_invite_containers() -> None:
    router = Router()
    router.connected(1)
    feed(router, 1, type="hello", version=1)
    feed(router, 1, type="register", nick="alice")
    client = router.clients[1]
    assert client.errors is None and client.invited_to is None
    router.protocol_error(1, ProtocolError(ErrorCode.BAD_FRAME, "x"))
    assert client.errors is not None and len(client.errors) == 1
