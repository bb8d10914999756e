"""The root of every exception the SDK raises.

Everything the SDK raises on purpose derives from :class:`JustIRCError`, so a caller
can catch one class and still tell the cases apart by subclass.
"""

from __future__ import annotations

__all__ = ["JustIRCError"]


class JustIRCError(Exception):
    """Base class of every error raised by ``justirc_sdk``."""
