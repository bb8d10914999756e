from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from server.accounts import AccountStore
from server.errors import ServerError
from server.lockout import Lockout
from server.passwords import PRODUCTION, Argon2Params, hash_password, parse_phc
from server.protection_errors import (
    AccountDisabled,
    AccountExists,
    AccountLocked,
    BadPassword,
    InvalidAccountName,
    InvalidToken,
    NoSuchAccount,
    ProtectionError,
    WeakPassword,
)

from .conftest import FakeClock

PW = "correct horse"
ADDR = "192.0.2.10"


@pytest.fixture
def store(db: sqlite3.Connection, fast_params: Argon2Params, clock: FakeClock) -> AccountStore:
    return AccountStore(db, params=fast_params, clock=clock, lockout=Lockout(clock=clock))


def test_create_and_login_with_password_then_token(store: AccountStore) -> None:
    account = store.create("Alice", PW)
    assert account.name == "Alice"
    assert store.exists("alice")
    issued = store.login("alice", PW, ADDR)
    assert issued.account == "alice"
    assert store.login_token("ALICE", issued.token).name == "Alice"
    assert store.get("alice").last_login is not None


def test_password_is_stored_as_argon2id_only(
    store: AccountStore, db: sqlite3.Connection, tmp_path: Path
) -> None:
    store.create("alice", PW)
    (phc,) = db.execute("SELECT phc FROM accounts").fetchone()
    assert phc.startswith("$argon2id$")
    db.commit()
    assert PW.encode() not in (tmp_path / "server.db").read_bytes()


