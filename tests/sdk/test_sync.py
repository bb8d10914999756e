"""The blocking facade, used from a plain thread with no event loop of its own."""

from __future__ import annotations

import threading

from justirc_sdk import events
from justirc_sdk.sync import Session
from server.embedded import EmbeddedServer


def test_sync_facade_in_a_plain_thread(server: EmbeddedServer) -> None:
    results: dict[str, object] = {}

    def script() -> None:
        try:
            with (
                Session.connect("127.0.0.1", server.port, nick="alice") as alice,
                Session.connect("127.0.0.1", server.port, nick="bob") as bob,
            ):
                room = alice.join("#sync")
                joined = alice.expect(events.MemberJoined, timeout=10)
                bob.join("#sync")
                assert joined.result().nick == "bob"
                pm = bob.expect(events.Message, timeout=10)
                alice.send("bob", "hello from a thread")
                results["pm"] = pm.result().text
                said = bob.expect(events.Message, timeout=10)
                room.send("channel hello")
                results["channel"] = said.result().text
                results["members"] = room.members
                results["safety"] = alice.safety_number("bob") == bob.safety_number("alice")
                got_file = bob.expect(events.FileMessage, timeout=10)
                room.send_file(b"a,b\n1,2\n", filename="t.csv")
                results["file"] = (got_file.result().filename, got_file.result().data)
                for event in alice.events(timeout=0.2):
                    results.setdefault("events", []).append(event)  # type: ignore[attr-defined]
        except BaseException as exc:  # report to the test thread
            results["error"] = exc

    thread = threading.Thread(target=script)
    thread.start()
    thread.join(60)
    assert not thread.is_alive()
    assert "error" not in results, results.get("error")
    assert results["pm"] == "hello from a thread"
    assert results["channel"] == "channel hello"
    assert results["members"] == {"alice": "owner", "bob": "member"}
    assert results["safety"] is True
    assert results["file"] == ("t.csv", b"a,b\n1,2\n")
