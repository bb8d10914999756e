"""The worked example of docs/SECURITY.md, run as a test (two engines, strings only)."""

from __future__ import annotations

from pathlib import Path

from justirc_sdk.crypto import Argon2Params, CryptoEngine, Keystore


def test_worked_example(tmp_path: Path) -> None:
    store = Keystore(tmp_path / "alice.keys", "passphrase", kdf=Argon2Params(1, 64, 1))
    alice = CryptoEngine.create("alice", keystore=store)
    bob = CryptoEngine.create("bob")
    alice.add_bundle("bob", bob.bundle())
    bob.add_bundle("alice", alice.bundle())
    assert alice.safety_number("bob") == bob.safety_number("alice")

    p = alice.encrypt_private("bob", b"hi bob")
    assert bob.decrypt_private("alice", p) == b"hi bob"
    received = alice.receive_private("bob", bob.encrypt_private("alice", b"hi alice"))
    assert (received.kind, received.data) == ("message", b"hi alice")

    dist = alice.channel_prepare_send("#room", ["bob"])
    for peer, payload in dist.payloads:
        assert peer == "bob"
        assert bob.receive_private("alice", payload).control is not None
    c = alice.encrypt_channel("#room", b"hello room")
    assert bob.decrypt_channel("#room", "alice", c) == b"hello room"

    desc, chunks = alice.encrypt_attachment(b"\x89PNG" * 5000, name="a.png", mime="image/png")
    note = bob.decrypt_private("alice", alice.encrypt_private("bob", desc.to_bytes()))
    dec = bob.attachment_decryptor(note)
    assert b"".join(dec.feed(ch) for ch in chunks) == b"\x89PNG" * 5000
    dec.finish()
