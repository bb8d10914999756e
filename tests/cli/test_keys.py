"""Trust in the client: fingerprints, safety numbers, verification, a LOUD key change, rekey."""

from __future__ import annotations

import pytest

from justirc_sdk import events

from .conftest import Connect, OpenTerm

pytestmark = pytest.mark.anyio


async def test_fingerprint_safety_verify(open_term: OpenTerm, connect: Connect) -> None:
    async with open_term("alice") as alice:
        assert alice.session.fingerprint in await alice.type("/fingerprint")
        assert "no key known for bob yet" in await alice.type("/safety bob")
        bob = await connect("bob")
        mark = alice.screen.mark()
        await bob.send("alice", "hello")
        await alice.screen.wait_for("hello", mark)
        number = bob.safety_number("alice")
        shown = await alice.type("/safety bob")
        assert f"safety number with bob: {number}" in shown
        assert "(unverified)" in await alice.type("/fingerprint bob")
        wrong = "0" * len(number.replace(" ", ""))
        assert "does NOT match" in await alice.type(f"/verify bob {wrong}")
        assert alice.session.trust_state("bob") == "unverified"
        assert "bob is verified" in await alice.type(f"/verify bob {number}")
        assert alice.session.trust_state("bob") == "verified"
        mark = alice.screen.mark()
        await bob.send("alice", "now verified")
        assert "<✓bob> now verified" in await alice.screen.wait_for("now verified", mark)


async def test_key_change_is_loud_and_blocks_until_accepted(
    open_term: OpenTerm, connect: Connect
) -> None:
    async with open_term("alice") as alice:
        bob = await connect("bob")
        mark = alice.screen.mark()
        await bob.send("alice", "first")
        await alice.screen.wait_for("first", mark)
        old_fp = bob.fingerprint
        gone = alice.session.wait_for(events.UserOffline, timeout=10)
        await bob.close()
        await gone
        new_bob = await connect("bob")  # same nick, new identity
        mark = alice.screen.mark()
        await new_bob.send("alice", "it is me, honest")
        await alice.screen.wait_for("KEY CHANGED", mark)
        loud = alice.screen.since(mark)
        assert "the identity key of bob is NOT the one you knew" in loud
        assert f"old: {old_fp}" in loud and f"new: {new_bob.fingerprint}" in loud
        assert "/accept-key bob" in loud
        styled = [
            line for line in alice.screen.styled if "KEY CHANGED" in "".join(t for _, t in line)
        ]
        assert "bg:ansired" in styled[0][0][0]

        assert "!!!" in await alice.type("/msg bob are you?")  # blocked until accepted
        shown = await alice.type("/accept-key bob")
        assert "accepted the new key of bob" in shown
        got = new_bob.wait_for(events.Message, timeout=10)
        await alice.type("welcome back")
        assert (await got).text == "welcome back"


async def test_rekey_shows_a_notice(open_term: OpenTerm, connect: Connect) -> None:
    async with open_term("alice") as alice:
        await alice.type("/join #room")
        bob = await connect("bob")
        await bob.join("#room")
        await alice.screen.wait_for("bob joined")
        mark = alice.screen.mark()
        await alice.type("/rekey")
        await alice.screen.wait_for("keys rotated with #room", mark)
        await bob.send("alice", "x")
        await alice.screen.wait_for("<bob> x", mark)
        await alice.type("/rekey bob")
        await alice.screen.wait_for("keys rotated with bob", mark)
