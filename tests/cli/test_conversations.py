"""The pure conversation state: backlog, unread and highlight counts, catch-up, routing."""

from __future__ import annotations

import pytest

from justirc_cli.conversations import (
    BACKLOG_LINES,
    REPLAY_LINES,
    Activity,
    Conversations,
    Level,
    activity_line,
    mentions,
    route,
)
from justirc_cli.formatting import Line, info, plain
from justirc_sdk import events


def line(text: str) -> Line:
    return info(text)


def texts(lines: tuple[Line, ...] | list[Line]) -> list[str]:
    return [plain(x) for x in lines]


def labels(convs: Conversations) -> list[str]:
    return [a.label for a in convs.activity()]


def test_the_first_conversation_becomes_current_and_names_ignore_case() -> None:
    convs = Conversations()
    assert (convs.names, convs.current) == ([], None)
    assert convs.add("#Python") is None
    assert convs.add("bob") is None
    assert convs.add("#python") is None  # already open, kept as first spelled
    assert (convs.names, convs.current) == (["#Python", "bob"], "#Python")
    assert convs.find("#PYTHON") == "#Python" and "BOB" in convs and "carol" not in convs
    assert convs.add("BOB", switch=True) is None  # nothing unseen: nothing to replay
    assert convs.current == "bob"


def test_lines_elsewhere_are_unread_and_replayed_once_on_switch() -> None:
    convs = Conversations()
    convs.add("#python")
    convs.add("#rust")
    assert convs.record("#python", line("here"), Level.MESSAGE) is False  # current: seen
    assert convs.record("#rust", line("r1"), Level.MESSAGE) is True
    assert convs.record("#rust", line("r2"), Level.MESSAGE) is True
    assert convs.activity() == [Activity("#rust", 2, 0)]
    assert labels(convs) == ["#rust(2)"]

    catchup = convs.add("#rust", switch=True)
    assert catchup is not None
    assert texts(catchup.lines) == ["r1", "r2"]
    assert (catchup.unread, catchup.highlights, catchup.skipped) == (2, 0, 0)
    assert catchup.header() == "---- #rust: 2 unread ----"
    assert convs.activity() == []
    assert convs.cycle(1) is None  # back to #python: nothing unseen there
    assert convs.cycle(1) is None  # and #rust was caught up already


def test_own_lines_and_unopened_conversations_never_count() -> None:
    convs = Conversations()
    convs.add("#python")
    convs.add("#rust")
    assert convs.record("#rust", line("I said this"), Level.OWN) is False
    assert convs.record("#nowhere", line("lost"), Level.MESSAGE) is False
    assert convs.record(None, line("server notice"), Level.NOTICE) is False
    assert convs.activity() == [] and convs.cycle(1) is None
    assert texts(convs.last(10)) == ["I said this"]
    assert convs.last(10, "#nowhere") == []


def test_notices_are_replayed_but_not_counted() -> None:
    convs = Conversations()
    convs.add("#python")
    convs.add("#go")
    convs.record("#go", line("bob joined #go"), Level.NOTICE)
    assert labels(convs) == ["#go"]
    catchup = convs.cycle(1)
    assert catchup is not None and texts(catchup.lines) == ["bob joined #go"]
    assert catchup.header() == "---- #go: 1 new line ----"


def test_highlights_are_flagged_and_listed_first() -> None:
    convs = Conversations()
    for name in ("#python", "#rust", "#go", "bob"):
        convs.add(name)
    convs.record("#go", line("carol joined"), Level.NOTICE)
    convs.record("#rust", line("one"), Level.MESSAGE)
    convs.record("#rust", line("two"), Level.MESSAGE)
    convs.record("bob", line("psst"), Level.HIGHLIGHT)
    assert labels(convs) == ["bob(1!)", "#rust(2)", "#go"]
    convs.record("#go", line("go go"), Level.MESSAGE)  # rises above notices, after #rust
    assert labels(convs) == ["bob(1!)", "#rust(2)", "#go(1)"]
    convs.record("#rust", line("alice: look"), Level.HIGHLIGHT)
    assert labels(convs) == ["bob(1!)", "#rust(3!)", "#go(1)"]
    catchup = convs.add("#rust", switch=True)
    assert catchup is not None
    assert catchup.header() == "---- #rust: 3 unread, 1 highlight ----"
    assert plain(activity_line(convs.activity())) == "act: bob(1!) #go(1)"
    assert activity_line(convs.activity())[1] == ("bold", "bob(1!)")
    assert activity_line([]) == ()


def test_the_replay_is_capped_and_says_what_was_skipped() -> None:
    convs = Conversations(backlog=10, replay=3)
    convs.add("#python")
    convs.add("#rust")
    for n in range(1, 13):
        convs.record("#rust", line(f"m{n}"), Level.MESSAGE)
    catchup = convs.cycle(1)
    assert catchup is not None
    assert texts(catchup.lines) == ["m10", "m11", "m12"]
    assert (catchup.unseen, catchup.skipped) == (12, 9)
    assert catchup.header(convs.backlog) == (
        "---- #rust: 12 unread; the last 3 lines follow, 9 older skipped (/last 10) ----"
    )
    assert texts(convs.last(100)) == [f"m{n}" for n in range(3, 13)]  # 10 kept
    assert texts(convs.last(2)) == ["m11", "m12"]
    assert convs.last(0) == []


