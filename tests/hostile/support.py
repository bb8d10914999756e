"""Helpers shared by the hostile and fault suites: event collection, log capture, search."""

from __future__ import annotations

import base64
import logging
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import anyio

from justirc_sdk import Session, events
from justirc_sdk._subscribers import EventStream

__all__ = [
    "LogCapture",
    "collect_until",
    "encodings_of",
    "free_port",
    "is_from",
    "secrets_of",
    "shown",
    "wait_until",
]


def free_port() -> int:
    """A TCP port nobody listens on right now (for servers that must restart on it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll *predicate* (for server-side state that emits no event) until true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s: {what}")
        time.sleep(0.01)


def is_from(sender: str, text: str | None = None, channel: str | None = None) -> Any:
    """A predicate for a Message event from *sender* (optionally with *text*)."""

    def check(event: events.Event) -> bool:
        return (
            isinstance(event, events.Message)
            and event.sender == sender
            and event.channel == channel
            and (text is None or event.text == text)
        )

    return check


async def collect_until(
    stream: EventStream, predicate: Callable[[events.Event], bool], timeout: float = 10.0
) -> list[events.Event]:
    """Every event from *stream* up to and including the first that satisfies *predicate*."""
    seen: list[events.Event] = []
    with anyio.fail_after(timeout):
        async for event in stream:
            seen.append(event)
            if predicate(event):
                return seen
    raise AssertionError(f"stream ended before the expected event; saw {seen!r}")


def shown(seen: Iterable[events.Event]) -> list[str]:
    """The texts a user would see as messages (and image captions) among *seen*."""
    out: list[str] = []
    for event in seen:
        if isinstance(event, events.Message):
            out.append(event.text)
        elif isinstance(event, events.ImageMessage):
            out.append(f"<image {event.caption}>")
    return out


class LogCapture(logging.Handler):
    """Every log record of the ``server`` package (and optionally others), at DEBUG."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(self.format(r) for r in self.records)

    def tracebacks(self) -> list[logging.LogRecord]:
        """Records that carry an exception or a traceback, or are errors."""
        return [
            r
            for r in self.records
            if r.exc_info or r.levelno >= logging.ERROR or "Traceback" in r.getMessage()
        ]


@contextmanager
def capture_logs(*names: str) -> Iterator[LogCapture]:
    """Attach a :class:`LogCapture` at DEBUG to the named loggers for the block."""
    handler = LogCapture()
    saved: list[tuple[logging.Logger, int]] = []
    for name in names:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger, level in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)


def encodings_of(secret: bytes) -> list[bytes]:
    """*secret* as it could appear in a leak: raw, hex, and base64 at all three alignments."""
    forms = [secret, secret.hex().encode()]
    for shift in range(3):
        chunk = secret[shift:]
        chunk = chunk[: len(chunk) - len(chunk) % 3]
        if len(chunk) >= 12:
            forms.append(base64.b64encode(chunk))
    return forms


_SECRET_FIELDS = {"signing", "identity_dh", "rk", "dhs", "cks", "ckr", "ck"}


def secrets_of(session: Session) -> list[bytes]:
    """Every secret key held by *session*'s crypto engine (identity, ratchets, chains)."""
    found: list[bytes] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if k == "prekeys" and isinstance(v, dict):
                    for item in v.values():
                        found.append(base64.b64decode(item))
                else:
                    walk(v, str(k))
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif key in _SECRET_FIELDS and isinstance(value, str):
            try:
                raw = base64.b64decode(value, validate=True)
            except ValueError:
                return
            if len(raw) >= 16:
                found.append(raw)

    walk(session.crypto.engine.export_state())
    return found
