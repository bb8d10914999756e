"""A running server applies admin changes written by ``justirc-server admin``."""

from __future__ import annotations

import logging
import sqlite3

from justirc_sdk.protocol import Kicked

from .account_commands import AccountCommands
from .admin import Change, ChangeLog, read_owner
from .router import Router
from .routing import Output

__all__ = ["AdminPickup"]

_log = logging.getLogger(__name__)


class AdminPickup:
    """Polls ``admin_changes`` and turns each new change into router output."""

    def __init__(
        self,
        router: Router,
        accounts: AccountCommands,
        changes: ChangeLog,
        db: sqlite3.Connection,
    ) -> None:
        self.router = router
        self.db = db
        self.accounts = accounts
        self.changes = changes
        self.last = changes.last_id()  # changes made before start are already in the tables

    def poll(self) -> Output:
        """Apply changes made since the last poll."""
        for change in self.changes.since(self.last):
            self.last = change.id
            try:
                self._apply(change)
            except Exception:  # one bad change must not stop the others
                _log.exception("could not apply admin change %s", change.kind)
        return self.router.out.take()

    def _apply(self, change: Change) -> None:
        _log.info("admin change: %s %s", change.kind, change.target)
        if change.kind == "account_disabled":
            self.accounts.close_sessions(change.target, "account disabled by an administrator")
        elif change.kind == "password_reset":
            self.accounts.close_sessions(change.target, "password reset by an administrator")
            self.accounts.accounts.lockout.forget(change.target)  # the owner may log in now
        elif change.kind == "channel_dropped":
            self._drop(change.target)
        elif change.kind == "channel_owner":
            self._owner(change.target)

    def _drop(self, key: str) -> None:
        router = self.router
        channel = router.registry.channels.pop(key, None)
        if channel is None:
            return
        members = dict(router.presence.members(key))
        reason = "channel dropped by an administrator"
        for conn in members:
            nick = router.presence.nick_of(conn)
            if nick is not None:
                kicked = Kicked(channel=channel.name, nick=nick, by="server", reason=reason)
                router.out.broadcast(list(members), kicked)
        for conn in members:
            router.presence.leave(key, conn)
            client = router.clients.get(conn)
            if client is not None:
                client.uninvite(key)

    def _owner(self, key: str) -> None:
        router = self.router
        channel = router.registry.get(key)
        owner = read_owner(self.db, key) if channel is not None else None
        if channel is None or owner is None:
            return
        channel.owner = owner
        channel.roles.pop(owner, None)
        router.refresh_roles(channel)
