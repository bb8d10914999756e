"""A session's identity survives restarts through its keystore file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from justirc_sdk.crypto.errors import WrongPassphraseError

from .conftest import Connect
from .test_chat import message_from

pytestmark = pytest.mark.anyio


async def test_keystore_keeps_identity_and_sessions_across_runs(
    connect: Connect, tmp_path: Path
) -> None:
    path = tmp_path / "alice.keys"
    alice = await connect("alice", keystore=path, passphrase="correct horse")
    bob = await connect("bob")
    fingerprint = alice.fingerprint
    got = message_from(bob, "alice")
    await alice.send("bob", "first run")
    await got
    await alice.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"first run" not in path.read_bytes()

    with pytest.raises(WrongPassphraseError):
        await connect("alice", keystore=path, passphrase="wrong horse")
    again = await connect("alice", keystore=path, passphrase="correct horse")
    assert again.fingerprint == fingerprint
    got = message_from(bob, "alice")
    await again.send("bob", "second run, same identity")
    assert (await got).text == "second run, same identity"  # no key change for bob
    assert bob.trust_state("alice") == "unverified"
