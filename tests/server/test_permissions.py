"""Every cell of the permission matrix, over real sockets.

A staffed channel has two users of each role (one owner): actor and target are the
first user of their role, or the second when both roles are the same.
"""

from __future__ import annotations

from typing import Any

import pytest

from .client import RawClient
from .conftest import User

ROLES = ("owner", "op", "mod", "member")
STAFF = {
    "owner": ["owner1"],
    "op": ["op1", "op2"],
    "mod": ["mod1", "mod2"],
    "member": ["member1", "member2"],
}
CHANNEL = "#staffed"


def staffed(user: User) -> dict[str, RawClient]:
    clients = {nick: user(nick) for nicks in STAFF.values() for nick in nicks}
    for client in clients.values():
        assert client.join(CHANNEL)["type"] == "joined"
    owner = clients["owner1"]
    for role in ("op", "mod"):
        for nick in STAFF[role]:
            reply = owner.request({"type": "role", "channel": CHANNEL, "nick": nick, "role": role})
            assert reply["type"] == "role_changed", reply
    return clients


def pick(actor_role: str, target_role: str) -> tuple[str, str]:
    actor = STAFF[actor_role][0]
    target = STAFF[target_role][1 if actor_role == target_role else 0]
    return actor, target


def act(clients: dict[str, RawClient], actor: str, frame: dict[str, Any]) -> dict[str, Any]:
    return clients[actor].request({"channel": CHANNEL, **frame})


def cells(allowed: set[tuple[str, str]]) -> list[Any]:
    return [
        pytest.param(a, t, (a, t) in allowed, id=f"{a}-{t}")
        for a in ROLES
        for t in ROLES
        if not (a == "owner" and t == "owner")
    ]


KICK_ALLOWED = {
    ("owner", "op"),
    ("owner", "mod"),
    ("owner", "member"),
    ("op", "mod"),
    ("op", "member"),
    ("mod", "member"),
}
BAN_ALLOWED = {
    ("owner", "op"),
    ("owner", "mod"),
    ("owner", "member"),
    ("op", "mod"),
    ("op", "member"),
}


@pytest.mark.parametrize(("actor_role", "target_role", "allowed"), cells(KICK_ALLOWED))
def test_kick_matrix(user: User, actor_role: str, target_role: str, allowed: bool) -> None:
    clients = staffed(user)
    actor, target = pick(actor_role, target_role)
    reply = act(clients, actor, {"type": "kick", "nick": target})
    if allowed:
        assert (reply["type"], reply["nick"], reply["by"]) == ("kicked", target, actor)
        clients[target].expect("kicked", nick=target)
        names = act(clients, actor, {"type": "names"})
        assert target not in names["members"]
    else:
        assert (reply["type"], reply["code"]) == ("error", "forbidden")


@pytest.mark.parametrize(("actor_role", "target_role", "allowed"), cells(BAN_ALLOWED))
def test_ban_matrix(user: User, actor_role: str, target_role: str, allowed: bool) -> None:
    clients = staffed(user)
    actor, target = pick(actor_role, target_role)
    reply = act(clients, actor, {"type": "ban", "nick": target})
    if allowed:
        assert (reply["type"], reply["nick"], reply["by"]) == ("banned", target, actor)
        clients[target].expect("banned", nick=target)
        assert clients[target].join(CHANNEL)["code"] == "banned"
        lifted = act(clients, actor, {"type": "unban", "nick": target})
        assert lifted["type"] == "unbanned"
        assert clients[target].join(CHANNEL)["type"] == "joined"
    else:
        assert (reply["type"], reply["code"]) == ("error", "forbidden")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ["kick", "ban"])
def test_nobody_kicks_or_bans_themselves(user: User, role: str, action: str) -> None:
    clients = staffed(user)
    actor = STAFF[role][0]
    reply = act(clients, actor, {"type": action, "nick": actor})
    assert reply["code"] == "forbidden"


# role changes: (actor, target's current role, new role) -> allowed
ROLE_CASES = [
    (actor, current, new, allowed)
    for actor in ROLES
    for current, new, needs in [
        ("member", "mod", "op"),  # grant mod
        ("mod", "member", "op"),  # revoke mod
        ("member", "op", "owner"),  # grant op
        ("op", "member", "owner"),  # revoke op
        ("op", "mod", "owner"),  # demote op to mod
        ("mod", "op", "owner"),  # promote mod to op
    ]
    for allowed in [ROLES.index(actor) <= ROLES.index(needs)]
    if actor != current
]


