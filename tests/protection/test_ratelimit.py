from __future__ import annotations

import pytest

from server.ratelimit import (
    CATEGORIES,
    BanLadder,
    ConnectionGate,
    ConnectionLimits,
    GateConfig,
    RateLimitConfig,
    RateSpec,
    TokenBucket,
    category_for_frame,
)

from .conftest import FakeClock


def test_bucket_burst_then_retry_after() -> None:
    bucket = TokenBucket(RateSpec(rate=2.0, burst=3.0), now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [None, None, None]
    assert bucket.take(0.0) == pytest.approx(0.5)
    assert bucket.take(0.25) == pytest.approx(0.25)
    assert bucket.take(0.5) is None
    assert bucket.take(10.0) is None  # refills, but only up to burst
    assert bucket.take(10.0) is None
    assert bucket.take(10.0) is None
    assert bucket.take(10.0) is not None


def test_oversized_cost_is_delayed_not_refused_forever() -> None:
    bucket = TokenBucket(RateSpec(rate=10.0, burst=10.0), now=0.0)
    assert bucket.take(0.0, cost=25.0) is None  # full bucket admits it, goes into debt
    wait = bucket.take(0.0, cost=25.0)
    assert wait == pytest.approx(2.5)
    assert bucket.take(2.5, cost=25.0) is None


@pytest.mark.parametrize(
    ("frame_type", "kind", "category"),
    [
        ("chanmsg", "msg", "messages"),
        ("privmsg", None, "messages"),
        ("privmsg", "ctl", "control"),
        ("chanmsg", "file", "images"),
        ("join", None, "joins"),
        ("login", None, "logins"),
        ("create_account", None, "logins"),
        ("fetch_keys", None, "key_fetches"),
        ("whois", None, "commands"),
        ("ping", None, None),
    ],
)
def test_frame_categories(frame_type: str, kind: str | None, category: str | None) -> None:
    assert category_for_frame(frame_type, kind) == category


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_refuses_with_retry_after(category: str) -> None:
    spec = RateSpec(rate=1.0, burst=2.0)
    limits = ConnectionLimits(RateLimitConfig(**{category: spec}), now=0.0)
    assert limits.check(category, 0.0) is None
    assert limits.check(category, 0.0) is None
    refusal = limits.check(category, 0.0)
    assert refusal is not None
    assert refusal.category == category
    assert refusal.retry_after == pytest.approx(1.0)
    assert not refusal.abusive
    assert limits.refused[category] == 1
    assert limits.check(category, 1.0) is None
    others = [c for c in CATEGORIES if c != category]
    assert all(limits.check(c, 1.0) is None for c in others)  # independent buckets


def test_busy_channel_sender_never_limited_at_defaults() -> None:
    limits = ConnectionLimits(now=0.0)
    t = 0.0
    for _ in range(20):  # a burst of 20 messages at once
        assert limits.check_frame("chanmsg", t, kind="msg") is None
    for _ in range(600):  # then a sustained 10 msg/s for a minute
        t += 0.1
        assert limits.check_frame("chanmsg", t, kind="msg") is None


def test_joining_a_200_member_channel_key_exchange_fits_in_burst() -> None:
    limits = ConnectionLimits(now=0.0)
    assert limits.check_frame("join", 0.0) is None
    for _ in range(199):  # fetch every member's bundle
        assert limits.check_frame("fetch_keys", 0.0) is None
    for _ in range(2 * 199):  # a handshake and a sender key to each member, at once
        assert limits.check_frame("privmsg", 0.0, kind="ctl") is None


def test_ten_megabyte_image_passes_at_defaults() -> None:
    limits = ConnectionLimits(now=0.0)
    chunk = 48 * 1024  # raw bytes per chunk; base64 makes frames ~4/3 larger
    frame_size = (chunk * 4) // 3 + 200
    chunks = (10 * 1024 * 1024) // chunk + 1
    t = 0.0
    for _ in range(chunks):
        assert limits.check_frame("chanmsg", t, kind="file", size=frame_size) is None
        t += 0.001  # sent as fast as a LAN allows
    assert chunks * frame_size > 14 * 1000 * 1000


def test_image_bytes_limited_when_flooding() -> None:
    limits = ConnectionLimits(now=0.0)
    sent = 0
    refusal = None
    while refusal is None:
        refusal = limits.check_frame("chanmsg", 0.0, kind="file", size=60_000)
        sent += 60_000
    assert refusal.category == "images"
    assert refusal.retry_after > 0
    assert sent > 30 * 1024 * 1024


def test_repeated_refusals_become_abusive() -> None:
    config = RateLimitConfig(messages=RateSpec(1.0, 1.0), refusals=RateSpec(1.0, 3.0))
    limits = ConnectionLimits(config, now=0.0)
    assert limits.check("messages", 0.0) is None
    flags = []
    for _ in range(5):
        refusal = limits.check("messages", 0.0)
        assert refusal is not None
        flags.append(refusal.abusive)
    assert flags == [False, False, False, True, True]


def test_gate_per_address_concurrency_and_close(clock: FakeClock) -> None:
    gate = ConnectionGate(GateConfig(max_per_address=2), clock=clock)
    assert gate.try_open("192.0.2.1") is None
    assert gate.try_open("192.0.2.1") is None
    refusal = gate.try_open("192.0.2.1")
    assert refusal is not None
    assert refusal.category == "per_address"
    assert refusal.retry_after > 0
    assert gate.try_open("192.0.2.2") is None  # other addresses unaffected
    gate.close("192.0.2.1")
    assert gate.try_open("192.0.2.1") is None
    assert gate.open_total == 3


def test_gate_connection_rate(clock: FakeClock) -> None:
    gate = ConnectionGate(GateConfig(connect_rate=RateSpec(1.0, 2.0)), clock=clock)
    assert gate.try_open("192.0.2.1") is None
    assert gate.try_open("192.0.2.1") is None
    refusal = gate.try_open("192.0.2.1")
    assert refusal is not None
    assert refusal.category == "connect_rate"
    assert refusal.retry_after == pytest.approx(1.0)
    clock.advance(1.0)
    assert gate.try_open("192.0.2.1") is None


def test_gate_global_cap(clock: FakeClock) -> None:
    gate = ConnectionGate(GateConfig(max_connections=3), clock=clock)
    for i in range(3):
        assert gate.try_open(f"192.0.2.{i}") is None
    refusal = gate.try_open("192.0.2.99")
    assert refusal is not None
    assert refusal.category == "server_full"
    gate.close("192.0.2.0")
    assert gate.try_open("192.0.2.99") is None


def test_escalating_bans_expire(clock: FakeClock) -> None:
    ladder = BanLadder(steps=(60.0, 300.0, 1800.0), forgive_after=86400.0)
    gate = ConnectionGate(GateConfig(bans=ladder), clock=clock)
    addr = "198.51.100.5"
    assert [gate.offence(addr) for _ in range(1)] == [60.0]
    refusal = gate.try_open(addr)
    assert refusal is not None
    assert refusal.category == "banned"
    assert refusal.retry_after == pytest.approx(60.0)
    clock.advance(60.0)
    assert gate.try_open(addr) is None  # the ban expired
    assert gate.offence(addr) == 300.0
    assert gate.banned_for(addr) == pytest.approx(300.0)
    clock.advance(300.0)
    assert gate.banned_for(addr) is None
    assert gate.offence(addr) == 1800.0
    clock.advance(1800.0)
    assert gate.offence(addr) == 1800.0  # the last step repeats
    clock.advance(1800.0 + 86400.0)
    assert gate.offence(addr) == 60.0  # forgiven after a quiet day


def test_connect_flood_becomes_a_ban(clock: FakeClock) -> None:
    config = GateConfig(connect_rate=RateSpec(1.0, 1.0), connect_refusals=RateSpec(0.1, 3.0))
    gate = ConnectionGate(config, clock=clock)
    categories = []
    for _ in range(6):
        refusal = gate.try_open("203.0.113.1")
        categories.append(None if refusal is None else refusal.category)
    assert categories[0] is None
    assert categories[1:4] == ["connect_rate"] * 3
    assert categories[4] == "banned"
    assert gate.banned_for("203.0.113.1") == pytest.approx(60.0)


def test_ipv6_addresses_share_a_64(clock: FakeClock) -> None:
    gate = ConnectionGate(GateConfig(max_per_address=2), clock=clock)
    assert gate.try_open("2001:db8::1") is None
    assert gate.try_open("2001:db8::2") is None
    assert gate.try_open("2001:db8::3") is not None
    assert gate.try_open("2001:db8:0:1::1") is None


def test_loopback_exempt(clock: FakeClock) -> None:
    gate = ConnectionGate(GateConfig(max_per_address=1), clock=clock)
    for _ in range(300):
        assert gate.try_open("127.0.0.1") is None
    assert gate.offence("127.0.0.1") == 0.0


def test_prune_forgets_idle_sources(clock: FakeClock) -> None:
    gate = ConnectionGate(clock=clock)
    for i in range(100):
        assert gate.try_open(f"10.0.0.{i}") is None
        gate.close(f"10.0.0.{i}")
    gate.offence("10.0.1.1")
    clock.advance(3600)
    gate.prune()
    assert len(gate) == 1  # the offender is remembered for a day
    clock.advance(86400)
    gate.prune()
    assert len(gate) == 0