def test_default_bounds() -> None:
    assert (BACKLOG_LINES, REPLAY_LINES) == (500, 50)
    convs = Conversations()
    convs.add("#python")
    convs.add("#rust")
    for n in range(BACKLOG_LINES + 100):
        convs.record("#rust", line(f"m{n}"), Level.MESSAGE)
    catchup = convs.cycle(1)
    assert catchup is not None and len(catchup.lines) == REPLAY_LINES
    assert catchup.skipped == BACKLOG_LINES + 100 - REPLAY_LINES
    assert len(convs.last(10_000)) == BACKLOG_LINES


def test_only_lines_after_you_left_are_replayed() -> None:
    convs = Conversations()
    convs.add("#python")
    convs.record("#python", line("seen before"), Level.MESSAGE)
    convs.add("#rust", switch=True)
    convs.record("#python", line("missed"), Level.MESSAGE)
    convs.record("#python", line("my own reply from elsewhere"), Level.OWN)
    catchup = convs.cycle(1)
    assert catchup is not None
    assert texts(catchup.lines) == ["missed", "my own reply from elsewhere"]
    assert catchup.unread == 1


def test_drop_cycle_and_rename() -> None:
    convs = Conversations()
    for name in ("#a", "#b", "bob"):
        convs.add(name)
    assert convs.cycle(-1) is None and convs.current == "bob"
    convs.record("#b", line("hi"), Level.MESSAGE)
    catchup = convs.drop("bob")  # the current one: the last remaining becomes current
    assert convs.current == "#b" and catchup is not None and texts(catchup.lines) == ["hi"]
    assert convs.drop("#zzz") is None and convs.drop("#a") is None
    assert convs.names == ["#b"]

    convs.add("bob")
    convs.record("bob", line("before"), Level.HIGHLIGHT)
    convs.rename("Bob", "robert")
    assert convs.names == ["#b", "robert"] and labels(convs) == ["robert(1!)"]
    convs.add("robert", switch=True)
    convs.rename("robert", "Bobby")
    assert convs.current == "Bobby" and texts(convs.last(5)) == ["before"]
    convs.add("carol")
    convs.rename("carol", "bobby")  # already talking to that nick: that one stays
    assert convs.names == ["#b", "Bobby"]
    assert Conversations().cycle(1) is None


@pytest.mark.parametrize(
    ("text", "found"),
    [("alice: hi", True), ("hi Alice!", True), ("@alice look", True), ("ALICE", True),
     ("malice", False), ("alice_bot here", False), ("alice-2", False), ("nobody", False)],
)  # fmt: skip
def test_mentions_match_the_nick_as_a_word(text: str, found: bool) -> None:
    assert mentions(text, "alice") is found


def test_mentions_of_nicks_with_symbols() -> None:
    assert mentions("ping alice_!", "alice_") and not mentions("ping alice", "alice_")
    assert not mentions("anything", "")


def test_events_are_routed_to_their_conversation() -> None:
    me = "alice"
    assert route(events.Message("bob", "hi", "#c", 0.0), me) == ("#c", Level.MESSAGE)
    assert route(events.Message("bob", "Alice?", "#c", 0.0), me) == ("#c", Level.HIGHLIGHT)
    assert route(events.Message("bob", "hi", None, 0.0), me) == ("bob", Level.HIGHLIGHT)
    assert route(events.Message("alice", "x", "#c", 0.0), me) == ("#c", Level.OWN)
    image = events.ImageMessage("bob", "#c", b"", "a.png", "image/png", 1, 1, "alice!", 0.0)
    assert route(image, me) == ("#c", Level.HIGHLIGHT)
    assert route(events.DecryptionFailed("bob", None, "bad"), me) == ("bob", Level.MESSAGE)
    assert route(events.MemberJoined("#c", "bob"), me) == ("#c", Level.NOTICE)
    assert route(events.TopicChanged("#c", "t", "alice"), me) == ("#c", Level.OWN)
    assert route(events.Kicked("#c", "bob", "carol"), me) == ("#c", Level.NOTICE)
    assert route(events.KeysRotated("bob", 2, "bob"), me) == ("bob", Level.NOTICE)
    assert route(events.NickChanged("bob", "robert"), me) == ("robert", Level.NOTICE)
    assert route(events.NickChanged("alice", "ALICE"), "ALICE") == (None, Level.OWN)
    assert route(events.ChannelJoined("#c", {}, None), me) == ("#c", Level.OWN)
    assert route(events.Invited("#c", "bob"), me)[0] is None
    assert route(events.Disconnected("reset"), me)[0] is None
    assert route(events.ErrorReceived("x", "y"), me)[0] is None
