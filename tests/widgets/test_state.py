"""The pure chat state: every panel feature, fed SDK events, no widgets."""

from __future__ import annotations

import base64
from html.parser import HTMLParser

import pytest

from justirc_sdk import events as ev
from widgets.render import MAX_LINK_BYTES
from widgets.state import BLOCK_SIZE, PAGE_SIZE, ChatState

EVIL = '<img src=x onerror="alert(1)">'
ESCAPED = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"


def joined(state: ChatState, channel: str = "#lab", **members: str) -> None:
    state.apply(ev.ChannelJoined(channel, {"alice": "owner", **members}, "the topic"))


def msg(
    text: str, sender: str = "bob", channel: str | None = "#lab", ts: float = 1.0
) -> ev.Message:
    return ev.Message(sender, text, channel, ts)


@pytest.fixture
def state() -> ChatState:
    s = ChatState("alice", "1111 2222")
    joined(s, bob="member")
    s.take_dirty()
    return s


def all_html(state: ChatState, name: str | None = None) -> str:
    return "".join(b.html for b in state.blocks(name))


def test_channel_message_shows_sender_and_text(state: ChatState) -> None:
    state.apply(msg("hello there"))
    html = all_html(state)
    assert "bob" in html
    assert "hello there" in html
    assert "messages" in state.take_dirty()


def test_own_messages_are_styled_apart(state: ChatState) -> None:
    state.add_message("#lab", "alice", "mine", 2.0, own=True)
    state.apply(msg("theirs"))
    html = all_html(state)
    assert '<div class="justirc-msg justirc-own"><span class="justirc-sender">alice' in html
    assert '<div class="justirc-msg"><span class="justirc-sender">bob' in html
    assert html.count("justirc-own") == 1


def test_unread_counts_only_for_other_conversations(state: ChatState) -> None:
    state.apply(msg("in current"))
    state.apply(msg("psst", channel=None))  # private from bob
    state.apply(msg("psst again", channel=None))
    labels = dict((key, label) for label, key in state.switcher_options())
    assert labels == {"#lab": "#lab", "bob": "bob (2)"}
    state.switch("bob")
    assert state.conversations["bob"].unread == 0
    state.apply(msg("back in lab"))
    assert dict(state.switcher_options())["#lab (1)"] == "#lab"


def test_notices_and_own_messages_do_not_count_as_unread(state: ChatState) -> None:
    state.open_private("carol")
    state.apply(ev.MemberJoined("#lab", "dave"))
    state.add_message("#lab", "alice", "mine", 1.0, own=True)
    assert state.conversations["#lab"].unread == 0


def test_switching_shows_the_other_conversation(state: ChatState) -> None:
    state.apply(msg("channel text"))
    state.apply(msg("private text", channel=None))
    assert "channel text" in all_html(state)
    state.switch("BOB")  # case-insensitive
    assert state.current == "bob"
    html = all_html(state)
    assert "private text" in html
    assert "channel text" not in html
    assert state.members_html() == ""  # no member list in a private conversation
    with pytest.raises(KeyError):
        state.switch("nobody")


def test_paging_window_and_load_older(state: ChatState) -> None:
    for i in range(1200):
        state.apply(msg(f"m{i}"))
    visible = state.visible()
    assert visible[-1].text == "m1199"
    assert len(visible) <= PAGE_SIZE + BLOCK_SIZE
    assert state.has_older()
    first_before = visible[0].text
    assert state.load_older() > 0
    assert state.visible()[0].text != first_before
    while state.has_older():
        state.load_older()
    assert state.visible()[0].text == "You joined #lab."
    assert len(state.visible()) == 1201


def test_blocks_group_messages_and_stay_stable_while_appending(state: ChatState) -> None:
    for i in range(120):
        state.apply(msg(f"m{i}"))
    blocks = state.blocks()
    assert len(blocks) == 3  # 121 entries (join notice + 120) in blocks of 50
    assert [b.html.count("justirc-msg") + b.html.count("justirc-notice") for b in blocks] == [
        50,
        50,
        21,
    ]
    state.apply(msg("one more"))
    after = state.blocks()
    assert [b.key for b in after] == [b.key for b in blocks]
    assert after[0].html is blocks[0].html  # unchanged blocks are not re-rendered
    assert "one more" in after[-1].html


