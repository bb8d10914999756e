"""Building blocks shared by the sans-IO router: per-connection state and the outbox.

The router never writes to sockets. Each call collects :class:`Delivery` items (target
connection ids plus bytes encoded exactly once) and :class:`Close` actions in an
:class:`Outbox`; the I/O shell carries them out.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from justirc_sdk.protocol import Error as ErrorFrame
from justirc_sdk.protocol import ErrorCode, Frame, encode
from justirc_sdk.protocol import Ok as OkFrame

if TYPE_CHECKING:
    from .ratelimit import ConnectionLimits

__all__ = ["Client", "Close", "Delivery", "Job", "Outbox", "Output", "Refusal"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """The same encoded bytes for every connection in ``targets`` except ``exclude``.

    ``exclude`` lets a channel relay pass the channel's cached member tuple as it is
    (the sender is skipped by the shell) instead of building a new list per message.
    """

    targets: Sequence[int]
    data: bytes
    kind: str = ""
    """The frame type (for metrics); empty when unknown."""
    exclude: int | None = None
    """A connection among ``targets`` that must not get the bytes (the sender)."""

    def recipients(self) -> int:
        """How many connections get the bytes."""
        n = len(self.targets)
        return n - 1 if self.exclude is not None and self.exclude in self.targets else n


@dataclass(frozen=True, slots=True)
class Close:
    """Tell ``conn`` ``bye`` (with ``code`` and ``reason``) and close it."""

    conn: int
    reason: str
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """Slow work for *conn* (password hashing) the shell runs off the routing path.

    While a job runs the shell reads no further frames from *conn*, so frames stay in
    order; ``run()`` returns the router output to apply when it is done.
    """

    conn: int
    run: Callable[[], Awaitable[Output]]


@dataclass(slots=True)
class Output:
    """Everything one router call asks the I/O shell to do, in order."""

    deliveries: list[Delivery] = field(default_factory=list)
    closes: list[Close] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)

    def frames_for(self, conn: int) -> list[bytes]:
        """Bytes delivered to *conn*, in order (a convenience for tests)."""
        return [d.data for d in self.deliveries if conn in d.targets and conn != d.exclude]


class Refusal(Exception):
    """Raised inside a command handler to refuse it with an ``error`` frame."""

    def __init__(self, code: ErrorCode, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after


@dataclass(slots=True, eq=False)
class Client:
    """What the router knows about one connection."""

    conn: int
    connected_at: float
    addr: str = ""
    """The peer address (for lockout accounting; never logged with payloads)."""
    hello: bool = False
    nick: str | None = None
    account: str | None = None
    token: str | None = field(default=None, repr=False)
    """This connection's session token (memory only, to revoke it at logout)."""
    bundle: str | None = None
    key_id: str | None = None
    """SHA-256 hex of the published bundle: the guest's stable identity."""
    last_active: float = 0.0
    closing: bool = False
    quit_reason: str | None = None
    errors: deque[float] | None = None
    """Times of recent protocol errors; created at the first one (idle clients have none)."""
    invited_to: set[str] | None = None
    """Keys of channels this client was invited to; created at the first invite."""
    limits: ConnectionLimits | None = None

    def invite(self, key: str) -> None:
        """Remember an invitation to channel *key*."""
        if self.invited_to is None:
            self.invited_to = set()
        self.invited_to.add(key)

    def uninvite(self, key: str) -> None:
        """Forget an invitation to channel *key* (used up, or no longer valid)."""
        if self.invited_to is not None:
            self.invited_to.discard(key)
            if not self.invited_to:
                self.invited_to = None

    def is_invited(self, key: str) -> bool:
        """True when this client holds an invitation to channel *key*."""
        return self.invited_to is not None and key in self.invited_to

    def identities(self) -> tuple[str, ...]:
        """Stable identities, strongest first (account, published key, nick)."""
        ids: list[str] = []
        if self.account is not None:
            ids.append(f"account:{self.account.lower()}")
        if self.key_id is not None:
            ids.append(f"key:{self.key_id}")
        if self.nick is not None:
            ids.append(f"nick:{self.nick.lower()}")
        return tuple(ids)

    def primary_identity(self) -> str:
        """The identity roles and ownership are recorded under."""
        return self.identities()[0]


class Outbox:
    """Collects deliveries and closes; :meth:`take` hands them to the shell."""

    __slots__ = ("_out",)

    def __init__(self) -> None:
        self._out = Output()

    def take(self) -> Output:
        """Return everything collected so far and start afresh."""
        out, self._out = self._out, Output()
        return out

    def send(
        self, targets: Sequence[int], data: bytes, kind: str = "", exclude: int | None = None
    ) -> None:
        """Deliver already-encoded *data* (a frame of type *kind*) to *targets* but *exclude*.

        *targets* must not change afterwards (pass a tuple or a fresh list).
        """
        if targets:
            self._out.deliveries.append(Delivery(targets, data, kind, exclude))

    def frame(self, conn: int, frame: Frame) -> None:
        """Encode *frame* and deliver it to one connection."""
        self._out.deliveries.append(Delivery((conn,), encode(frame), frame.type))

    def job(self, conn: int, run: Callable[[], Awaitable[Output]]) -> None:
        """Ask the shell to run slow work for *conn* (see :class:`Job`)."""
        self._out.jobs.append(Job(conn, run))

    def ok(self, conn: int, rid: str | None) -> None:
        """Acknowledge a request that carried an id (frames without id get no ``ok``)."""
        if rid is not None:
            self.frame(conn, OkFrame(id=rid))

    def error(
        self,
        conn: int,
        code: ErrorCode,
        message: str,
        rid: str | None,
        ref: str | None,
        retry_after: float | None = None,
    ) -> None:
        """Refuse a frame with a typed ``error`` (``retry_after`` for rate limits)."""
        self.frame(
            conn,
            ErrorFrame(
                id=rid,
                code=code.value,
                message=message[:500],
                ref=ref and ref[:40],
                retry_after=None if retry_after is None else round(max(retry_after, 0.0), 3),
            ),
        )

    def broadcast(
        self,
        targets: Iterable[int],
        frame: Frame,
        requester: int | None = None,
        rid: str | None = None,
    ) -> None:
        """Send *frame* to *targets*, encoded once; the requester's copy carries its id.

        When the requester is not among the targets and sent an id, it gets ``ok``.
        """
        group = list(targets)
        kind = frame.type
        if requester is None or rid is None:
            self.send(group, encode(frame), kind)
        elif requester in group:
            self.send([c for c in group if c != requester], encode(frame), kind)
            self.frame(requester, with_id(frame, rid))
        else:
            self.send(group, encode(frame), kind)
            self.ok(requester, rid)

    def close(self, conn: int, reason: str, code: ErrorCode | None = None) -> None:
        """Ask the shell to say ``bye`` and close *conn*."""
        self._out.closes.append(Close(conn, reason, None if code is None else code.value))


def with_id(frame: Frame, rid: str | None) -> Frame:
    """A copy of *frame* carrying the request id *rid*."""
    return frame if rid is None else dataclasses.replace(frame, id=rid)