@pytest.mark.parametrize(
    ("actor_role", "current", "new", "allowed"),
    [pytest.param(*case, id=f"{case[0]}:{case[1]}->{case[2]}") for case in ROLE_CASES],
)
def test_role_matrix(user: User, actor_role: str, current: str, new: str, allowed: bool) -> None:
    clients = staffed(user)
    actor, target = pick(actor_role, current)
    reply = act(clients, actor, {"type": "role", "nick": target, "role": new})
    if allowed:
        assert (reply["type"], reply["nick"], reply["role"]) == ("role_changed", target, new)
        names = act(clients, actor, {"type": "names"})
        assert names["members"][target] == new
    else:
        assert reply["code"] == "forbidden"


@pytest.mark.parametrize("role", ["op", "mod", "member"])
def test_same_rank_cannot_change_each_others_roles(user: User, role: str) -> None:
    clients = staffed(user)
    actor, target = pick(role, role)
    reply = act(clients, actor, {"type": "role", "nick": target, "role": "member"})
    assert reply["code"] == "forbidden"


@pytest.mark.parametrize("role", ["op", "mod", "member"])
def test_nobody_changes_the_owners_role(user: User, role: str) -> None:
    clients = staffed(user)
    reply = act(clients, STAFF[role][0], {"type": "role", "nick": "owner1", "role": "member"})
    assert reply["code"] == "forbidden"


@pytest.mark.parametrize("role", ROLES)
def test_transfer_is_owner_only(user: User, role: str) -> None:
    clients = staffed(user)
    actor = STAFF[role][0]
    reply = act(clients, actor, {"type": "transfer", "nick": "member2"})
    if role == "owner":
        assert (reply["type"], reply["nick"], reply["role"]) == ("role_changed", "member2", "owner")
        names = act(clients, actor, {"type": "names"})
        assert names["members"]["member2"] == "owner"
        assert names["members"]["owner1"] == "op"
    else:
        assert reply["code"] == "forbidden"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("locked", [True, False])
def test_topic_matrix(user: User, role: str, locked: bool) -> None:
    clients = staffed(user)
    if not locked:
        act(clients, "owner1", {"type": "mode", "topic_lock": False})
    reply = act(clients, STAFF[role][0], {"type": "topic", "topic": f"by {role}"})
    if not locked or role in ("owner", "op"):
        assert (reply["type"], reply["topic"]) == ("topic_changed", f"by {role}")
    else:
        assert reply["code"] == "forbidden"


OP_AND_UP = ("owner", "op")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("frame", "answer"),
    [
        ({"type": "mode", "moderated": True}, "mode_changed"),
        ({"type": "invite", "nick": "outsider"}, "ok"),
        ({"type": "bans"}, "ban_list"),
        ({"type": "unban", "nick": "outsider"}, "unbanned"),
    ],
    ids=["mode", "invite", "bans", "unban"],
)
def test_op_and_up_commands(user: User, role: str, frame: dict[str, Any], answer: str) -> None:
    clients = staffed(user)
    user("outsider")
    act(clients, "owner1", {"type": "ban", "nick": "outsider"})
    reply = act(clients, STAFF[role][0], frame)
    if role in OP_AND_UP:
        assert reply["type"] == answer
    else:
        assert reply["code"] == "forbidden"


@pytest.mark.parametrize("role", ROLES)
def test_moderated_speaking_matrix(user: User, role: str) -> None:
    clients = staffed(user)
    act(clients, "owner1", {"type": "mode", "moderated": True})
    reply = act(clients, STAFF[role][0], {"type": "chanmsg", "payload": "eA=="})
    if role in ("owner", "op", "mod"):
        assert reply["type"] == "ok"
    else:
        assert reply["code"] == "moderated"


def test_commands_require_membership(user: User) -> None:
    clients = staffed(user)
    outsider = user("outsider")
    for frame in (
        {"type": "kick", "nick": "member1"},
        {"type": "topic", "topic": "x"},
        {"type": "mode", "secret": True},
        {"type": "ban", "nick": "member1"},
    ):
        assert outsider.request({"channel": CHANNEL, **frame})["code"] == "not_in_channel"
    assert act(clients, "owner1", {"type": "kick", "nick": "outsider"})["code"] == "not_in_channel"
    assert act(clients, "owner1", {"type": "kick", "nick": "ghost"})["code"] == "no_such_nick"