def test_image_entries_are_their_own_blocks(state: ChatState) -> None:
    state.apply(msg("before"))
    state.apply(
        ev.ImageMessage(
            "bob", "#lab", b"PNGDATA", "<b>plot</b>.png", "image/png", 64, 32, EVIL, 3.0
        )
    )
    state.apply(msg("after"))
    blocks = state.blocks()
    images = [b for b in blocks if b.image is not None]
    assert len(images) == 1
    image = images[0]
    assert image.image is not None and image.image.image == b"PNGDATA"
    assert "64&#215;32" in image.html
    assert "&lt;b&gt;plot&lt;/b&gt;.png" in image.html
    assert ESCAPED in image.html and EVIL not in image.html
    assert "before" in blocks[0].html and "after" in blocks[-1].html


@pytest.mark.parametrize("field", ["sender", "text", "topic", "member", "channel"])
def test_every_user_string_is_escaped(field: str) -> None:
    nasty = EVIL
    s = ChatState("alice", "<fp>")
    channel = "#lab"
    if field == "channel":
        channel = "#<script>"
    s.apply(ev.ChannelJoined(channel, {"alice": "owner"}, None))
    if field == "sender":
        s.apply(ev.Message(nasty, "hi", channel, 1.0))
    elif field == "text":
        s.apply(ev.Message("bob", nasty, channel, 1.0))
    elif field == "topic":
        s.apply(ev.TopicChanged(channel, nasty, "bob"))
    elif field == "member":
        s.apply(ev.MemberJoined(channel, nasty, nasty))
    page = all_html(s) + s.topic_html() + s.members_html() + s.security_html()
    assert "<img" not in page
    assert "<script" not in page
    assert "<fp>" not in page and "&lt;fp&gt;" in page


def test_private_peer_and_banner_strings_are_escaped() -> None:
    s = ChatState("<me>", "fp")
    s.apply(ev.Message(EVIL, "x", None, 1.0))
    s.switch(EVIL)
    s.set_trust(EVIL, "unverified", "<b>123</b>")
    s.apply(ev.KeyChanged(EVIL, "<old>", "<new>"))
    page = s.security_html() + s.banner_html() + all_html(s)
    assert "<img" not in page and "<b>123" not in page and "<new>" not in page
    assert "&lt;me&gt;" in page


def test_action_messages_render_as_star_sender(state: ChatState) -> None:
    state.apply(ev.Message("bob", "waves", "#lab", 1.0, action=True))
    assert "* <span" in all_html(state)


def test_members_roles_and_topic_follow_events(state: ChatState) -> None:
    state.apply(ev.MemberJoined("#lab", "carol", "member"))
    state.apply(ev.RoleChanged("#lab", "carol", "op", "alice"))
    state.apply(ev.TopicChanged("#lab", "new topic", "carol"))
    assert state.take_dirty() >= {"members", "topic", "messages"}
    members = state.members_html()
    assert "Members (3)" in members
    assert "carol" in members and "op" in members
    assert members.index("alice") < members.index("carol") < members.index("bob")  # by role
    assert "new topic" in state.topic_html()
    state.apply(ev.MemberLeft("#lab", "carol"))
    state.apply(ev.Kicked("#lab", "bob", "alice", "spam", banned=True))
    assert "Members (1)" in state.members_html()
    assert "bob was banned by alice. (spam)" in all_html(state)


def test_leaving_a_channel_blocks_sending_there(state: ChatState) -> None:
    assert state.can_send() == (True, "")
    state.apply(ev.ChannelLeft("#lab", "bye"))
    allowed, why = state.can_send()
    assert not allowed and "not in #lab" in why
    state.apply(ev.ChannelJoined("#lab", {"alice": "member"}, None))
    assert state.can_send()[0]


