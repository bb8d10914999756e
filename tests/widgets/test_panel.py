"""The ipywidgets panel against real sessions on an embedded server."""

from __future__ import annotations

import base64
import datetime
import io
import os
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import ipywidgets as w
import pytest
from PIL import Image

from justirc_sdk import Session
from justirc_sdk import events as ev
from widgets import ChatPanel, ChatState, render

from .conftest import Connect

pytestmark = pytest.mark.anyio

MakePanel = Callable[[Session], ChatPanel]
EVIL = "<img src=x onerror=alert(1)>"


def shown_html(panel: ChatPanel) -> str:
    """All HTML the message list shows (HTML blocks and image headers)."""
    parts = []
    for child in panel.message_list.children:
        if isinstance(child, w.HTML):
            parts.append(child.value)
        else:
            parts.extend(c.value for c in child.children if isinstance(c, w.HTML))
    return "".join(parts)


def download_links(panel: ChatPanel) -> dict[str, bytes]:
    """``{download name: decoded bytes}`` of every download link the message list shows."""

    class Links(HTMLParser):
        found: dict[str, bytes] = {}

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "a":
                values = dict(attrs)
                href = values.get("href") or ""
                prefix = "data:application/octet-stream;base64,"
                assert href.startswith(prefix), href[:80]
                self.found[values.get("download") or ""] = base64.b64decode(href[len(prefix) :])

    parser = Links()
    parser.found = {}
    parser.feed(shown_html(panel))
    return parser.found


def save_buttons(panel: ChatPanel) -> list[w.Button]:
    return [
        b
        for c in panel.message_list.children
        if isinstance(c, w.VBox)
        for b in c.children
        if isinstance(b, w.Button)
    ]


def has_text(text: str, name: str | None = None) -> Callable[[ChatState], bool]:
    return lambda s: any(e.text == text for e in s.visible(name))


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


async def room(connect: Connect) -> tuple[Session, Session]:
    alice, bob = await connect("alice"), await connect("bob")
    await alice.join("#lab")
    joined = alice.wait_for(ev.MemberJoined, check=lambda e: e.nick == "bob", timeout=10)
    await bob.join("#lab")
    await joined
    return alice, bob


async def test_typing_and_send_reaches_the_channel_and_shows_in_the_list(
    connect: Connect, make_panel: MakePanel
) -> None:
    alice, bob = await room(connect)
    panel = make_panel(alice)
    assert panel.switcher.value == "#lab"
    assert "alice" in panel.members.value and "bob" in panel.members.value
    incoming = bob.wait_for(ev.Message, check=lambda e: e.channel == "#lab", timeout=10)
    panel.input.value = "hello from the panel"
    panel.send_button.click()
    assert (await incoming).text == "hello from the panel"
    assert "hello from the panel" in shown_html(panel)
    assert "justirc-own" in shown_html(panel)
    assert panel.input.value == ""

    await bob.channel("#lab").send(EVIL)
    await panel.wait_until(has_text(EVIL))
    html = shown_html(panel)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in html


async def test_upload_sends_an_image_with_progress_and_shows_it(
    connect: Connect, make_panel: MakePanel
) -> None:
    alice, bob = await room(connect)
    panel = make_panel(alice)
    seen: list[int] = []
    panel.progress.observe(lambda change: seen.append(change["new"]), "value")
    incoming = bob.wait_for(ev.ImageMessage, timeout=20)
    data = png(120, 80)
    panel.upload.value = (
        {
            "name": "plot.png",
            "type": "image/png",
            "size": len(data),
            "content": memoryview(data),
            "last_modified": datetime.datetime.now(datetime.timezone.utc),
        },
    )
    received = await incoming
    assert (received.width, received.height, received.filename) == (120, 80, "plot.png")
    await panel.wait_until(lambda s: any(e.kind == "image" for e in s.visible()))
    assert seen and seen[-1] == 100
    assert panel.progress.layout.visibility == "hidden"
    images = [c.children[1] for c in panel.message_list.children if isinstance(c, w.VBox)]
    assert len(images) == 1 and isinstance(images[0], w.Image)
    assert bytes(images[0].value) == data
    assert "plot.png" in shown_html(panel) and "120&#215;80" in shown_html(panel)
    assert panel.upload.value == ()

    await bob.channel("#lab").send_image(png(20, 10), caption=EVIL, filename="x<y>.png")
    await panel.wait_until(lambda s: sum(e.kind == "image" for e in s.visible()) == 2)
    assert "&lt;img src=x" in shown_html(panel) and EVIL not in shown_html(panel)


