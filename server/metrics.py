"""Prometheus metrics for the server (``prometheus-client``, private registry).

:class:`Metrics` counts what an operator needs to see load and abuse; it never records
payloads, nicks or addresses (labels are bounded sets: frame types, rate-limit
categories, failure reasons). :class:`NullMetrics` has the same methods and does
nothing, so with metrics disabled the hot path pays one no-op call. Choose with
:func:`make_metrics`.
"""

from __future__ import annotations

import threading
from typing import Protocol
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest, start_http_server

from justirc_sdk.protocol import FRAME_TYPES

__all__ = ["Metrics", "MetricsSink", "NullMetrics", "make_metrics"]

_KNOWN_TYPES = frozenset(FRAME_TYPES)


class MetricsSink(Protocol):
    """What the server calls; implemented by :class:`Metrics` and :class:`NullMetrics`."""

    def connection_opened(self) -> None: ...
    def connection_closed(self) -> None: ...
    def frame_in(self, frame_type: str) -> None: ...
    def frame_out(self, frame_type: str, count: int = 1) -> None: ...
    def delivered(self, count: int = 1) -> None: ...
    def queue_drop(self, count: int = 1) -> None: ...
    def slow_consumer(self) -> None: ...
    def rate_limited(self, category: str) -> None: ...
    def auth_failure(self, reason: str) -> None: ...
    def connection_refused(self, reason: str) -> None: ...


class Metrics:
    """Live counters in a private :class:`~prometheus_client.CollectorRegistry`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._connections = Gauge("justirc_connections", "Open client connections", registry=r)
        self._accepted = Counter("justirc_connections_accepted", "Accepted connections", registry=r)
        self._refused = Counter(
            "justirc_connections_refused", "Connections refused at accept", ["reason"], registry=r
        )
        self._in = Counter("justirc_frames_in", "Frames received by type", ["type"], registry=r)
        self._out = Counter("justirc_frames_out", "Frames sent by type", ["type"], registry=r)
        self._delivered = Counter(
            "justirc_deliveries", "Frames queued to a recipient (fan-out included)", registry=r
        )
        self._drops = Counter(
            "justirc_queue_drops", "Outbound frames dropped because a queue was full", registry=r
        )
        self._slow = Counter(
            "justirc_slow_consumer_disconnects", "Connections closed as too slow", registry=r
        )
        self._limited = Counter(
            "justirc_rate_limited", "Requests refused by a rate limit", ["category"], registry=r
        )
        self._auth = Counter(
            "justirc_auth_failures", "Failed logins and token checks", ["reason"], registry=r
        )
        self._in_children: dict[str, Counter] = {}
        self._out_children: dict[str, Counter] = {}
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def connection_opened(self) -> None:
        """A connection was accepted."""
        self._accepted.inc()
        self._connections.inc()

    def connection_closed(self) -> None:
        """A connection ended."""
        self._connections.dec()

    def connection_refused(self, reason: str) -> None:
        """A connection was refused at accept (ip filter, ban, cap...)."""
        self._refused.labels(reason).inc()

    def frame_in(self, frame_type: str) -> None:
        """A client frame of *frame_type* was decoded."""
        child = self._in_children.get(frame_type)
        if child is None:
            child = self._child(self._in, self._in_children, frame_type)
        child.inc()

    def frame_out(self, frame_type: str, count: int = 1) -> None:
        """*count* frames of *frame_type* were sent."""
        child = self._out_children.get(frame_type)
        if child is None:
            child = self._child(self._out, self._out_children, frame_type)
        child.inc(count)

    def delivered(self, count: int = 1) -> None:
        """*count* frames were queued to recipients."""
        self._delivered.inc(count)

    def queue_drop(self, count: int = 1) -> None:
        """*count* outbound frames were dropped."""
        self._drops.inc(count)

    def slow_consumer(self) -> None:
        """A slow consumer was disconnected."""
        self._slow.inc()

    def rate_limited(self, category: str) -> None:
        """A request in *category* was refused by a rate limit."""
        self._limited.labels(category).inc()

    def auth_failure(self, reason: str) -> None:
        """A login failed; *reason* is an error code such as ``bad_password``."""
        self._auth.labels(reason).inc()

    def render(self) -> bytes:
        """The metrics in Prometheus text format."""
        return generate_latest(self.registry)

    def start_http(self, host: str = "127.0.0.1", port: int = 9464) -> tuple[str, int]:
        """Serve ``/metrics`` in a daemon thread; returns the bound (host, port).

        Port 0 picks a free port. Loopback by default: metrics reveal activity levels,
        so expose them beyond the host only deliberately.
        """
        if self._server is not None:
            raise RuntimeError("the metrics endpoint is already running")
        self._server, self._thread = start_http_server(port, host, self.registry)
        return host, int(self._server.server_port)

    def stop_http(self) -> None:
        """Stop the endpoint started by :meth:`start_http` (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @staticmethod
    def _child(parent: Counter, cache: dict[str, Counter], frame_type: str) -> Counter:
        label = frame_type if frame_type in _KNOWN_TYPES else "other"
        child = parent.labels(label)
        if label != "other":
            cache[frame_type] = child
        return child


class NullMetrics:
    """Metrics switched off: every method does nothing."""

    def connection_opened(self) -> None:
        """Do nothing."""

    def connection_closed(self) -> None:
        """Do nothing."""

    def connection_refused(self, reason: str) -> None:
        """Do nothing."""

    def frame_in(self, frame_type: str) -> None:
        """Do nothing."""

    def frame_out(self, frame_type: str, count: int = 1) -> None:
        """Do nothing."""

    def delivered(self, count: int = 1) -> None:
        """Do nothing."""

    def queue_drop(self, count: int = 1) -> None:
        """Do nothing."""

    def slow_consumer(self) -> None:
        """Do nothing."""

    def rate_limited(self, category: str) -> None:
        """Do nothing."""

    def auth_failure(self, reason: str) -> None:
        """Do nothing."""


def make_metrics(enabled: bool) -> Metrics | NullMetrics:
    """A live :class:`Metrics` when *enabled*, else a :class:`NullMetrics`."""
    return Metrics() if enabled else NullMetrics()
