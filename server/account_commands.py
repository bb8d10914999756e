"""Account frames on the wire: create_account, login, logout, passwd, delete_account.

Plugs into :class:`~server.router.Router` through ``add_handler`` and ``nick_guard``.
Handlers check what they can at once; the Argon2 work is handed to the I/O shell as a
:class:`~server.routing.Job` (``AccountStore.*_async`` hashes in a worker thread), so a
login never stalls routing for others, and the shell reads nothing more from that
connection until the job is done (frames stay in order).

Nick protection: an account name is a registered nick. Only a connection logged in to
that account may hold it; a guest asking for it gets ``nick_in_use`` ("registered").
When the owner claims it while another connection holds it (a guest from before the
account existed, or the owner's own stale connection), the holder is renamed to a
``Guest<digits>`` nick with ``nick_changed``, as mature IRC networks do.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import NoReturn

from justirc_sdk.protocol import (
    CreateAccount,
    DeleteAccount,
    ErrorCode,
    LoggedIn,
    Login,
    Logout,
    Passwd,
    nick_key,
)

from .accounts import AccountStore
from .protection_errors import ProtectionError
from .router import Router
from .routing import Client, Output, Refusal

__all__ = ["AccountCommands"]

_log = logging.getLogger(__name__)


class AccountCommands:
    """The account half of the router (install with :meth:`install`)."""

    def __init__(self, router: Router, accounts: AccountStore) -> None:
        self.router = router
        self.accounts = accounts

    def install(self) -> None:
        """Register the handlers and the nick guard with the router."""
        r = self.router
        r.add_handler("login", self.login, before_register=True)
        r.add_handler("create_account", self.create_account, before_register=True)
        r.add_handler("logout", self.logout, before_register=True)
        r.add_handler("passwd", self.passwd, before_register=True)
        r.add_handler("delete_account", self.delete_account, before_register=True)
        r.nick_guard = self.guard_nick

    # -- nick protection ------------------------------------------------------------

    def guard_nick(self, client: Client, nick: str) -> None:
        """Refuse a registered nick to anyone but its account; make room for the owner."""
        if not self.accounts.exists(nick):
            return
        if client.account is None or nick_key(client.account) != nick_key(nick):
            raise Refusal(
                ErrorCode.NICK_IN_USE,
                f"{nick} is a registered account: log in to it to use this nick",
            )
        holder = self.router.presence.lookup(nick)
        if holder is not None and holder != client.conn:
            _log.info("conn %d: reclaimed its account nick from conn %d", client.conn, holder)
            self.router.rename(holder, self.router.guest_nick())

    def _release_account_nick(self, client: Client, account: str) -> None:
        """After logout or deletion: a guest may not keep a registered nick."""
        nick = client.nick
        if nick is not None and nick_key(nick) == nick_key(account) and self.accounts.exists(nick):
            self.router.rename(client.conn, self.router.guest_nick())

    # -- handlers (sync part) --------------------------------------------------------

    def _client(self, conn: int) -> Client:
        return self.router.clients[conn]

    def _logged_in_client(self, conn: int) -> tuple[Client, str]:
        client = self._client(conn)
        if client.account is None:
            raise Refusal(ErrorCode.AUTH_REQUIRED, "you are not logged in to an account")
        return client, client.account

    def login(self, conn: int, frame: Login) -> None:
        """Log in with a password (hashed off the loop) or a session token (no hashing)."""
        client = self._client(conn)
        if client.account is not None:
            raise Refusal(
                ErrorCode.FORBIDDEN, f"you are already logged in to {client.account}; log out first"
            )
        if frame.token is not None:
            try:
                self.accounts.login_token(frame.account, frame.token)
                account = self.accounts.get(frame.account)
                self.accounts.tokens.revoke(frame.token)  # rotate: one token, one use
                issued = self.accounts.tokens.issue(account.name)
            except ProtectionError as exc:
                self._failed(exc, "token")
            self._success(client, account.name, issued.token, issued.expires, frame.id)
            return
        password = frame.password
        if password is None:
            raise Refusal(ErrorCode.BAD_FRAME, "login needs a password or a token")

        async def run() -> None:
            issued = await self.accounts.login_async(frame.account, password, client.addr)
            name = self.accounts.get(frame.account).name
            if not self._still_here(client):
                self.accounts.tokens.revoke(issued.token)
                return
            self._success(client, name, issued.token, issued.expires, frame.id)

        self._defer(client, run, frame.id, "login")

    def create_account(self, conn: int, frame: CreateAccount) -> None:
        """Create the account named after the current nick and log in to it."""
        client = self._client(conn)
        nick = client.nick
        if nick is None:
            raise Refusal(
                ErrorCode.NOT_REGISTERED, "register a nick first: the account is named after it"
            )
        if client.account is not None:
            raise Refusal(ErrorCode.FORBIDDEN, f"you are already logged in to {client.account}")
        password = frame.password

        async def run() -> None:
            account = await self.accounts.create_async(nick, password)
            issued = self.accounts.tokens.issue(account.name)
            if not self._still_here(client):
                self.accounts.tokens.revoke(issued.token)
                return
            _log.info("conn %d: created account %s", conn, account.name)
            self._success(client, account.name, issued.token, issued.expires, frame.id)

        self._defer(client, run, frame.id, "create_account")

    def logout(self, conn: int, frame: Logout) -> None:
        """Revoke this connection's token and become a guest."""
        client, account = self._logged_in_client(conn)
        if client.token is not None:
            self.accounts.logout(client.token)
        client.account = None
        client.token = None
        _log.info("conn %d: logged out of %s", conn, account)
        self._release_account_nick(client, account)
        self.router.out.ok(conn, frame.id)

    def passwd(self, conn: int, frame: Passwd) -> None:
        """Change the password (needs the old one); every session is revoked."""
        client, account = self._logged_in_client(conn)
        old, new = frame.old, frame.new

        async def run() -> None:
            issued = await self.accounts.change_password_async(account, old, new, client.addr)
            self.close_sessions(account, "password changed", except_conn=conn)
            if self._still_here(client):
                self._success(client, account, issued.token, issued.expires, frame.id)

        self._defer(client, run, frame.id, "passwd")

    def delete_account(self, conn: int, frame: DeleteAccount) -> None:
        """Delete the account (needs its password); its nick and channel roles go with it."""
        client, account = self._logged_in_client(conn)
        password = frame.password

        async def run() -> None:
            await self.accounts.delete_async(account, password, client.addr)
            _log.info("conn %d: deleted account %s", conn, account)
            for other in list(self.router.clients.values()):
                if other.account is not None and nick_key(other.account) == nick_key(account):
                    other.account = None
                    other.token = None
            # whoever registers the name next must not inherit its channel roles
            for channel in self.router.registry.forget_identity(f"account:{nick_key(account)}"):
                self.router.refresh_roles(channel)
            if self._still_here(client):
                self.router.out.ok(conn, frame.id)

        self._defer(client, run, frame.id, "delete_account")

    # -- admin pick-up ------------------------------------------------------------------

    def close_sessions(self, account: str, reason: str, except_conn: int | None = None) -> int:
        """Close every connection logged in to *account* (admin disable, password change)."""
        closed = 0
        for client in list(self.router.clients.values()):
            if client.conn == except_conn or client.account is None or client.closing:
                continue
            if nick_key(client.account) == nick_key(account):
                client.closing = True
                client.quit_reason = reason
                self.router.out.close(client.conn, reason, ErrorCode.ACCOUNT_DISABLED)
                closed += 1
        return closed

    # -- helpers ------------------------------------------------------------------------

    def _still_here(self, client: Client) -> bool:
        return self.router.clients.get(client.conn) is client and not client.closing

    def _success(
        self, client: Client, account: str, token: str, expires: float, rid: str | None
    ) -> None:
        client.account = account
        client.token = token
        _log.info("conn %d: logged in to account %s", client.conn, account)
        reply = LoggedIn(id=rid, account=account, token=token, expires=expires)
        self.router.out.frame(client.conn, reply)

    def _failed(self, exc: ProtectionError, how: str) -> NoReturn:
        self.router.metrics.auth_failure(exc.code.value)
        _log.info("login by %s refused: %s", how, exc.code.value)
        raise Refusal(exc.code, str(exc), exc.retry_after) from None

    def _defer(
        self, client: Client, work: Callable[[], Awaitable[None]], rid: str | None, ref: str
    ) -> None:
        router = self.router

        async def job() -> Output:
            try:
                await work()
            except ProtectionError as exc:
                router.metrics.auth_failure(exc.code.value)
                _log.info("conn %d: %s refused: %s", client.conn, ref, exc.code.value)
                if self._still_here(client):
                    router.out.error(client.conn, exc.code, str(exc), rid, ref, exc.retry_after)
            return router.out.take()

        router.out.job(client.conn, job)
