"""How each SDK event changes the chat panel's model (:class:`~widgets.state.ChatState`).

Messages, images and files become entries; joins, parts, kicks, role, topic and nick
changes update members and add notices; key changes raise alerts that block sending
until acknowledged; connection events and errors go to the status line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from justirc_sdk import events as ev
from justirc_sdk.protocol import nick_key

from .records import KeyAlert

if TYPE_CHECKING:
    from .state import ChatState

__all__: list[str] = []


def _apply(state: ChatState, event: ev.Event) -> None:
    """Update *state* from one SDK event."""
    if isinstance(event, ev.Message):
        where = event.channel or event.sender
        state.add_message(
            where,
            event.sender,
            event.text,
            event.timestamp,
            verified=event.verified,
            action=event.action,
        )
    elif isinstance(event, ev.ImageMessage):
        state.add_image(
            event.channel or event.sender,
            event.sender,
            event.data,
            event.timestamp,
            filename=event.filename,
            mime_type=event.mime_type,
            width=event.width,
            height=event.height,
            caption=event.caption,
            verified=event.verified,
        )
    elif isinstance(event, ev.FileMessage):
        state.add_file(
            event.channel or event.sender,
            event.sender,
            event.data,
            event.timestamp,
            filename=event.filename,
            mime_type=event.mime_type,
            caption=event.caption,
            verified=event.verified,
        )
    elif isinstance(event, ev.ChannelJoined):
        known = state.conversation(event.channel, create=False)
        already = known is not None and known.joined  # loaded when the panel was built
        state.load_channel(event.channel, event.members, event.topic)
        if not already:
            state.add_notice(event.channel, f"You joined {event.channel}.")
    elif isinstance(event, ev.ChannelLeft):
        conv = state.conversation(event.channel, create=False)
        if conv is not None:
            conv.joined, conv.members = False, {}
            reason = f" ({event.reason})" if event.reason else ""
            state.add_notice(conv.key, f"You left {conv.name}{reason}.")
            state._touch(conv, "members", "security")
    elif isinstance(event, ev.MemberJoined):
        conv = state.conversation(event.channel, create=False)
        if conv is not None:
            conv.members[event.nick] = event.role
            state.add_notice(conv.key, f"{event.nick} joined.")
            state._touch(conv, "members")
    elif isinstance(event, ev.MemberLeft | ev.Kicked):
        _member_gone(state, event)
    elif isinstance(event, ev.RoleChanged):
        conv = state.conversation(event.channel, create=False)
        if conv is not None:
            conv.members[event.nick] = event.role
            state.add_notice(conv.key, f"{event.by} made {event.nick} {event.role}.")
            state._touch(conv, "members")
    elif isinstance(event, ev.TopicChanged):
        conv = state.conversation(event.channel, create=False)
        if conv is not None:
            conv.topic = event.topic
            state.add_notice(conv.key, f"{event.by} set the topic: {event.topic or '(none)'}")
            state._touch(conv, "topic")
    elif isinstance(event, ev.NickChanged):
        _rename(state, event.old, event.new)
    elif isinstance(event, ev.KeyChanged):
        key = nick_key(event.nick)
        state.alerts[key] = KeyAlert(event.nick, event.old_fingerprint, event.new_fingerprint)
        state.trust[key] = "changed"
        state.safety_numbers.pop(key, None)
        conv = state.conversation(event.nick, create=False)
        if conv is not None:
            state.add_notice(conv.key, f"{event.nick}'s identity key changed.")
        state.dirty.update(("security", "status"))
    elif isinstance(event, ev.DecryptionFailed):
        where = event.channel or event.sender
        state.add_notice(where, f"A message from {event.sender} could not be decrypted.")
    elif isinstance(event, ev.KeysRotated):
        conv = state.conversation(event.peer, create=False)
        if conv is not None:
            state.add_notice(conv.key, f"Keys rotated by {event.by} (epoch {event.epoch}).")
    elif isinstance(event, ev.Invited):
        state.status = f"{event.by} invited you to {event.channel}."
        state.dirty.add("status")
    elif isinstance(event, ev.Disconnected):
        state.connected = False
        state.status = f"Disconnected: {event.reason}" + (
            " (reconnecting...)" if event.will_reconnect else ""
        )
        state.dirty.update(("status", "security"))
    elif isinstance(event, ev.Reconnected):
        state.connected = True
        state.status = "Reconnected."
        state.dirty.update(("status", "security"))
    elif isinstance(event, ev.ErrorReceived):
        state.status = f"Server error: {event.message}"
        state.dirty.add("status")
    elif isinstance(event, ev.EventsDropped):
        state.status = f"{event.count} events were dropped (the panel fell behind)."
        state.dirty.add("status")


def _member_gone(state: ChatState, event: ev.MemberLeft | ev.Kicked) -> None:
    """A member left or was kicked; a kick of ourselves means we are out of the channel."""
    conv = state.conversation(event.channel, create=False)
    if conv is None:
        return
    conv.members.pop(event.nick, None)
    if isinstance(event, ev.Kicked):
        how = "banned" if event.banned else "kicked"
        text = f"{event.nick} was {how} by {event.by}."
        if nick_key(event.nick) == nick_key(state.own_nick):
            conv.joined, conv.members = False, {}
    else:
        text = f"{event.nick} left."
    if event.reason:
        text += f" ({event.reason})"
    state.add_notice(conv.key, text)
    state._touch(conv, "members", "security")


def _rename(state: ChatState, old: str, new: str) -> None:
    """A nick change: our own nick, member lists, and the private conversation's key."""
    if nick_key(old) == nick_key(state.own_nick):
        state.own_nick = new
    for conv in state.conversations.values():
        if old in conv.members:
            conv.members[new] = conv.members.pop(old)
            state.add_notice(conv.key, f"{old} is now {new}.")
            state._touch(conv, "members")
    old_key, new_key = nick_key(old), nick_key(new)
    private = state.conversations.get(old_key)
    if private is not None and new_key not in state.conversations:
        del state.conversations[old_key]
        private.key, private.name = new_key, new
        state.conversations[new_key] = private
        if state.current == old_key:
            state.current = new_key
        state.dirty.update(("conversations", "security"))
