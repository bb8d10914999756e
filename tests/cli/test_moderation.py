"""Moderation commands as an owner: roles, topic, modes, kick, ban, unban, invite."""

from __future__ import annotations

import pytest

from justirc_sdk import events
from justirc_sdk.errors import Banned, InviteOnly

from .conftest import Connect, OpenTerm

pytestmark = pytest.mark.anyio


async def test_roles_topic_and_modes(open_term: OpenTerm, connect: Connect) -> None:
    async with open_term("alice") as alice:
        await alice.type("/join #room")
        bob = await connect("bob")
        await bob.join("#room")
        await alice.screen.wait_for("bob joined")

        mark = alice.screen.mark()
        role = bob.wait_for(events.RoleChanged, timeout=10)
        await alice.type("/op bob")
        assert (await role).role == "op"
        await alice.screen.wait_for("bob is now an op of #room (by alice)", mark)
        await alice.type("/deop bob")
        await alice.screen.wait_for("bob is now a member of #room", mark)
        await alice.type("/mod #room bob")
        await alice.screen.wait_for("bob is now a mod of #room", mark)
        await alice.type("/unmod bob")
        await alice.screen.wait_for("bob is now a member of #room", mark)

        topic = bob.wait_for(events.TopicChanged, timeout=10)
        await alice.type("/topic #room all about cats")
        assert (await topic).topic == "all about cats"

        modes = bob.wait_for(events.ModeChanged, timeout=10)
        await alice.type("/mode +im +l 5")
        changed = await modes
        assert changed.modes["invite_only"] is True
        assert changed.modes["moderated"] is True
        assert changed.modes["limit"] == 5
        await alice.screen.wait_for("alice set modes of #room: +i +m", mark)
        assert "modes of #room: +imt limit 5" in await alice.type("/mode")
        await alice.type("/mode -i -m -l +k s3cret")
        await alice.screen.wait_for("-i -m", mark)
        assert "modes of #room: +tk" in await alice.type("/mode")
        shown = await alice.type("/mode +x")
        assert "unknown mode 'x'" in shown and "usage: /mode" in shown
        assert "+l needs a positive member limit" in await alice.type("/mode +l")


async def test_kick_ban_unban_kickban_and_invite(open_term: OpenTerm, connect: Connect) -> None:
    async with open_term("alice") as alice:
        await alice.type("/join #room")
        bob = await connect("bob")
        await bob.join("#room")
        await alice.screen.wait_for("bob joined")
        mark = alice.screen.mark()

        left = bob.wait_for(events.ChannelLeft, timeout=10)
        await alice.type("/kick bob be nice")
        assert (await left).channel == "#room"
        await alice.screen.wait_for("bob was kicked from #room by alice: be nice", mark)

        await bob.join("#room")
        await alice.screen.wait_for("bob joined", mark)
        left = bob.wait_for(events.ChannelLeft, timeout=10)
        shown = await alice.type("/ban bob 10m spamming links")
        await left
        assert "bob is banned from #room until" in shown
        await alice.screen.wait_for("bob was banned from #room by alice: spamming links", mark)
        with pytest.raises(Banned):
            await bob.join("#room")
        bans = await alice.type("/bans")
        assert "#room: bob banned by alice until" in bans and "spamming links" in bans

        assert "bob is no longer banned" in await alice.type("/unban bob")
        await bob.join("#room")
        await alice.screen.wait_for("bob joined", mark)

        left = bob.wait_for(events.ChannelLeft, timeout=10)
        await alice.type("/kickban bob bye")
        await left
        assert "#room: bob banned by alice: bye" in await alice.type("/bans")
        await alice.type("/unban bob")

        await alice.type("/mode +i")
        with pytest.raises(InviteOnly):
            await bob.join("#room")
        invited = bob.wait_for(events.Invited, timeout=10)
        assert "invited bob to #room" in await alice.type("/invite bob")
        assert (await invited).by == "alice"
        await bob.join("#room")
        await alice.screen.wait_for("bob joined", mark)

        role = bob.wait_for(events.RoleChanged, check=lambda e: e.nick == "bob", timeout=10)
        await alice.type("/transfer bob")
        assert (await role).role == "owner"
        await alice.screen.wait_for("you are now an op of #room", mark)
