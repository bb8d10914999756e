"""Two sessions chat privately and in a channel: ``python examples/chat_pair.py --port 6667``."""

from __future__ import annotations

import argparse

import anyio

from justirc_sdk import Session, events


async def main(port: int) -> None:
    """Connect alice and bob, exchange a private and a channel message, print them."""
    async with (
        await Session.connect("127.0.0.1", port, nick="alice") as alice,
        await Session.connect("127.0.0.1", port, nick="bob") as bob,
    ):
        reply = bob.wait_for(events.Message, check=lambda e: e.sender == "alice", timeout=5)
        await alice.send("bob", "hi bob, this is end-to-end encrypted")
        print("bob got:", (await reply).text)

        room = await alice.join("#general")
        joined = alice.wait_for(events.MemberJoined, timeout=5)
        await bob.join("#general")
        await joined
        said = bob.wait_for(events.Message, check=lambda e: e.channel == "#general", timeout=5)
        await room.send("hello, channel")
        print("bob saw in #general:", (await said).text)
        print("safety numbers match:", alice.safety_number("bob") == bob.safety_number("alice"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=6667)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    args = parser.parse_args()
    anyio.run(main, args.port, backend=args.backend)
