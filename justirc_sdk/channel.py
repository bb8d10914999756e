"""The :class:`Channel` object: one channel you are in, and what you can do there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import protocol as p
from .errors import NotInChannel

if TYPE_CHECKING:
    from ._state import ChannelState
    from .files import FileInput
    from .images import ImageInput, ProgressCallback
    from .session import Session

__all__ = ["Channel"]


class Channel:
    """A channel you are in. Obtain it from :meth:`Session.join` or :meth:`Session.channel`.

    Its properties always show the session's current view (members, roles, topic,
    modes); its methods send end-to-end encrypted messages and moderation requests.
    Moderation needs the right role and raises :class:`~justirc_sdk.errors.Forbidden`
    otherwise.
    """

    def __init__(self, session: Session, name: str) -> None:
        self._session = session
        self._name = name

    def __repr__(self) -> str:
        return f"<Channel {self._name} ({len(self.members)} members)>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Channel) and (
            self._session is other._session
            and p.channel_key(self._name) == p.channel_key(other._name)
        )

    def __hash__(self) -> int:
        return hash(p.channel_key(self._name))

    @property
    def session(self) -> Session:
        """The session this channel belongs to."""
        return self._session

    @property
    def name(self) -> str:
        """The channel's name as the server spells it."""
        return self._name

    @property
    def joined(self) -> bool:
        """True while you are in the channel."""
        return self._session.state.channel(self._name) is not None

    def _state(self) -> ChannelState:
        state = self._session.state.channel(self._name)
        if state is None:
            raise NotInChannel(f"you are not in {self._name}")
        return state

    @property
    def members(self) -> dict[str, str]:
        """Members and their roles (``owner``, ``op``, ``mod``, ``member``)."""
        state = self._session.state.channel(self._name)
        return dict(state.members) if state is not None else {}

    @property
    def topic(self) -> str | None:
        """The channel topic, or ``None``."""
        state = self._session.state.channel(self._name)
        return state.topic if state is not None else None

    @property
    def modes(self) -> p.ChannelModes:
        """The channel's current modes."""
        return self._state().modes

    @property
    def my_role(self) -> str | None:
        """Your own role here."""
        state = self._session.state.channel(self._name)
        return state.role_of(self._session.nick) if state is not None else None

    # -- messages ---------------------------------------------------------------------

    async def send(self, text: str, *, action: bool = False) -> None:
        """Send an end-to-end encrypted message to every member."""
        await self._session._messaging.send_channel_text(self._name, text, action=action)

    async def send_image(
        self,
        image: ImageInput,
        caption: str | None = None,
        progress: ProgressCallback | None = None,
        *,
        filename: str | None = None,
        strip_metadata: bool = True,
    ) -> None:
        """Send an image (a path, bytes or a PIL image), encrypted, to every member."""
        await self._session._messaging.send_image(
            None, self._name, image, caption, progress, filename, strip_metadata
        )

    async def send_file(
        self,
        file: FileInput,
        caption: str | None = None,
        progress: ProgressCallback | None = None,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
    ) -> None:
        """Send any file (a path or its bytes), encrypted, to every member."""
        await self._session._messaging.send_file(
            None, self._name, file, caption, progress, filename, mime_type
        )

    async def rotate_keys(self) -> None:
        """Start a new sender-key epoch for this channel now."""
        await self._session.rotate_keys(self._name)

    async def leave(self, reason: str | None = None) -> None:
        """Leave the channel."""
        await self._session._request(p.Part(channel=self._name, reason=reason))

    part = leave

    async def refresh(self) -> dict[str, str]:
        """Ask the server for the member list again and return it."""
        reply = await self._session._request(p.Names(channel=self._name))
        assert isinstance(reply, p.NamesReply)
        return dict(reply.members)

    # -- moderation -------------------------------------------------------------------

    async def set_topic(self, topic: str) -> None:
        """Set the topic (empty clears it); op and up unless topic-lock is off."""
        await self._session._request(p.Topic(channel=self._name, topic=topic))

    async def kick(self, nick: str, reason: str | None = None) -> None:
        """Remove *nick* from the channel (mod and up; kicking a mod needs op)."""
        await self._session._request(p.Kick(channel=self._name, nick=nick, reason=reason))

    async def ban(
        self, nick: str, reason: str | None = None, duration: float | None = None
    ) -> None:
        """Ban *nick* (op and up), for *duration* seconds or for good; kicks them if here."""
        await self._session._request(
            p.Ban(channel=self._name, nick=nick, reason=reason, duration=duration)
        )

    async def unban(self, nick: str) -> None:
        """Lift the ban on *nick* (op and up)."""
        await self._session._request(p.Unban(channel=self._name, nick=nick))

    async def bans(self) -> list[p.BanEntry]:
        """The channel's bans (op and up)."""
        reply = await self._session._request(p.Bans(channel=self._name))
        assert isinstance(reply, p.BanList)
        return list(reply.bans)

    async def invite(self, nick: str) -> None:
        """Invite *nick*, letting them past invite-only."""
        await self._session._request(p.Invite(channel=self._name, nick=nick))

    async def set_mode(
        self,
        *,
        invite_only: bool | None = None,
        moderated: bool | None = None,
        secret: bool | None = None,
        topic_lock: bool | None = None,
        limit: int | None = None,
        password: str | None = None,
    ) -> None:
        """Change modes (op and up); arguments left ``None`` stay as they are.

        ``limit=0`` removes the member limit; ``password=""`` removes the password.
        """
        await self._session._request(
            p.Mode(
                channel=self._name,
                invite_only=invite_only,
                moderated=moderated,
                secret=secret,
                topic_lock=topic_lock,
                limit=limit,
                password=password,
            )
        )
        if password is not None:
            state = self._session.state.channel(self._name)
            if state is not None:
                state.password = password or None

    async def _set_role(self, nick: str, role: str) -> None:
        await self._session._request(p.Role(channel=self._name, nick=nick, role=role))

    async def op(self, nick: str) -> None:
        """Make *nick* an op (owner only)."""
        await self._set_role(nick, "op")

    async def deop(self, nick: str) -> None:
        """Take op from *nick* (owner only)."""
        await self._set_role(nick, "member")

    async def mod(self, nick: str) -> None:
        """Make *nick* a mod (op and up)."""
        await self._set_role(nick, "mod")

    async def unmod(self, nick: str) -> None:
        """Take mod from *nick* (op and up)."""
        await self._set_role(nick, "member")

    async def transfer(self, nick: str) -> None:
        """Hand ownership to *nick* (owner only); you become an op."""
        await self._session._request(p.Transfer(channel=self._name, nick=nick))
