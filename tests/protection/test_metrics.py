from __future__ import annotations

import urllib.request

from server.metrics import Metrics, NullMetrics, make_metrics


def _value(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{sample} not in metrics:\n{text}")


def test_scrape_over_http() -> None:
    metrics = Metrics()
    host, port = metrics.start_http("127.0.0.1", 0)
    try:
        metrics.connection_opened()
        metrics.connection_opened()
        metrics.connection_closed()
        metrics.frame_in("chanmsg")
        metrics.frame_in("chanmsg")
        metrics.frame_in("no-such-type")
        metrics.frame_out("chanmsg", 199)
        metrics.delivered(199)
        metrics.queue_drop(3)
        metrics.slow_consumer()
        metrics.rate_limited("messages")
        metrics.auth_failure("bad_password")
        metrics.connection_refused("ip_filter")
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10) as resp:
            assert resp.status == 200
            text = resp.read().decode()
    finally:
        metrics.stop_http()
    assert _value(text, "justirc_connections") == 1
    assert _value(text, "justirc_connections_accepted_total") == 2
    assert _value(text, 'justirc_frames_in_total{type="chanmsg"}') == 2
    assert _value(text, 'justirc_frames_in_total{type="other"}') == 1
    assert _value(text, 'justirc_frames_out_total{type="chanmsg"}') == 199
    assert _value(text, "justirc_deliveries_total") == 199
    assert _value(text, "justirc_queue_drops_total") == 3
    assert _value(text, "justirc_slow_consumer_disconnects_total") == 1
    assert _value(text, 'justirc_rate_limited_total{category="messages"}') == 1
    assert _value(text, 'justirc_auth_failures_total{reason="bad_password"}') == 1
    assert _value(text, 'justirc_connections_refused_total{reason="ip_filter"}') == 1
    assert "python_gc" not in text  # a private registry: only our metrics


def test_registries_are_private() -> None:
    a, b = Metrics(), Metrics()
    a.delivered(5)
    assert _value(b.render().decode(), "justirc_deliveries_total") == 0
    assert _value(a.render().decode(), "justirc_deliveries_total") == 5


def test_stop_is_idempotent_and_port_reusable() -> None:
    metrics = Metrics()
    _, port = metrics.start_http("127.0.0.1", 0)
    metrics.stop_http()
    metrics.stop_http()
    again = Metrics()
    _, port2 = again.start_http("127.0.0.1", port)
    again.stop_http()
    assert port2 == port


def test_null_metrics_do_nothing() -> None:
    null = make_metrics(False)
    assert isinstance(null, NullMetrics)
    null.connection_opened()
    null.frame_in("chanmsg")
    null.frame_out("chanmsg", 3)
    null.rate_limited("messages")
    assert not hasattr(null, "render")
    assert isinstance(make_metrics(True), Metrics)