async def test_private_messages_count_unread_until_switched_to(
    connect: Connect, make_panel: MakePanel
) -> None:
    alice, bob = await room(connect)
    panel = make_panel(alice)
    await bob.send("alice", "psst")
    await bob.send("alice", "are you there?")
    await panel.wait_until(has_text("are you there?", "bob"))
    labels = {key: label for label, key in panel.switcher.options}
    assert labels["bob"] == "bob (2)"
    assert "psst" not in shown_html(panel)  # still showing #lab
    panel.switcher.value = "bob"
    assert "psst" in shown_html(panel)
    assert {key: label for label, key in panel.switcher.options}["bob"] == "bob"
    assert panel.members.layout.display == "none"
    assert "Safety number with <b>bob</b>" in panel.security.value
    assert alice.safety_number("bob") in panel.security.value

    incoming = bob.wait_for(ev.Message, check=lambda e: e.channel is None, timeout=10)
    panel.input.value = "yes!"
    panel.send_button.click()
    assert (await incoming).text == "yes!"


async def test_join_and_leave_from_the_panel(connect: Connect, make_panel: MakePanel) -> None:
    alice = await connect("alice")
    panel = make_panel(alice)
    assert panel.send_button.disabled  # nothing open yet
    panel.join_text.value = "#new"
    panel.join_button.click()
    await panel.wait_until(lambda s: s.current == "#new")
    assert panel.switcher.value == "#new"
    assert "alice" in panel.members.value and "owner" in panel.members.value
    assert not panel.send_button.disabled
    panel.leave_button.click()
    await panel.wait_until(lambda s: not s.conversations["#new"].joined)
    assert panel.send_button.disabled and panel.input.disabled
    assert "You left #new" in shown_html(panel)


async def test_topic_and_member_changes_show(connect: Connect, make_panel: MakePanel) -> None:
    alice, bob = await room(connect)
    panel = make_panel(alice)
    await alice.channel("#lab").set_topic("<b>plots</b> only")
    await panel.wait_until(lambda s: s.conversations["#lab"].topic == "<b>plots</b> only")
    assert "&lt;b&gt;plots&lt;/b&gt; only" in panel.topic.value
    await bob.channel("#lab").leave()
    await panel.wait_until(lambda s: "bob" not in s.conversations["#lab"].members)
    assert "bob" not in panel.members.value
    assert "bob left." in shown_html(panel)


async def test_verify_marks_the_contact_verified(connect: Connect, make_panel: MakePanel) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    panel = make_panel(alice)  # before the message, so its events cannot be missed
    await bob.send("alice", "hi")
    await panel.wait_until(has_text("hi", "bob"))
    panel.switch("bob")
    assert "not verified" in panel.security.value
    panel.verify_text.value = "00000 00000 00000"
    panel.verify_button.click()
    assert "Not verified" in panel.status.value
    panel.verify_text.value = bob.safety_number("alice")
    panel.verify_button.click()
    assert "&#10003; verified" in panel.security.value
    assert alice.trust_state("bob") == "verified"


async def test_key_change_shows_banner_and_blocks_sending_until_acknowledged(
    connect: Connect, make_panel: MakePanel
) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    panel = make_panel(alice)
    await bob.send("alice", "hello")
    await panel.wait_until(has_text("hello", "bob"))
    panel.switch("bob")
    assert panel.banner_box.layout.display == "none"
    await bob.close()
    impostor = await connect("bob")  # same nick, new identity key
    await impostor.send("alice", "it is me, trust me")
    await panel.wait_until(lambda s: "bob" in s.alerts)
    assert panel.banner_box.layout.display == ""
    assert "The identity key of bob changed" in panel.banner.value
    assert panel.send_button.disabled and panel.input.disabled and panel.upload.disabled
    assert panel.file_upload.disabled
    assert "key changed" in panel.security.value
    await panel.send("sneaky send")  # also refused through the API
    assert "Compare safety numbers" in panel.status.value
    assert "sneaky send" not in shown_html(panel)

    panel.acknowledge_button.click()
    assert panel.banner_box.layout.display == "none"
    assert not panel.send_button.disabled
    await panel.wait_until(has_text("it is me, trust me", "bob"))  # the held message
    incoming = impostor.wait_for(ev.Message, timeout=10)
    panel.input.value = "ok, noted"
    panel.send_button.click()
    assert (await incoming).text == "ok, noted"


