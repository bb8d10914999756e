from __future__ import annotations

import sqlite3

import pytest

from server.protection_errors import InvalidToken
from server.tokens import TokenStore, hash_token, new_token

from .conftest import FakeClock


def test_token_has_enough_entropy_and_is_stored_hashed(
    db: sqlite3.Connection, clock: FakeClock
) -> None:
    assert len({new_token() for _ in range(100)}) == 100
    store = TokenStore(db, clock=clock)
    issued = store.issue("Alice")
    assert len(issued.token) >= 43  # 32 bytes, base64url
    assert issued.account == "alice"
    assert issued.expires == clock.now + 30 * 24 * 3600
    rows = db.execute("SELECT hash FROM tokens").fetchall()
    assert rows == [(hash_token(issued.token),)]
    assert issued.token not in repr(issued)
    assert store.resolve(issued.token) == "alice"
    assert store.resolve(issued.token, "ALICE") == "alice"


def test_token_expires(db: sqlite3.Connection, clock: FakeClock) -> None:
    store = TokenStore(db, ttl=3600, clock=clock)
    issued = store.issue("alice")
    clock.advance(3599)
    assert store.resolve(issued.token) == "alice"
    clock.advance(1)
    with pytest.raises(InvalidToken, match="expired"):
        store.resolve(issued.token)
    with pytest.raises(InvalidToken, match="unknown"):  # expired tokens are deleted
        store.resolve(issued.token)


def test_revoke_one_and_all(db: sqlite3.Connection, clock: FakeClock) -> None:
    store = TokenStore(db, clock=clock)
    a1, a2, b1 = store.issue("alice"), store.issue("alice"), store.issue("bob")
    assert store.revoke(a1.token)
    assert not store.revoke(a1.token)
    with pytest.raises(InvalidToken):
        store.resolve(a1.token)
    assert store.resolve(a2.token) == "alice"
    assert store.revoke_all("ALICE") == 1
    with pytest.raises(InvalidToken):
        store.resolve(a2.token)
    assert store.resolve(b1.token) == "bob"


def test_token_of_other_account_refused(db: sqlite3.Connection, clock: FakeClock) -> None:
    store = TokenStore(db, clock=clock)
    issued = store.issue("alice")
    with pytest.raises(InvalidToken, match="another account"):
        store.resolve(issued.token, "bob")


@pytest.mark.parametrize("token", ["", "x" * 201, "not-a-real-token"])
def test_garbage_tokens_refused(db: sqlite3.Connection, token: str) -> None:
    with pytest.raises(InvalidToken):
        TokenStore(db).resolve(token)


def test_tokens_per_account_capped(db: sqlite3.Connection, clock: FakeClock) -> None:
    store = TokenStore(db, max_per_account=3, clock=clock)
    issued = []
    for _ in range(5):
        issued.append(store.issue("alice"))
        clock.advance(1)
    assert store.count("alice") == 3
    with pytest.raises(InvalidToken):
        store.resolve(issued[0].token)
    assert store.resolve(issued[-1].token) == "alice"


def test_purge_expired(db: sqlite3.Connection, clock: FakeClock) -> None:
    store = TokenStore(db, ttl=10, clock=clock)
    store.issue("alice")
    clock.advance(5)
    store.issue("bob")
    clock.advance(6)
    assert store.purge_expired() == 1
    assert store.count("bob") == 1
