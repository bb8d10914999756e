"""No (key, nonce) pair is ever used twice.

Full-stack traffic is recorded at the single AEAD boundary (``_primitives.seal``). The 10^6
count is run at the layer that produces per-message keys (the chain step), because 10^6 full
encryptions would take far longer than the suite's budget; every message key comes from that
step and the nonce is the counter, so distinct keys imply distinct (key, nonce) pairs.
"""

from __future__ import annotations

import os

from justirc_sdk.crypto import CryptoEngine, encrypt_attachment
from justirc_sdk.crypto import _primitives as prim

from .conftest import FakeClock, Net


def test_mixed_traffic_never_repeats_a_key_nonce_pair(
    trio: tuple[CryptoEngine, CryptoEngine, CryptoEngine],
    clock: FakeClock,
    seals: list[tuple[bytes, bytes]],
) -> None:
    a, b, c = trio
    net = Net(a, b, c)
    net.join("#room", "alice", "bob", "carol")
    for round_ in range(100):
        for x, y in ((a, b), (b, a), (a, c), (c, b)):
            for _ in range(round_ % 4 + 1):
                y.decrypt_private(x.nick, x.encrypt_private(y.nick, b"pm"))
        for nick in ("alice", "bob", "carol"):
            payload = net.say(nick, "#room", b"chan")
            for other in net.by_nick.values():
                if other.nick != nick:
                    other.decrypt_channel("#room", nick, payload)
        if round_ % 10 == 9:
            clock.advance(1)
            a.rotate_peer("bob")
            a.rotate_channel("#room")
            net.distribute("alice", "#room")
        encrypt_attachment(os.urandom(3000), chunk_size=1000)
    assert len(seals) > 1000
    assert len(set(seals)) == len(seals)


def test_a_million_chain_steps_never_repeat_a_message_key() -> None:
    ck = os.urandom(32)
    seen: set[int] = set()
    for _ in range(1_000_000):
        mk, ck = prim.chain_step(ck)
        seen.add(int.from_bytes(mk[:16], "big"))
    assert len(seen) == 1_000_000