async def test_a_burst_of_2000_messages_is_applied_in_one_batch(
    connect: Connect, make_panel: MakePanel
) -> None:
    alice, _bob = await room(connect)
    panel = make_panel(alice)
    refreshes: list[int] = []
    original = panel.flush

    def counting_flush() -> None:
        refreshes.append(len(panel._pending))
        original()

    panel.flush = counting_flush  # type: ignore[method-assign]
    for i in range(2000):
        alice._emit(ev.Message("bob", f"burst {i}", "#lab", 1.0))
    await panel.wait_until(has_text("burst 1999"))
    assert refreshes == [2000]
    children: Any = panel.message_list.children
    assert 1 < len(children) <= 12  # blocks of 50, not one widget per message
    assert "burst 1999" in children[-1].value
    assert panel.older_button.layout.display == ""
    panel.older_button.click()
    assert len(panel.message_list.children) > len(children)


async def test_file_picker_sends_any_file_and_shows_a_download_link(
    connect: Connect, make_panel: MakePanel
) -> None:
    alice, bob = await room(connect)
    panel = make_panel(alice)
    seen: list[int] = []
    panel.progress.observe(lambda change: seen.append(change["new"]), "value")
    incoming = bob.wait_for(ev.FileMessage, timeout=20)
    data = os.urandom(150_000)  # several chunks
    panel.file_upload.value = (
        {
            "name": "run-42.parquet",
            "type": "",
            "size": len(data),
            "content": memoryview(data),
            "last_modified": datetime.datetime.now(datetime.timezone.utc),
        },
    )
    received = await incoming
    assert (received.data, received.filename, received.channel) == (data, "run-42.parquet", "#lab")
    await panel.wait_until(lambda s: bool(s.files()))
    assert seen and seen[-1] == 100
    assert panel.progress.layout.visibility == "hidden"
    assert panel.file_upload.value == ()
    assert download_links(panel) == {"run-42.parquet": data}
    assert "146 KiB" in shown_html(panel) and "justirc-own" in shown_html(panel)


async def test_received_private_file_counts_as_unread_and_can_be_downloaded_and_saved(
    connect: Connect, make_panel: MakePanel, tmp_path: Path
) -> None:
    alice, bob = await room(connect)
    panel = make_panel(alice)
    saved = tmp_path / "saved"  # (the server's data directory is in tmp_path too)
    panel.save_directory = saved
    hostile = "<img src=x onerror=alert(1)>.txt"
    await bob.send_file("alice", b"hello\x00world", caption=EVIL, filename=hostile)
    await panel.wait_until(lambda s: bool(s.files("bob")))
    labels = {key: label for label, key in panel.switcher.options}
    assert labels["bob"] == "bob (1)"
    assert download_links(panel) == {}  # still showing #lab
    panel.switcher.value = "bob"
    assert download_links(panel) == {hostile: b"hello\x00world"}
    html = shown_html(panel)
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in html and "<img" not in html
    assert "bob" in html and "11 B" in html and "text/plain" in html

    (save,) = save_buttons(panel)
    save.click()
    save.click()
    assert sorted(os.listdir(saved)) == sorted([hostile, hostile[:-4] + " (1).txt"])
    assert (saved / hostile).read_bytes() == b"hello\x00world"
    assert f"Saved {render.e(hostile)} to" in panel.status.value
    (entry,) = panel.state.files()
    assert panel.save_file(entry.id, tmp_path / "sub").read_bytes() == b"hello\x00world"

    (block,) = [c for c in panel.message_list.children if isinstance(c, w.VBox)]
    panel.switch("#lab")  # the file's widgets (its HTML holds the file) are closed
    assert block.comm is None and all(child.comm is None for child in block.children)


async def test_send_file_from_a_path_in_a_private_conversation(
    connect: Connect, make_panel: MakePanel, tmp_path: Path
) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    panel = make_panel(alice)
    panel.state.open_private("bob")
    path = tmp_path / "notes.md"
    path.write_text("# results\n")
    incoming = bob.wait_for(ev.FileMessage, timeout=20)
    await panel.send_file(path, caption="see section 2")
    received = await incoming
    assert (received.filename, received.mime_type, received.caption, received.channel) == (
        "notes.md",
        "text/markdown",
        "see section 2",
        None,
    )
    assert download_links(panel) == {"notes.md": b"# results\n"}
    assert "see section 2" in shown_html(panel)


async def test_a_file_over_the_session_limit_is_refused_with_a_status(
    connect: Connect, make_panel: MakePanel
) -> None:
    alice = await connect("alice", max_file_bytes=1000)
    await alice.join("#lab")
    panel = make_panel(alice)
    await panel.wait_until(lambda s: s.current == "#lab")
    await panel.send_file(b"x" * 1001, "big.bin")
    assert "Could not send big.bin" in panel.status.value
    assert panel.state.files() == [] and panel.progress.layout.visibility == "hidden"
