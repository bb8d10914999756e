"""JustIRC SDK: end-to-end encrypted chat on anyio (asyncio and trio)."""

from __future__ import annotations

from .errors import JustIRCError

__all__ = ["JustIRCError"]