@pytest.mark.parametrize(
    ("name", "error"),
    [("ab", InvalidAccountName), ("a b c", InvalidAccountName), ("Admin", InvalidAccountName)],
)
def test_name_rules(store: AccountStore, name: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        store.create(name, PW)


def test_duplicate_account_in_any_case(store: AccountStore) -> None:
    store.create("alice", PW)
    with pytest.raises(AccountExists) as info:
        store.create("ALICE", PW)
    assert info.value.code.value == "account_exists"


def test_weak_password_refused(store: AccountStore) -> None:
    with pytest.raises(WeakPassword):
        store.create("alice", "alice")
    with pytest.raises(WeakPassword):
        store.create("alice", "short")
    assert not store.exists("alice")


def test_bad_password_and_unknown_account(store: AccountStore) -> None:
    store.create("alice", PW)
    with pytest.raises(BadPassword) as info:
        store.login("alice", "wrong password", ADDR)
    assert info.value.code.value == "bad_password"
    with pytest.raises(NoSuchAccount):
        store.login("nobody", PW, ADDR)


def test_lockout_and_expiry_through_the_store(store: AccountStore, clock: FakeClock) -> None:
    store.create("alice", PW)
    for _ in range(5):
        with pytest.raises(BadPassword):
            store.login("alice", "wrong password", ADDR)
    with pytest.raises(AccountLocked) as info:
        store.login("alice", PW, ADDR)  # even the right password waits
    assert info.value.code.value == "account_locked"
    assert info.value.retry_after is not None
    assert 0 < info.value.retry_after <= 15 * 60
    # the owner with a token is never locked out
    clock.advance(info.value.retry_after)
    issued = store.login("alice", PW, ADDR)
    assert store.login_token("alice", issued.token).name == "alice"


def test_logout_revokes_token(store: AccountStore) -> None:
    store.create("alice", PW)
    issued = store.login("alice", PW, ADDR)
    assert store.logout(issued.token)
    with pytest.raises(InvalidToken):
        store.login_token("alice", issued.token)


def test_token_expiry(db: sqlite3.Connection, fast_params: Argon2Params, clock: FakeClock) -> None:
    store = AccountStore(db, params=fast_params, token_ttl=60, clock=clock)
    store.create("alice", PW)
    issued = store.login("alice", PW, ADDR)
    assert issued.expires == clock.now + 60
    clock.advance(61)
    with pytest.raises(InvalidToken, match="expired"):
        store.login_token("alice", issued.token)


def test_change_password_needs_old_and_revokes_all(store: AccountStore) -> None:
    store.create("alice", PW)
    t1, t2 = store.login("alice", PW, ADDR), store.login("alice", PW, "192.0.2.11")
    with pytest.raises(BadPassword):
        store.change_password("alice", "not the old one", "new password 1", ADDR)
    fresh = store.change_password("alice", PW, "new password 1", ADDR)
    for old in (t1, t2):
        with pytest.raises(InvalidToken):
            store.login_token("alice", old.token)
    assert store.login_token("alice", fresh.token).name == "alice"
    with pytest.raises(BadPassword):
        store.login("alice", PW, ADDR)
    store.login("alice", "new password 1", ADDR)
    with pytest.raises(WeakPassword):
        store.change_password("alice", "new password 1", "short", ADDR)


def test_delete_needs_password(store: AccountStore) -> None:
    store.create("alice", PW)
    token = store.login("alice", PW, ADDR)
    with pytest.raises(BadPassword):
        store.delete("alice", "wrong password", ADDR)
    store.delete("alice", PW, ADDR)
    assert not store.exists("alice")
    with pytest.raises(InvalidToken):
        store.login_token("alice", token.token)
    store.create("alice", "another password")  # the name is free again


def test_disable_enable(store: AccountStore) -> None:
    store.create("alice", PW)
    token = store.login("alice", PW, ADDR)
    store.disable("alice")
    assert store.get("alice").disabled
    with pytest.raises(AccountDisabled) as info:
        store.login("alice", PW, ADDR)
    assert info.value.code.value == "account_disabled"
    with pytest.raises(InvalidToken):  # disabling revoked the tokens
        store.login_token("alice", token.token)
    store.enable("alice")
    store.login("alice", PW, ADDR)
    with pytest.raises(NoSuchAccount):
        store.disable("nobody")


def test_admin_reset_password(store: AccountStore) -> None:
    store.create("alice", PW)
    token = store.login("alice", PW, ADDR)
    for _ in range(5):
        with pytest.raises(BadPassword):
            store.login("alice", "wrong password", ADDR)
    store.reset_password("alice", "brand new pass")
    with pytest.raises(InvalidToken):
        store.login_token("alice", token.token)
    store.login("alice", "brand new pass", ADDR)  # the reset also cleared the lockout
    with pytest.raises(NoSuchAccount):
        store.reset_password("nobody", "brand new pass")


def test_list_accounts(store: AccountStore) -> None:
    store.create("Bob", PW)
    store.create("alice", PW)
    assert [a.name for a in store.list()] == ["alice", "Bob"]


def test_login_rehashes_weak_hash(
    db: sqlite3.Connection, fast_params: Argon2Params, clock: FakeClock
) -> None:
    stronger = Argon2Params(memory_kib=16, iterations=2, lanes=1)
    AccountStore(db, params=fast_params, clock=clock).create("alice", PW)
    AccountStore(db, params=stronger, clock=clock).login("alice", PW, ADDR)
    (phc,) = db.execute("SELECT phc FROM accounts").fetchone()
    assert parse_phc(phc) == stronger


def test_errors_share_one_root() -> None:
    for cls in (AccountExists, NoSuchAccount, BadPassword, AccountDisabled, InvalidToken):
        assert issubclass(cls, ProtectionError)
        assert issubclass(cls, ServerError)


def test_production_params_are_default(db: sqlite3.Connection) -> None:
    store = AccountStore(db)
    assert store._params == PRODUCTION
    assert parse_phc(hash_password("x" * 8)) == PRODUCTION


@pytest.mark.anyio
async def test_async_faces(store: AccountStore) -> None:
    await store.create_async("alice", PW)
    issued = await store.login_async("alice", PW, ADDR)
    assert store.login_token("alice", issued.token).name == "alice"
    with pytest.raises(BadPassword):
        await store.login_async("alice", "wrong password", ADDR)
    fresh = await store.change_password_async("alice", PW, "second password", ADDR)
    await store.reset_password_async("alice", "third password")
    with pytest.raises(InvalidToken):
        store.login_token("alice", fresh.token)
    await store.delete_async("alice", "third password", ADDR)
    assert not store.exists("alice")
