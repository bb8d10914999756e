"""Password hashing (Argon2id, PHC strings) and the password policy.

Hashes are PHC strings (``$argon2id$v=19$m=19456,t=2,p=1$salt$hash``) made by
``cryptography``'s Argon2id, so the parameters travel with each hash and can be raised
later: :func:`needs_rehash` tells when a stored hash is weaker than the current
parameters, and the account store re-hashes on the next successful login.

Hashing costs ~19 MiB and tens of milliseconds of CPU by design. The ``*_async``
wrappers run it in a worker thread (``anyio.to_thread``, so they work under asyncio and
trio) and a process-wide semaphore bounds how many hashes run at once, which bounds the
memory a login flood can take.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass

import anyio.to_thread
from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from .protection_errors import MalformedHash, WeakPassword

__all__ = [
    "MAX_CONCURRENT_HASHES",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "OWASP_FLOOR",
    "PRODUCTION",
    "Argon2Params",
    "check_password_policy",
    "hash_password",
    "hash_password_async",
    "needs_rehash",
    "parse_phc",
    "verify_password",
    "verify_password_async",
]

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
MAX_CONCURRENT_HASHES = 4
"""At most this many Argon2 computations run at once in one process (memory bound)."""

_HASH_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)
_PHC_RE = re.compile(
    r"\$argon2id\$v=19\$m=(?P<m>[0-9]{1,10}),t=(?P<t>[0-9]{1,10}),p=(?P<p>[0-9]{1,10})"
    r"\$(?P<salt>[A-Za-z0-9+/]{11,})\$(?P<hash>[A-Za-z0-9+/]{22,})"
)


@dataclass(frozen=True, slots=True)
class Argon2Params:
    """Argon2id cost parameters: memory in KiB, iterations (t) and lanes (p)."""

    memory_kib: int
    iterations: int
    lanes: int
    salt_len: int = 16
    hash_len: int = 32

    def __post_init__(self) -> None:
        if self.lanes < 1 or self.iterations < 1 or self.memory_kib < 8 * self.lanes:
            raise ValueError(f"invalid Argon2id parameters: {self}")
        if self.salt_len < 16 or self.hash_len < 16:
            raise ValueError("Argon2id salt and hash must be at least 16 bytes")

    def at_least(self, other: Argon2Params) -> bool:
        """True when every cost here is >= the same cost in *other*."""
        return (
            self.memory_kib >= other.memory_kib
            and self.iterations >= other.iterations
            and self.lanes >= other.lanes
        )

    @classmethod
    def fast_insecure_for_tests(cls) -> Argon2Params:
        """Tiny parameters that make tests fast. Never use them for real accounts."""
        return cls(memory_kib=8, iterations=1, lanes=1)


OWASP_FLOOR = Argon2Params(memory_kib=19 * 1024, iterations=2, lanes=1)
"""OWASP Password Storage Cheat Sheet minimum for Argon2id (m=19 MiB, t=2, p=1)."""

PRODUCTION = OWASP_FLOOR
"""The default parameters: the OWASP floor (~60 ms per hash on a 2-core VM)."""


def parse_phc(phc: str) -> Argon2Params:
    """Return the parameters of an Argon2id PHC string; :class:`MalformedHash` if it is not one."""
    match = _PHC_RE.fullmatch(phc)
    if match is None:
        raise MalformedHash("stored password hash is not an Argon2id v19 PHC string")
    try:
        return Argon2Params(int(match["m"]), int(match["t"]), int(match["p"]))
    except ValueError as exc:
        raise MalformedHash(f"stored password hash has invalid parameters: {exc}") from None


def check_password_policy(password: str, account: str | None = None) -> None:
    """Raise :class:`WeakPassword` unless *password* is acceptable for *account*.

    Policy: 8 to 1024 characters, not only whitespace, and not the account name
    (in any letter case).
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"password must be at most {MAX_PASSWORD_LENGTH} characters long")
    if not password.strip():
        raise WeakPassword("password must not be only whitespace")
    if account is not None and password.casefold() == account.casefold():
        raise WeakPassword("password must not be the account name")


def hash_password(password: str, params: Argon2Params = PRODUCTION) -> str:
    """Hash *password* with a fresh random salt; return the PHC string. Blocking."""
    kdf = Argon2id(
        salt=os.urandom(params.salt_len),
        length=params.hash_len,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    with _HASH_SLOTS:
        return kdf.derive_phc_encoded(password.encode("utf-8"))


def verify_password(password: str, phc: str) -> bool:
    """True when *password* matches the PHC string *phc*. Blocking.

    The comparison is constant-time (done by ``cryptography``). A *phc* that is not a
    valid Argon2id PHC string raises :class:`MalformedHash` instead of returning False,
    so a corrupt database is noticed rather than looking like a wrong password.
    """
    parse_phc(phc)
    with _HASH_SLOTS:
        try:
            Argon2id.verify_phc_encoded(password.encode("utf-8"), phc)
        except InvalidKey:
            return False
    return True


def needs_rehash(phc: str, params: Argon2Params = PRODUCTION) -> bool:
    """True when *phc* was made with weaker parameters than *params* (or is malformed)."""
    try:
        return not parse_phc(phc).at_least(params)
    except MalformedHash:
        return True


async def hash_password_async(password: str, params: Argon2Params = PRODUCTION) -> str:
    """:func:`hash_password` in a worker thread, so the event loop keeps routing."""
    return await anyio.to_thread.run_sync(hash_password, password, params)


async def verify_password_async(password: str, phc: str) -> bool:
    """:func:`verify_password` in a worker thread, so the event loop keeps routing."""
    return await anyio.to_thread.run_sync(verify_password, password, phc)
