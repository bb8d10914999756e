"""Run a server for tests, notebooks and bots: in-process, on its own thread and loop.

:class:`EmbeddedServer` works the same from plain code, asyncio, trio or a Jupyter
kernel, because the server never shares the caller's event loop::

    with EmbeddedServer(tmp_path) as srv:
        connect_to("127.0.0.1", srv.port)

:func:`run_server` is the coroutine behind the ``justirc-server`` command.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from .config import ServerConfig
from .errors import ServerError
from .listener import JustIRCServer

__all__ = ["EmbeddedServer", "new_event_loop", "run_server"]

_log = logging.getLogger(__name__)


def new_event_loop(prefer_uvloop: bool = True) -> asyncio.AbstractEventLoop:
    """A fresh event loop: uvloop's when installed and *prefer_uvloop*, asyncio's otherwise.

    TLS servers pass ``prefer_uvloop=False``: with the stdlib loop the IP filter and connection
    gate run before the TLS handshake reads a byte (see :mod:`server.listener`).
    """
    if not prefer_uvloop:
        return asyncio.new_event_loop()
    try:
        import uvloop  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


async def run_server(
    config: ServerConfig,
    *,
    ready: Callable[[JustIRCServer], None] | None = None,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
    clock: Callable[[], float] = time.time,
) -> None:
    """Serve until *stop* is set (or SIGINT/SIGTERM), then shut down gracefully.

    *ready* is called once the server listens (its ``port`` is then known).
    """
    stop = stop or asyncio.Event()
    server = JustIRCServer(config, clock=clock)
    await server.start()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not main thread / Windows
                pass
    try:
        if ready is not None:
            ready(server)
        await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await server.stop()


class EmbeddedServer:
    """A JustIRC server on a background thread with its own event loop.

    Keyword arguments are :class:`ServerConfig` fields (``ping_interval=0.2`` ...);
    ``clock`` replaces the router's wall clock (for timed-ban tests).
    """

    def __init__(
        self,
        data_dir: Path | str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Callable[[], float] = time.time,
        **config: Any,
    ) -> None:
        base = ServerConfig(host=host, port=port, data_dir=Path(data_dir))
        self.config = base.replace_from(config)
        self.clock = clock
        self.host = host
        self.port = port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._server: JustIRCServer | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self.tls_fingerprint: str | None = None
        """SHA-256 hex of the self-signed certificate (``tls_self_signed=True``)."""
        self.metrics_address: tuple[str, int] | None = None
        """``(host, port)`` of ``/metrics`` (``metrics_enabled=True``, port 0 picks one)."""

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` to connect to."""
        return self.host, self.port

    @property
    def running(self) -> bool:
        """True while the server thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> EmbeddedServer:
        """Start the server and wait until it listens; raise if it cannot start."""
        with self._lock:
            if self.running:
                return self
            ready = threading.Event()
            self._error = None
            self._thread = threading.Thread(
                target=self._run, args=(ready,), name="justirc-embedded-server", daemon=True
            )
            self._thread.start()
            if not ready.wait(timeout):
                raise ServerError("embedded server did not start in time")
            error = self._startup_error()
            if error is not None:
                self._thread.join()
                self._thread = None
                raise error
            return self

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down gracefully (clients get ``bye``); safe to call more than once."""
        with self._lock:
            thread, loop, stop = self._thread, self._loop, self._stop
            if thread is None:
                return
            if loop is not None and stop is not None and thread.is_alive():
                with contextlib.suppress(RuntimeError):  # loop already closed
                    loop.call_soon_threadsafe(stop.set)
            thread.join(timeout)
            self._thread = None

    def restart(self) -> EmbeddedServer:
        """Stop, then start again on the same port with the same data directory."""
        self.stop()
        self.config = self.config.replace_from({"port": self.port})
        return self.start()

    def call(self, fn: Callable[[JustIRCServer], Any], timeout: float = 10.0) -> Any:
        """Run ``fn(server)`` on the server's loop thread and return its result."""
        loop, server = self._loop, self._server
        if loop is None or server is None:
            raise ServerError("embedded server is not running")

        async def _call() -> Any:
            return fn(server)

        return asyncio.run_coroutine_threadsafe(_call(), loop).result(timeout)

    def _startup_error(self) -> BaseException | None:
        return self._error

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> EmbeddedServer:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        loop = new_event_loop(prefer_uvloop=not self.config.tls_enabled)
        self._loop = loop
        try:
            loop.run_until_complete(self._main(ready))
        except BaseException as exc:  # reported to start() when it happens early
            if not ready.is_set():
                self._error = exc
            else:
                _log.exception("embedded server crashed")
        finally:
            ready.set()
            self._loop = None
            self._server = None
            loop.close()

    async def _main(self, ready: threading.Event) -> None:
        self._stop = asyncio.Event()

        def on_ready(server: JustIRCServer) -> None:
            self._server = server
            self.port = server.port
            self.tls_fingerprint = server.tls_fingerprint
            self.metrics_address = server.metrics_address
            ready.set()

        await run_server(
            self.config, ready=on_ready, stop=self._stop, handle_signals=False, clock=self.clock
        )
