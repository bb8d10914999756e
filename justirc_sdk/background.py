"""A background task owned by an object rather than by a task group (public helper).

``await Session.connect(...)`` must return a live session whose reader keeps running
after the call returns (a notebook cell ends, the session lives on). anyio has no
backend-neutral way to start such a task, so this module starts it on the running
backend (an asyncio task, or a trio system task) and gives its owner the two things
structured concurrency asks for: a way to stop it and a way to wait for it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio
import sniffio

__all__ = ["DetachedTask"]

_log = logging.getLogger(__name__)


class DetachedTask:
    """Run ``fn()`` in the background until it returns or :meth:`cancel` is called."""

    def __init__(self, fn: Callable[[], Awaitable[None]], name: str) -> None:
        self._fn = fn
        self._name = name
        self._scope = anyio.CancelScope()
        self._done = anyio.Event()
        self._started = False

    def start(self) -> None:
        """Start the task on the current event loop (asyncio or trio)."""
        if self._started:
            raise RuntimeError("task already started")
        self._started = True
        library = sniffio.current_async_library()
        if library == "trio":
            import trio

            trio.lowlevel.spawn_system_task(self._main, name=self._name)
        else:
            import asyncio

            task = asyncio.get_running_loop().create_task(self._main(), name=self._name)
            _keep_alive.add(task)
            task.add_done_callback(_keep_alive.discard)

    async def _main(self) -> None:
        try:
            with self._scope:
                await self._fn()
        except Exception:
            _log.exception("background task %s failed", self._name)
        finally:
            self._done.set()

    def cancel(self) -> None:
        """Ask the task to stop; safe to call more than once."""
        self._scope.cancel()

    @property
    def done(self) -> bool:
        """True once the task has finished."""
        return self._done.is_set()

    async def wait(self) -> None:
        """Wait until the task has finished."""
        if self._started:
            await self._done.wait()


_keep_alive: set[object] = set()
