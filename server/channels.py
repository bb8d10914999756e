"""Channel registry: the persistent part of each channel, and its SQLite mapping.

A channel is registered when its first member joins and stays registered (with its
owner, password hash, topic, modes, roles and bans) even when empty and across
restarts; one owned by a guest rather than an account is forgotten once it has been
empty for ``channel_guest_expiry`` (see :meth:`ChannelRegistry.sweep`). Live membership
is not here: it belongs to :mod:`server.presence`.

Identities (who a role or ban belongs to) are strings:

* ``account:<name>`` when the user is logged in to an account;
* ``key:<sha256 hex>`` of the key bundle the user published, for guests with keys;
* ``nick:<lowercased nick>`` for guests who published no keys (weak: anyone who later
  takes that nick inherits it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from justirc_sdk.protocol import ChannelModes

from .store import Store

__all__ = [
    "BanRecord",
    "Channel",
    "ChannelRegistry",
    "hash_password",
    "verify_password",
]

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1

_MIGRATIONS = [
    """
    CREATE TABLE channels (
        key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        owner TEXT NOT NULL,
        password_hash TEXT,
        topic TEXT,
        invite_only INTEGER NOT NULL DEFAULT 0,
        moderated INTEGER NOT NULL DEFAULT 0,
        secret INTEGER NOT NULL DEFAULT 0,
        topic_lock INTEGER NOT NULL DEFAULT 1,
        member_limit INTEGER NOT NULL DEFAULT 0,
        created REAL NOT NULL
    );
    CREATE TABLE channel_roles (
        channel TEXT NOT NULL REFERENCES channels(key) ON DELETE CASCADE,
        identity TEXT NOT NULL,
        role TEXT NOT NULL,
        PRIMARY KEY (channel, identity)
    );
    CREATE TABLE channel_bans (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL REFERENCES channels(key) ON DELETE CASCADE,
        nick TEXT NOT NULL,
        nick_key TEXT NOT NULL,
        identity TEXT,
        by_nick TEXT NOT NULL,
        reason TEXT,
        until REAL,
        created REAL NOT NULL
    );
    CREATE INDEX channel_bans_channel ON channel_bans(channel)
    """,
    """
    ALTER TABLE channels ADD COLUMN emptied REAL
    """,
]


def hash_password(password: str) -> str:
    """Salted scrypt hash of a channel password, as ``scrypt$n$r$p$salt$hash``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Check *password* against a :func:`hash_password` string in constant time."""
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt = base64.b64decode(salt_b64)
        expected = base64.b64decode(digest_b64)
        actual = hashlib.scrypt(
            password.encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@dataclass(slots=True)
class BanRecord:
    """One ban: held against ``identity`` when known, and always against ``nick_key``."""

    nick: str
    identity: str | None
    by: str
    reason: str | None
    until: float | None
    created: float

    @property
    def nick_key(self) -> str:
        """The case-insensitive nick the ban was set on."""
        return self.nick.lower()

    def matches(self, identities: frozenset[str], nick_key: str) -> bool:
        """True when the ban applies to a user with these identities and nick."""
        return nick_key == self.nick_key or (
            self.identity is not None and self.identity in identities
        )

    def expired(self, now: float) -> bool:
        """True for a timed ban whose time is up."""
        return self.until is not None and self.until <= now


@dataclass(slots=True)
class Channel:
    """The registered state of one channel (everything except live membership)."""

    key: str
    name: str
    owner: str
    created: float
    password_hash: str | None = None
    topic: str | None = None
    invite_only: bool = False
    moderated: bool = False
    secret: bool = False
    topic_lock: bool = True
    limit: int = 0
    roles: dict[str, str] = field(default_factory=dict)
    """Persistent op/mod roles by identity (the owner is :attr:`owner`, not listed here)."""
    bans: list[BanRecord] = field(default_factory=list)
    invites: set[int] = field(default_factory=set)
    """Connections invited past invite-only (live only, not persisted)."""
    emptied: float | None = None
    """When the channel was first seen without members (None while it has some)."""

    def modes(self) -> ChannelModes:
        """The modes as the wire record."""
        return ChannelModes(
            invite_only=self.invite_only,
            moderated=self.moderated,
            secret=self.secret,
            topic_lock=self.topic_lock,
            limit=self.limit,
            has_password=self.password_hash is not None,
        )

    def role_of(self, identities: tuple[str, ...]) -> str:
        """The stored role of the first of *identities* (strongest first) that has one."""
        for identity in identities:
            if identity == self.owner:
                return "owner"
            role = self.roles.get(identity)
            if role is not None:
                return role
        return "member"

    def purge_expired(self, now: float) -> list[BanRecord]:
        """Drop timed bans that have run out; return them."""
        gone = [ban for ban in self.bans if ban.expired(now)]
        if gone:
            self.bans = [ban for ban in self.bans if not ban.expired(now)]
        return gone

    def find_ban(self, identities: frozenset[str], nick_key: str, now: float) -> BanRecord | None:
        """The live ban that applies to this user, if any."""
        for ban in self.bans:
            if not ban.expired(now) and ban.matches(identities, nick_key):
                return ban
        return None


class ChannelRegistry:
    """Registered channels in memory, written through to SQLite when a store is given."""

    def __init__(self, store: Store | None = None) -> None:
        self._store = store
        self.channels: dict[str, Channel] = {}
        if store is not None:
            store.migrate("channels", _MIGRATIONS)
            self._load(store)

    def get(self, key: str) -> Channel | None:
        """The channel registered under the lowercased *key*, if any."""
        return self.channels.get(key)

    def create(self, channel: Channel) -> None:
        """Register a new channel."""
        self.channels[channel.key] = channel
        if self._store is not None:
            self._store.connection.execute(
                "INSERT INTO channels (key, name, owner, created) VALUES (?, ?, ?, ?)",
                (channel.key, channel.name, channel.owner, channel.created),
            )
            self.save(channel)

    def save(self, channel: Channel) -> None:
        """Write the channel row (owner, password hash, topic, modes)."""
        if self._store is None:
            return
        self._store.connection.execute(
            "UPDATE channels SET owner = ?, password_hash = ?, topic = ?, invite_only = ?,"
            " moderated = ?, secret = ?, topic_lock = ?, member_limit = ? WHERE key = ?",
            (
                channel.owner,
                channel.password_hash,
                channel.topic,
                int(channel.invite_only),
                int(channel.moderated),
                int(channel.secret),
                int(channel.topic_lock),
                channel.limit,
                channel.key,
            ),
        )

    def set_role(self, channel: Channel, identity: str, role: str) -> None:
        """Remember *identity*'s op/mod role (``member`` forgets it)."""
        if role in ("op", "mod"):
            channel.roles[identity] = role
        else:
            channel.roles.pop(identity, None)
        if self._store is None:
            return
        db = self._store.connection
        if role in ("op", "mod"):
            db.execute(
                "INSERT INTO channel_roles (channel, identity, role) VALUES (?, ?, ?)"
                " ON CONFLICT(channel, identity) DO UPDATE SET role = excluded.role",
                (channel.key, identity, role),
            )
        else:
            db.execute(
                "DELETE FROM channel_roles WHERE channel = ? AND identity = ?",
                (channel.key, identity),
            )

    def sweep(
        self, now: float, occupied: Callable[[str], bool], guest_expiry: float
    ) -> list[Channel]:
        """Note which channels are empty since when; drop expired guest channels.

        Called periodically (about once a minute), so "empty since" is accurate to the
        sweep interval. A channel owned by an account is kept however long it is empty;
        any other one (a guest's, or one whose owning account was deleted) is dropped,
        roles and bans with it, once empty for *guest_expiry* seconds (0: never).
        Returns the dropped channels.
        """
        dropped: list[Channel] = []
        for channel in list(self.channels.values()):
            if occupied(channel.key):
                if channel.emptied is not None:
                    self._set_emptied(channel, None)
            elif channel.emptied is None:
                self._set_emptied(channel, now)
            elif (
                guest_expiry > 0
                and now - channel.emptied >= guest_expiry
                and not channel.owner.startswith("account:")
            ):
                self.drop(channel.key)
                dropped.append(channel)
        return dropped

    def _set_emptied(self, channel: Channel, when: float | None) -> None:
        channel.emptied = when
        if self._store is not None:
            self._store.connection.execute(
                "UPDATE channels SET emptied = ? WHERE key = ?", (when, channel.key)
            )

    def drop(self, key: str) -> Channel | None:
        """Unregister a channel (its roles and bans go with it); returns it if it existed."""
        channel = self.channels.pop(key, None)
        if channel is not None and self._store is not None:
            self._store.connection.execute("DELETE FROM channels WHERE key = ?", (key,))
        return channel

    def forget_identity(self, identity: str) -> list[Channel]:
        """Take every role from *identity* (a deleted account); return the channels changed.

        A name that is deleted can be registered again by somebody else, who must not
        inherit its channels. A channel it owned passes to its longest-standing op, else
        mod, else to nobody (an administrator can ``set-owner``). Bans on the identity
        stay: deleting an account must not lift them.
        """
        changed: list[Channel] = []
        for channel in self.channels.values():
            touched = identity in channel.roles
            if touched:
                self.set_role(channel, identity, "member")
            if channel.owner == identity:
                heir = next((i for i, r in channel.roles.items() if r == "op"), None)
                heir = heir or next((i for i, r in channel.roles.items() if r == "mod"), None)
                if heir is not None:
                    self.set_role(channel, heir, "member")  # the owner is not in roles
                channel.owner = heir or ""
                self.save(channel)
                touched = True
            if touched:
                changed.append(channel)
        return changed

    def add_ban(self, channel: Channel, ban: BanRecord) -> None:
        """Record a ban (replacing an earlier one on the same nick)."""
        self.remove_bans(channel, ban.nick_key)
        channel.bans.append(ban)
        if self._store is not None:
            self._store.connection.execute(
                "INSERT INTO channel_bans (channel, nick, nick_key, identity, by_nick, reason,"
                " until, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    channel.key,
                    ban.nick,
                    ban.nick_key,
                    ban.identity,
                    ban.by,
                    ban.reason,
                    ban.until,
                    ban.created,
                ),
            )

    def remove_bans(self, channel: Channel, nick_key: str) -> int:
        """Lift every ban set on *nick_key*; return how many there were."""
        before = len(channel.bans)
        channel.bans = [ban for ban in channel.bans if ban.nick_key != nick_key]
        if self._store is not None:
            self._store.connection.execute(
                "DELETE FROM channel_bans WHERE channel = ? AND nick_key = ?",
                (channel.key, nick_key),
            )
        return before - len(channel.bans)

    def purge_expired(self, channel: Channel, now: float) -> None:
        """Forget timed bans that have expired (in memory and on disk)."""
        if channel.purge_expired(now) and self._store is not None:
            self._store.connection.execute(
                "DELETE FROM channel_bans WHERE channel = ? AND until IS NOT NULL AND until <= ?",
                (channel.key, now),
            )

    def _load(self, store: Store) -> None:
        db = store.connection
        for row in db.execute(
            "SELECT key, name, owner, created, password_hash, topic, invite_only, moderated,"
            " secret, topic_lock, member_limit, emptied FROM channels"
        ):
            self.channels[row[0]] = Channel(
                key=row[0],
                name=row[1],
                owner=row[2],
                created=row[3],
                password_hash=row[4],
                topic=row[5],
                invite_only=bool(row[6]),
                moderated=bool(row[7]),
                secret=bool(row[8]),
                topic_lock=bool(row[9]),
                limit=row[10],
                emptied=row[11],
            )
        for key, identity, role in db.execute("SELECT channel, identity, role FROM channel_roles"):
            if key in self.channels:
                self.channels[key].roles[identity] = role
        for key, nick, identity, by, reason, until, created in db.execute(
            "SELECT channel, nick, identity, by_nick, reason, until, created FROM channel_bans"
            " ORDER BY id"
        ):
            if key in self.channels:
                self.channels[key].bans.append(
                    BanRecord(nick, identity, by, reason, until, created)
                )
