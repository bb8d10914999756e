"""The channel permission matrix as pure functions over role names.

Roles rank owner > op > mod > member. The rules (from issue #2):

* kick: mods may kick members, ops may kick mods and members; in general the actor must
  outrank the target, so only the owner may kick an op;
* ban / unban / list bans: op and up, and a ban's target must also rank below the actor;
* grant or revoke mod: op and up; grant or revoke op, and transfer ownership: owner only;
* topic: op and up when the channel's topic lock is on, any member when it is off;
* modes and invites: op and up; speaking in a moderated channel: mod and up;
* nobody kicks, bans or re-roles themselves or the owner (checked by the router, which
  knows who is who).
"""

from __future__ import annotations

__all__ = [
    "RANK",
    "can_ban",
    "can_invite",
    "can_kick",
    "can_list_bans",
    "can_set_mode",
    "can_set_role",
    "can_set_topic",
    "can_speak",
    "can_transfer",
    "can_unban",
    "outranks",
]

RANK = {"owner": 3, "op": 2, "mod": 1, "member": 0}


def outranks(actor: str, target: str) -> bool:
    """True when *actor*'s role is strictly above *target*'s."""
    return RANK[actor] > RANK[target]


def _at_least(role: str, needed: str) -> bool:
    return RANK[role] >= RANK[needed]


def can_kick(actor: str, target: str) -> bool:
    """Mods kick members, ops kick mods too, the owner kicks anyone below them."""
    return _at_least(actor, "mod") and target != "owner" and outranks(actor, target)


def can_ban(actor: str, target: str) -> bool:
    """Ops and the owner ban anyone ranked below them (never the owner)."""
    return _at_least(actor, "op") and target != "owner" and outranks(actor, target)


def can_unban(actor: str) -> bool:
    """Ops and the owner lift bans."""
    return _at_least(actor, "op")


def can_list_bans(actor: str) -> bool:
    """Ops and the owner see the ban list."""
    return _at_least(actor, "op")


def can_set_role(actor: str, target: str, new_role: str) -> bool:
    """Ops grant/revoke mod; only the owner grants or revokes op; the owner is untouchable."""
    if target == "owner" or new_role == "owner":
        return False
    if new_role == "op" or target == "op":
        return actor == "owner"
    return _at_least(actor, "op")


def can_transfer(actor: str) -> bool:
    """Only the owner hands over ownership."""
    return actor == "owner"


def can_set_topic(actor: str, topic_lock: bool) -> bool:
    """Op and up under topic lock; any member otherwise."""
    return _at_least(actor, "op") or not topic_lock


def can_set_mode(actor: str) -> bool:
    """Ops and the owner change modes and the channel password."""
    return _at_least(actor, "op")


def can_invite(actor: str) -> bool:
    """Ops and the owner invite."""
    return _at_least(actor, "op")


def can_speak(actor: str, moderated: bool) -> bool:
    """Everyone speaks unless the channel is moderated; then mod and up."""
    return not moderated or _at_least(actor, "mod")
