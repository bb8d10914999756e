"""Keystore: passphrase, file mode, atomic writes, and no counter reuse across a crash."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from justirc_sdk.crypto import (
    Argon2Params,
    CryptoEngine,
    EngineConfig,
    Keystore,
    KeystoreError,
    TrustState,
    WrongPassphraseError,
)

from .conftest import FakeClock, Net, introduce

FAST = Argon2Params(iterations=1, memory_kib=64, lanes=1)
CFG = EngineConfig(reserve_block=8, max_skip=100)


def _store(tmp_path: Path, passphrase: str | None = "correct horse") -> Keystore:
    return Keystore(tmp_path / "alice.keys", passphrase, kdf=FAST)


@pytest.mark.parametrize("passphrase", ["correct horse", None])
def test_round_trip_keeps_identity_pins_and_sessions(
    tmp_path: Path, clock: FakeClock, passphrase: str | None
) -> None:
    store = _store(tmp_path, passphrase)
    a = CryptoEngine.create("alice", keystore=store, config=CFG, clock=clock)
    b = CryptoEngine.create("bob", config=CFG, clock=clock)
    introduce(a, b)
    a.verify("bob", a.safety_number("bob"))
    b.decrypt_private("alice", a.encrypt_private("bob", b"before restart"))
    a.save()
    again = CryptoEngine.open(_store(tmp_path, passphrase), config=CFG, clock=clock)
    assert again.fingerprint() == a.fingerprint() and again.bundle() == a.bundle()
    assert again.trust_state("bob") is TrustState.VERIFIED
    assert b.decrypt_private("alice", again.encrypt_private("bob", b"after")) == b"after"
    assert again.decrypt_private("bob", b.encrypt_private("alice", b"reply")) == b"reply"


def test_file_mode_is_0600_and_secrets_are_not_in_clear(tmp_path: Path) -> None:
    store = _store(tmp_path)
    a = CryptoEngine.create("alice", keystore=store)
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    a.save()
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    raw = store.path.read_bytes()
    assert a.export_state()["signing"].encode() not in raw
    assert b"alice" not in raw


def test_wrong_or_missing_passphrase_fails_cleanly(tmp_path: Path) -> None:
    CryptoEngine.create("alice", keystore=_store(tmp_path))
    with pytest.raises(WrongPassphraseError, match="wrong passphrase"):
        CryptoEngine.open(_store(tmp_path, "Correct horse"))
    with pytest.raises(WrongPassphraseError, match="needs a passphrase"):
        CryptoEngine.open(_store(tmp_path, None))


def test_missing_file_is_a_keystore_error(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="cannot read"):
        CryptoEngine.open(_store(tmp_path))


@pytest.mark.parametrize("passphrase", ["pw", None])
def test_torn_or_corrupted_file_is_detected(tmp_path: Path, passphrase: str | None) -> None:
    store = _store(tmp_path, passphrase)
    CryptoEngine.create("alice", keystore=store)
    raw = store.path.read_bytes()
    for bad in (raw[: len(raw) // 2], raw[:-1], raw[:5], raw[:-30] + bytes(30)):
        store.path.write_bytes(bad)
        with pytest.raises(KeystoreError):
            CryptoEngine.open(_store(tmp_path, passphrase))


@pytest.mark.parametrize("fail_at", ["write", "fsync", "replace"])
def test_crash_during_save_leaves_the_previous_state_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: str
) -> None:
    store = _store(tmp_path)
    a = CryptoEngine.create("alice", keystore=store)
    b = CryptoEngine.create("bob")
    good = store.path.read_bytes()
    real_write = os.write

    def torn_write(fd: int, data: bytes | memoryview) -> int:
        real_write(fd, bytes(data)[: len(data) // 2])
        raise OSError(28, "No space left on device")

    def boom(*args: object) -> None:
        raise OSError(5, "Input/output error")

    target = {
        "write": ("write", torn_write),
        "fsync": ("fsync", boom),
        "replace": ("replace", boom),
    }
    name, fn = target[fail_at]
    monkeypatch.setattr(os, name, fn)
    with pytest.raises(KeystoreError, match="cannot write"):
        a.add_bundle("bob", b.bundle())
    monkeypatch.undo()
    assert store.path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["alice.keys"]  # temp file cleaned up
    again = CryptoEngine.open(_store(tmp_path))
    assert again.fingerprint() == a.fingerprint() and again.trust_state("bob") is None


def test_stale_temp_file_from_a_crash_is_harmless(tmp_path: Path) -> None:
    store = _store(tmp_path)
    a = CryptoEngine.create("alice", keystore=store)
    (tmp_path / f".alice.keys.{os.getpid()}.tmp").write_bytes(b"half a file")
    a.save()
    assert CryptoEngine.open(_store(tmp_path)).fingerprint() == a.fingerprint()


def test_crash_between_send_and_persist_never_reuses_a_key_nonce_pair(
    tmp_path: Path, clock: FakeClock, seals: list[tuple[bytes, bytes]]
) -> None:
    """Alice never calls save(); she 'crashes' (drops the object) mid-reservation, twice."""
    store = _store(tmp_path)
    a = CryptoEngine.create("alice", keystore=store, config=CFG, clock=clock)
    b = CryptoEngine.create("bob", config=CFG, clock=clock)
    introduce(a, b)
    Net(a, b).join("#room", "alice", "bob")
    received: list[bytes] = []
    for life in range(3):
        for i in range(13):  # not a multiple of the reservation block
            received.append(b.decrypt_private("alice", a.encrypt_private("bob", b"p%d" % i)))
            received.append(b.decrypt_channel("#room", "alice", a.encrypt_channel("#room", b"c")))
        a = CryptoEngine.open(_store(tmp_path), config=CFG, clock=clock)  # crash + restart
        if life == 1:
            b.decrypt_private("alice", a.encrypt_private("bob", b"after restart"))
            a.decrypt_private("bob", b.encrypt_private("alice", b"reply"))  # DH step
    assert len(received) == 78
    assert len(seals) == len(set(seals))


def test_failed_persist_means_nothing_was_sealed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seals: list[tuple[bytes, bytes]]
) -> None:
    store = _store(tmp_path)
    a = CryptoEngine.create("alice", keystore=store, config=CFG)
    b = CryptoEngine.create("bob", config=CFG)
    introduce(a, b)
    seals.clear()
    monkeypatch.setattr(
        Keystore, "save", lambda self, state: (_ for _ in ()).throw(KeystoreError("disk full"))
    )
    with pytest.raises(KeystoreError):
        a.encrypt_private("bob", b"must not leave")
    assert seals == []