def test_key_change_blocks_sending_until_acknowledged(state: ChatState) -> None:
    state.apply(msg("hi", channel=None))
    state.switch("bob")
    state.set_trust("bob", "verified", "12345 67890")
    assert state.can_send() == (True, "")
    state.apply(ev.KeyChanged("bob", "old fp", "new fp"))
    allowed, why = state.can_send()
    assert not allowed and "key changed" in why
    banner = state.banner_html()
    assert "bob" in banner and "new fp" in banner
    assert "key changed" in state.security_html()
    assert "bob&#x27;s identity key changed." in all_html(state)
    state.switch("#lab")
    assert state.can_send()[0]  # the channel itself stays usable
    assert state.banner_html()  # but the banner stays until acknowledged
    state.acknowledge("BOB")
    assert state.banner_html() == ""
    state.switch("bob")
    assert state.can_send() == (True, "")
    assert "not verified" in state.security_html()


def test_security_header_shows_fingerprint_and_safety_number(state: ChatState) -> None:
    assert "end-to-end encrypted" in state.security_html()
    assert "1111 2222" in state.security_html()
    state.open_private("bob")
    assert "known after the first message" in state.security_html()
    state.set_trust("bob", "verified", "00001 00002")
    html = state.security_html()
    assert "00001 00002" in html and "verified" in html


def test_upload_progress(state: ChatState) -> None:
    def percent() -> int | None:
        return None if state.upload is None else state.upload.percent

    state.start_upload("#lab", "plot.png")
    assert percent() == 0
    state.upload_progress(1, 4)
    assert percent() == 25
    assert "upload" in state.take_dirty()
    state.upload_progress(4, 4)
    assert percent() == 100
    state.finish_upload()
    assert state.upload is None
    state.start_upload("#lab", "<x>.png")
    state.finish_upload("too large")
    assert state.status == "Could not send <x>.png: too large"


def test_nick_change_renames_private_conversation_and_members(state: ChatState) -> None:
    state.apply(msg("hi", channel=None))
    state.switch("bob")
    state.apply(ev.NickChanged("bob", "robert"))
    assert state.current == "robert"
    assert "robert" in state.conversations["#lab"].members
    state.apply(ev.NickChanged("alice", "alicia"))
    assert state.own_nick == "alicia"


