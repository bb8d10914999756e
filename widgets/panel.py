"""The chat panel: a thin ipywidgets view over :class:`~widgets.state.ChatState`.

The panel consumes ``session.events()`` in a task on the kernel's own asyncio loop
(the loop the cells run on), applies queued events in batches at most every
``flush_interval`` seconds (or once per burst) and then refreshes only the parts of
the view that changed. Button handlers schedule coroutines on the same loop, so the
session is only ever used from the loop it runs on. Sending images and files and
saving them is in :mod:`widgets.files`; the message list's widgets in
:mod:`widgets.message_list`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import warnings
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as w

from justirc_sdk import EventStream, Session
from justirc_sdk import events as ev
from justirc_sdk.errors import JustIRCError

from . import render
from .blocks import Block as Block  # importable from here, as before the split
from .files import (
    _on_file_upload,
    _on_image_upload,
    _save_clicked,
    _send_file,
    _send_image,
    _write_new_file,
)
from .message_list import _block_widgets, _close_block
from .records import Entry
from .state import ChatState

__all__ = ["ChatPanel", "chat"]

_log = logging.getLogger(__name__)


class ChatPanel:
    """An end-to-end encrypted chat window for a live :class:`~justirc_sdk.Session`.

    Display it as the last expression of a cell (or with ``display(panel)``). It must
    be created, or :meth:`start`-ed, on the loop the session runs on (in Jupyter: in
    a cell). ``owns_session=True`` makes :meth:`aclose` close the session too.

    Files are saved (the *Save* button, :meth:`save_file`) into ``save_directory``:
    the kernel's working directory at the time of saving while it is ``None``.
    """

    save_directory: str | os.PathLike[str] | None = None

    def __init__(
        self,
        session: Session,
        *,
        flush_interval: float = 0.05,
        owns_session: bool = False,
        height: str = "360px",
        events: EventStream | None = None,
    ) -> None:
        self.session = session
        self.flush_interval = flush_interval
        self.owns_session = owns_session
        self.state = ChatState(session.nick, session.fingerprint)
        for channel in session.channels.values():
            self.state.load_channel(channel.name, channel.members, channel.topic)
        # buffers from now (or from when the caller opened *events*): nothing is missed
        self._stream = events if events is not None else session.events()
        self._pending: list[ev.Event] = []
        self._flush_handle: asyncio.Handle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiters: list[asyncio.Future[None]] = []
        self._block_widgets: dict[str, Any] = {}
        self._updating_switcher = False
        self._closed = False
        self._build(height)
        self._refresh(self.state.take_dirty())
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop()
            self.start()

    # -- widgets -----------------------------------------------------------------------

    def _build(self, height: str) -> None:
        self.css = w.HTML(render.CSS)
        self.security = w.HTML()
        self.security.add_class("justirc-security-header")
        self.banner = w.HTML()
        self.banner.add_class("justirc-key-banner")
        self.acknowledge_button = w.Button(
            description="Acknowledge key change", button_style="danger", icon="check"
        )
        self.acknowledge_button.on_click(lambda _b: self._acknowledge())
        self.banner_box = w.VBox([self.banner, self.acknowledge_button])
        self.verify_text = w.Text(placeholder="safety number your contact reads to you")
        self.verify_button = w.Button(description="Verify", icon="shield")
        self.verify_button.on_click(lambda _b: self._verify())
        self.verify_box = w.HBox([self.verify_text, self.verify_button])

        self.switcher = w.Dropdown(description="Chat", options=[])
        self.switcher.observe(self._on_switch, "value")
        self.join_text = w.Text(placeholder="#channel to join, or a nick")
        self.join_button = w.Button(description="Join / open")
        self.join_button.on_click(lambda _b: self._schedule(self.join(self.join_text.value)))
        self.leave_button = w.Button(description="Leave")
        self.leave_button.on_click(lambda _b: self._schedule(self.leave()))
        controls = w.HBox([self.switcher, self.join_text, self.join_button, self.leave_button])

        self.topic = w.HTML()
        self.members = w.HTML(layout=w.Layout(width="180px", overflow="auto", max_height=height))
        self.members.add_class("justirc-member-list")
        self.older_button = w.Button(description="Load older", icon="arrow-up")
        self.older_button.on_click(lambda _b: self._load_older())
        self.message_list = w.VBox([])
        self.message_list.add_class("justirc-message-list")
        # column-reverse keeps the scroll position at the newest message
        self.scroller = w.Box(
            [self.message_list],
            layout=w.Layout(
                flex_flow="column-reverse", overflow="auto", height=height, width="100%"
            ),
        )
        self.scroller.add_class("justirc-messages")
        messages = w.VBox([self.older_button, self.scroller], layout=w.Layout(flex="1 1 auto"))
        body = w.HBox([messages, self.members])

        self.status = w.HTML()
        self.status.add_class("justirc-status")
        self.input = w.Text(placeholder="Message (Enter to send)", layout=w.Layout(flex="1 1 auto"))
        self.input.add_class("justirc-input")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self.input.on_submit(lambda _t: self._schedule(self.send()))
        self.send_button = w.Button(description="Send", button_style="primary", icon="paper-plane")
        self.send_button.add_class("justirc-send")
        self.send_button.on_click(lambda _b: self._schedule(self.send()))
        self.upload = w.FileUpload(accept="image/*", multiple=False, description="Image")
        self.upload.observe(lambda change: _on_image_upload(self, change), "value")
        self.file_upload = w.FileUpload(accept="", multiple=False, description="File")
        self.file_upload.add_class("justirc-file-upload")
        self.file_upload.observe(lambda change: _on_file_upload(self, change), "value")
        self.progress = w.IntProgress(value=0, min=0, max=100, description="")
        self.progress.layout.visibility = "hidden"
        composer = w.HBox(
            [self.input, self.send_button, self.upload, self.file_upload, self.progress]
        )

        self.widget = w.VBox(
            [
                self.css,
                self.security,
                self.banner_box,
                self.verify_box,
                controls,
                self.topic,
                body,
                self.status,
                composer,
            ]
        )
        self.widget.add_class("justirc-panel")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start consuming events on the running loop (done by the constructor in a cell)."""
        if self._consumer is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._consumer = self._loop.create_task(self._consume(), name="justirc-panel-events")

    async def aclose(self) -> None:
        """Stop the panel (and the session when it owns it) and close its widgets."""
        if self._closed:
            return
        self._closed = True
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        tasks = [t for t in (self._consumer, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._stream.aclose()
        if self.owns_session:
            await self.session.close()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.cancel()
        for widget in self._block_widgets.values():
            _close_block(widget)
        self.widget.close()

    async def _consume(self) -> None:
        loop = asyncio.get_running_loop()
        async for event in self._stream:
            self._pending.append(event)
            if self._flush_handle is None:
                self._flush_handle = loop.call_later(self.flush_interval, self.flush)

    def flush(self) -> None:
        """Apply queued events now and refresh what changed."""
        self._flush_handle = None
        events, self._pending = self._pending, []
        self.state.apply_many(events)
        peer = self.state.current_peer()
        if peer is not None and any(
            isinstance(x, ev.Message | ev.ImageMessage | ev.FileMessage) for x in events
        ):
            self._refresh_trust(peer)
        self._refresh(self.state.take_dirty())

    async def wait_until(self, check: Callable[[ChatState], bool], timeout: float = 10.0) -> None:
        """Wait until *check(state)* is true after a batch (for notebooks and tests)."""

        async def wait() -> None:
            while not check(self.state):
                future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._waiters.append(future)
                await future

        await asyncio.wait_for(wait(), timeout)

    def _schedule(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run an action on the panel's loop; errors become a status line."""
        loop = self._loop or asyncio.get_event_loop()

        async def guarded() -> None:
            try:
                await coro
            except JustIRCError as exc:
                self._set_status(str(exc))
            except Exception as exc:
                _log.exception("chat panel action failed")
                self._set_status(f"{type(exc).__name__}: {exc}")

        task = loop.create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _set_status(self, text: str) -> None:
        self.state.status = text
        self._refresh({"status"})

    # -- actions -------------------------------------------------------------------------

    async def send(self, text: str | None = None) -> None:
        """Send *text* (default: the input box) to the current conversation."""
        raw = self.input.value if text is None else text
        message = raw.strip()
        if not message:
            return
        allowed, why = self.state.can_send()
        conv = self.state.current_conversation
        if not allowed or conv is None:
            self._set_status(why)
            return
        action = message.startswith("/me ")
        if action:
            message = message[4:]
        if text is None:
            self.input.value = ""
        self.state.add_message(
            conv.key, self.state.own_nick, message, time.time(), own=True, action=action
        )
        self._refresh(self.state.take_dirty())
        try:
            if conv.kind == "channel":
                await self.session.channel(conv.name).send(message, action=action)
            else:
                await self.session.send(conv.name, message, action=action)
        except JustIRCError as exc:
            self.state.add_notice(conv.key, f"Not sent: {exc}")
            self._refresh(self.state.take_dirty())
            return
        if conv.kind == "private":
            self._refresh_trust(conv.name)
            self._refresh(self.state.take_dirty())

    async def send_image(
        self, data: bytes, filename: str = "image.png", caption: str | None = None
    ) -> None:
        """Encrypt and send an image to the current conversation, showing progress."""
        await _send_image(self, data, filename, caption)

    async def send_file(
        self,
        file: bytes | bytearray | str | os.PathLike[str],
        filename: str | None = None,
        caption: str | None = None,
        *,
        mime_type: str | None = None,
    ) -> None:
        """Encrypt and send any file (bytes or a path) to the current conversation.

        Shows the upload progress, then the file in the conversation with a download
        link. *filename* defaults to the path's name (``file`` for bytes); *mime_type*
        to a guess from the name. Errors (such as a file over the session's
        ``max_file_bytes``) go to the status line.
        """
        await _send_file(self, file, filename, caption, mime_type)

    def save_file(
        self, entry: Entry | int, directory: str | os.PathLike[str] | None = None
    ) -> Path:
        """Write a file entry's bytes to *directory* and return the path written.

        *entry* is an :class:`~widgets.state.Entry` of kind ``"file"`` (for example from
        ``panel.state.files()``) or its id. *directory* defaults to
        :attr:`save_directory`, else the kernel's working directory. The sender's file
        name is reduced to a plain name (no directories, no leading dots) and nothing
        is overwritten: ``report (1).pdf`` is used if ``report.pdf`` exists.
        """
        found = self.state.find_entry(entry) if isinstance(entry, int) else entry
        if found is None or found.kind != "file" or found.data is None:
            raise ValueError(f"no file entry {entry!r}")
        where = directory if directory is not None else self.save_directory
        return _write_new_file(Path.cwd() if where is None else Path(where), found)

    async def join(self, name: str) -> None:
        """Join a channel (``#name``) or open a private conversation with a nick."""
        name = name.strip()
        if not name:
            return
        if name.startswith("#"):
            channel = await self.session.join(name)
            self.state.load_channel(channel.name, channel.members, channel.topic)
            self.state.switch(channel.name)
        else:
            self.state.open_private(name)
            self._refresh_trust(name)
        self.join_text.value = ""
        self._refresh(self.state.take_dirty())

    async def leave(self) -> None:
        """Leave the current channel (its history stays readable)."""
        conv = self.state.current_conversation
        if conv is None or conv.kind != "channel" or not conv.joined:
            self._set_status("Select a channel you are in to leave it.")
            return
        await self.session.channel(conv.name).leave()

    def switch(self, name: str) -> None:
        """Show another conversation."""
        self.state.switch(name)
        peer = self.state.current_peer()
        if peer is not None:
            self._refresh_trust(peer)
        self._refresh(self.state.take_dirty())

    def _on_switch(self, change: dict[str, Any]) -> None:
        if not self._updating_switcher and change["new"]:
            self.switch(change["new"])

    def _load_older(self) -> None:
        self.state.load_older()
        self._refresh(self.state.take_dirty())

    def _verify(self) -> None:
        peer = self.state.current_peer()
        if peer is None:
            self._set_status("Open a private conversation to verify a contact.")
            return
        try:
            self.session.verify(peer, self.verify_text.value.strip())
        except JustIRCError as exc:
            self._set_status(f"Not verified: {exc}")
            return
        self.verify_text.value = ""
        self._refresh_trust(peer)
        self.state.status = f"{peer} is verified."
        self._refresh(self.state.take_dirty() | {"status"})

    def _acknowledge(self) -> None:
        alert = self.state.banner_alert()
        if alert is None:
            return
        try:
            self.session.accept_key_change(alert.nick)
        except JustIRCError as exc:
            self._set_status(str(exc))
            return
        self.state.acknowledge(alert.nick)
        self._refresh_trust(alert.nick)
        self._refresh(self.state.take_dirty())

    def _refresh_trust(self, nick: str) -> None:
        try:
            trust = self.session.trust_state(nick)
            number = self.session.safety_number(nick) if trust not in (None, "changed") else None
        except JustIRCError:
            trust, number = None, None
        if self.state.trust.get(nick.lower()) == "changed" and nick.lower() in self.state.alerts:
            trust = "changed"
        self.state.set_trust(nick, trust, number)

    # -- view refresh --------------------------------------------------------------------

    def _refresh(self, dirty: set[str]) -> None:
        state = self.state
        if "conversations" in dirty:
            self._updating_switcher = True
            try:
                self.switcher.options = state.switcher_options()
                self.switcher.value = state.current
            finally:
                self._updating_switcher = False
        if "messages" in dirty:
            self._refresh_messages()
        if dirty & {"members", "topic", "conversations", "messages"}:
            self.members.value = state.members_html()
            self.topic.value = state.topic_html()
            conv = state.current_conversation
            is_channel = conv is not None and conv.kind == "channel"
            self.members.layout.display = "" if is_channel else "none"
            self.leave_button.disabled = not (is_channel and conv is not None and conv.joined)
        if dirty & {"security", "conversations", "members"}:
            self.security.value = state.security_html()
            banner = state.banner_html()
            self.banner.value = banner
            self.banner_box.layout.display = "" if banner else "none"
            self.verify_box.layout.display = "" if state.current_peer() else "none"
            allowed, why = state.can_send()
            self.send_button.disabled = not allowed
            self.input.disabled = not allowed
            self.upload.disabled = not allowed
            self.file_upload.disabled = not allowed
            self.send_button.tooltip = why
        if "upload" in dirty:
            upload = state.upload
            self.progress.layout.visibility = "visible" if upload else "hidden"
            if upload is not None:
                self.progress.value = upload.percent
                self.progress.description = "encrypting" if not upload.total else "sending"
        if "status" in dirty:
            self.status.value = (
                f'<div class="justirc-notice">{render.e(state.status)}</div>'
                if state.status
                else ""
            )
        self._wake_waiters()

    def _refresh_messages(self) -> None:
        self._block_widgets, children = _block_widgets(
            self._block_widgets, self.state.blocks(), lambda entry: _save_clicked(self, entry)
        )
        if tuple(children) != tuple(self.message_list.children):
            self.message_list.children = children
        self.older_button.layout.display = "" if self.state.has_older() else "none"

    def _wake_waiters(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


async def chat(
    host: str,
    port: int,
    nick: str,
    channels: Sequence[str] = (),
    **options: Any,
) -> ChatPanel:
    """Connect as *nick*, join *channels* and return a :class:`ChatPanel` owning the session.

    Call it in a cell with top-level ``await``; *options* go to ``Session.connect``
    (``password``, ``tls_fingerprint``, ``keystore``, ``passphrase``, ...).
    """
    session = await Session.connect(host, port, nick=nick, **options)
    stream = session.events()  # opened before the joins, so the panel misses nothing
    try:
        for name in channels:
            await session.join(name)
    except BaseException:
        await stream.aclose()
        await session.close()
        raise
    return ChatPanel(session, owns_session=True, events=stream)
