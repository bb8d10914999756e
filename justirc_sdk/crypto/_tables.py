"""Per-peer session tables and per-channel sender-key tables used by the engine (internal)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ._primitives import b64d, b64e
from .ratchet import RatchetLimits, RatchetSession
from .sender_keys import OwnChain, PeerChain

MAX_SESSIONS = 3
"""Sessions kept per peer: the active one plus older ones for messages still in flight."""
MAX_RETIRED = 64
PEER_EPOCHS_KEPT = 2
"""Epochs kept per channel member (the current one and the one before, for stragglers)."""


@dataclass(slots=True)
class PeerTable:
    """All pairwise sessions with one peer."""

    sessions: OrderedDict[bytes, RatchetSession] = field(default_factory=OrderedDict)
    active: bytes | None = None
    epoch_hw: int = 0
    """Highest session epoch seen or started with this peer: older handshakes are stale."""
    retired: list[bytes] = field(default_factory=list)
    rekey: bool = False

    def current(self) -> RatchetSession | None:
        return None if self.active is None else self.sessions.get(self.active)

    def add(self, s: RatchetSession, make_active: bool) -> None:
        self.sessions[s.session_id] = s
        self.epoch_hw = max(self.epoch_hw, s.epoch)
        if make_active or self.active is None:
            self.active = s.session_id
        while len(self.sessions) > MAX_SESSIONS:
            victim = next(sid for sid in self.sessions if sid != self.active)
            del self.sessions[victim]
            self.retired = [*self.retired[-(MAX_RETIRED - 1) :], victim]

    def to_dict(self) -> dict[str, Any]:
        return {
            "sessions": [s.to_dict() for s in self.sessions.values()],
            "active": None if self.active is None else b64e(self.active),
            "epoch_hw": self.epoch_hw,
            "retired": [b64e(r) for r in self.retired],
            "rekey": self.rekey,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], limits: RatchetLimits) -> PeerTable:
        t = cls()
        for sd in d["sessions"]:
            s = RatchetSession.from_dict(sd, limits)
            t.sessions[s.session_id] = s
        t.active = None if d["active"] is None else b64d(d["active"])
        t.epoch_hw, t.rekey = d["epoch_hw"], d["rekey"]
        t.retired = [b64d(r) for r in d["retired"]]
        return t


@dataclass(slots=True)
class ChannelTable:
    """This member's view of one channel: members, own chain, other members' chains."""

    members: set[str] = field(default_factory=set)
    own: OwnChain | None = None
    own_epoch_hw: int = 0
    rotate: bool = False
    """A member left / was removed (or rotation was requested): new epoch before next send."""
    undistributed: bool = False
    """A member joined who has not been handed our current key yet."""
    peers: dict[str, dict[int, PeerChain]] = field(default_factory=dict)
    peer_epoch_hw: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "members": sorted(self.members),
            "own": None if self.own is None else self.own.to_dict(),
            "own_epoch_hw": self.own_epoch_hw,
            "rotate": self.rotate,
            "undistributed": self.undistributed,
            "peers": {
                nick: [c.to_dict() for c in chains.values()] for nick, chains in self.peers.items()
            },
            "peer_epoch_hw": self.peer_epoch_hw,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], limits: RatchetLimits) -> ChannelTable:
        t = cls(
            set(d["members"]),
            None if d["own"] is None else OwnChain.from_dict(d["own"]),
            d["own_epoch_hw"],
            d["rotate"],
            d["undistributed"],
        )
        for nick, chains in d["peers"].items():
            t.peers[nick] = {}
            for cd in chains:
                c = PeerChain.from_dict(cd, limits)
                t.peers[nick][c.epoch] = c
        t.peer_epoch_hw = dict(d["peer_epoch_hw"])
        return t