def test_batching_applies_a_burst_and_reports_each_area_once(state: ChatState) -> None:
    burst = [msg(f"m{i}") for i in range(2000)]
    state.apply_many(burst)
    dirty = state.take_dirty()
    assert "messages" in dirty
    assert state.take_dirty() == set()
    assert len(state.conversations["#lab"].entries) == 2001
    assert state.visible()[-1].text == "m1999"
    assert len(state.blocks()) <= (PAGE_SIZE // BLOCK_SIZE) + 1


def test_connection_status_and_errors(state: ChatState) -> None:
    state.apply(ev.Disconnected("network down", will_reconnect=True))
    assert not state.can_send()[0]
    assert "reconnecting" in state.status
    state.apply(ev.Reconnected(2))
    assert state.can_send()[0]
    state.apply(ev.DecryptionFailed("mallory", "#lab", "bad tag"))
    assert "could not be decrypted" in all_html(state)
    state.apply(ev.EventsDropped(5))
    assert "5 events were dropped" in state.status


# -- files ---------------------------------------------------------------------------

HOSTILE_NAME = "<img src=x onerror=alert(1)>.txt"


class Tags(HTMLParser):
    """Every start tag of a page, with its attributes, as a browser would parse them."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def links(self) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.tags if tag == "a"]


def file_event(
    data: bytes = b"col1,col2\n1,2\n",
    filename: str = "results.csv",
    mime_type: str = "text/csv",
    caption: str | None = "today's numbers",
    channel: str | None = "#lab",
    sender: str = "bob",
) -> ev.FileMessage:
    return ev.FileMessage(
        sender=sender,
        channel=channel,
        data=data,
        filename=filename,
        mime_type=mime_type,
        size=len(data),
        caption=caption,
        timestamp=3.0,
    )


def decoded_link(link: dict[str, str | None]) -> bytes:
    href = link["href"] or ""
    prefix = "data:application/octet-stream;base64,"
    assert href.startswith(prefix), href[:80]
    return base64.b64decode(href[len(prefix) :], validate=True)


def test_a_received_file_shows_name_size_type_caption_and_a_download_link(
    state: ChatState,
) -> None:
    data = bytes(range(256)) * 10  # not text: every byte value must survive the link
    state.apply(msg("before"))
    state.apply(file_event(data, "data.bin", "application/x-thing", "raw dump"))
    state.apply(msg("after"))
    blocks = state.blocks()
    files = [b for b in blocks if b.file is not None]
    assert len(files) == 1 and files[0].image is None
    html = files[0].html
    assert "bob" in html and "data.bin" in html and "raw dump" in html
    assert "2.5 KiB" in html and "application/x-thing" in html
    (link,) = Tags(html).links()
    assert link["download"] == "data.bin"
    assert decoded_link(link) == data
    assert "before" in blocks[0].html and "after" in blocks[-1].html
    assert "data.bin" not in blocks[0].html + blocks[-1].html  # its own block
    (entry,) = state.files()
    assert (entry.kind, entry.size, entry.data, entry.own) == ("file", 2560, data, False)


def test_hostile_file_name_type_and_caption_are_rendered_inert(state: ChatState) -> None:
    state.apply(
        file_event(
            b"<script>alert(1)</script>",
            filename=HOSTILE_NAME,
            mime_type='text/html"><script>alert(1)</script>',
            caption=EVIL,
        )
    )
    (block,) = [b for b in state.blocks() if b.file is not None]
    tags = Tags(block.html)
    assert {tag for tag, _ in tags.tags} <= {"div", "span", "br", "a"}
    for _tag, attrs in tags.tags:
        assert not any(name.startswith("on") for name in attrs), attrs
        assert set(attrs) <= {"class", "title", "download", "href"}
    (link,) = tags.links()
    assert link["download"] == HOSTILE_NAME  # inert as an attribute value
    assert decoded_link(link) == b"<script>alert(1)</script>"
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in block.html
    assert "text/html&quot;&gt;&lt;script&gt;" in block.html
    assert ESCAPED in block.html
    assert "<img" not in block.html and "<script" not in block.html


def test_a_file_over_the_link_cap_is_listed_without_a_link(state: ChatState) -> None:
    big = b"x" * (MAX_LINK_BYTES + 1)
    state.apply(file_event(big, "huge.iso", "application/octet-stream", None))
    state.apply(file_event(b"y" * MAX_LINK_BYTES, "just-fits.bin", "application/octet-stream"))
    huge, fits = [b for b in state.blocks() if b.file is not None]
    assert "huge.iso" in huge.html and "5.0 MiB" in huge.html
    assert Tags(huge.html).links() == []
    assert "data:" not in huge.html
    assert "Too large for a download link" in huge.html and "Save" in huge.html
    assert huge.file is not None and huge.file.data == big  # still there to save
    (link,) = Tags(fits.html).links()
    assert decoded_link(link) == b"y" * MAX_LINK_BYTES


def test_files_count_as_unread_messages_but_own_files_do_not(state: ChatState) -> None:
    state.apply(file_event(channel=None))  # private, from bob
    assert dict((key, label) for label, key in state.switcher_options())["bob"] == "bob (1)"
    state.add_file("#lab", "alice", b"mine", 4.0, filename="notes.md", own=True)
    assert state.conversations["#lab"].unread == 0
    state.switch("bob")
    state.apply(file_event(channel="#lab"))
    assert state.conversations["#lab"].unread == 1
    assert state.conversations["bob"].unread == 0


def test_own_files_are_styled_apart_and_get_a_guessed_type(state: ChatState) -> None:
    entry = state.add_file("#lab", "alice", b"%PDF-1.7", 4.0, filename="paper.pdf", own=True)
    assert entry.mime_type == "application/pdf"
    (block,) = [b for b in state.blocks() if b.file is not None]
    assert "justirc-own" in block.html and "application/pdf" in block.html
    unknown = state.add_file("#lab", "alice", b"?", 5.0, filename="blob", own=True)
    assert unknown.mime_type == "application/octet-stream"
    assert state.find_entry(entry.id) is entry


def test_file_blocks_are_rendered_once_while_messages_arrive(state: ChatState) -> None:
    state.apply(file_event())
    first = next(b for b in state.blocks() if b.file is not None)
    for i in range(3):
        state.apply(msg(f"m{i}"))
    again = next(b for b in state.blocks() if b.file is not None)
    assert again.key == first.key
    assert again.html is first.html  # the base64 link is not rebuilt on every refresh
