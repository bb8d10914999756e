from __future__ import annotations

import pytest

from server.passwords import (
    OWASP_FLOOR,
    PRODUCTION,
    Argon2Params,
    check_password_policy,
    hash_password,
    hash_password_async,
    needs_rehash,
    parse_phc,
    verify_password,
    verify_password_async,
)
from server.protection_errors import MalformedHash, WeakPassword


def test_production_parameters_meet_owasp_floor() -> None:
    phc = hash_password("correct horse battery")
    assert phc.startswith("$argon2id$v=19$")
    params = parse_phc(phc)
    assert params.memory_kib >= 19 * 1024
    assert params.iterations >= 2
    assert params.lanes >= 1
    assert params.at_least(OWASP_FLOOR)
    assert PRODUCTION.at_least(OWASP_FLOOR)
    assert verify_password("correct horse battery", phc)
    assert not verify_password("correct horse battery!", phc)


def test_hash_is_salted_and_verifies(fast_params: Argon2Params) -> None:
    a = hash_password("same password", fast_params)
    b = hash_password("same password", fast_params)
    assert a != b
    assert verify_password("same password", a)
    assert verify_password("same password", b)
    assert not verify_password("Same password", a)


def test_unicode_password(fast_params: Argon2Params) -> None:
    phc = hash_password("pässwörd ✓ 密码", fast_params)
    assert verify_password("pässwörd ✓ 密码", phc)
    assert not verify_password("passwort ✓ 密码", phc)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not a hash",
        "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
        "$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
        "$argon2id$v=19$m=x,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
        "$argon2id$v=19$m=1,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
    ],
)
def test_malformed_hash_is_a_typed_error(bad: str) -> None:
    with pytest.raises(MalformedHash):
        verify_password("whatever123", bad)
    assert needs_rehash(bad)


def test_needs_rehash_when_parameters_weaker(fast_params: Argon2Params) -> None:
    weak = hash_password("password123", fast_params)
    assert needs_rehash(weak, PRODUCTION)
    assert not needs_rehash(weak, fast_params)
    stronger = Argon2Params(memory_kib=16, iterations=2, lanes=1)
    assert needs_rehash(hash_password("password123", fast_params), stronger)
    assert not needs_rehash(hash_password("password123", stronger), fast_params)


@pytest.mark.parametrize(
    ("password", "account", "fragment"),
    [
        ("short", None, "at least 8"),
        ("x" * 1025, None, "at most 1024"),
        ("         ", None, "whitespace"),
        ("AliceBob", "alicebob", "account name"),
    ],
)
def test_password_policy(password: str, account: str | None, fragment: str) -> None:
    with pytest.raises(WeakPassword, match=fragment) as info:
        check_password_policy(password, account)
    assert info.value.code.value == "weak_password"


def test_password_policy_accepts_reasonable() -> None:
    check_password_policy("12345678", "alice")
    check_password_policy("x" * 1024, "alice")


def test_invalid_params_refused() -> None:
    with pytest.raises(ValueError, match="invalid Argon2id"):
        Argon2Params(memory_kib=4, iterations=1, lanes=1)


@pytest.mark.anyio
async def test_async_wrappers(fast_params: Argon2Params) -> None:
    phc = await hash_password_async("async password", fast_params)
    assert await verify_password_async("async password", phc)
    assert not await verify_password_async("other password", phc)
