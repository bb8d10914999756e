"""The server's own exception hierarchy (separate from the SDK's ``JustIRCError``)."""

from __future__ import annotations

__all__ = ["ConfigError", "DataDirError", "ServerError", "StoreError"]


class ServerError(Exception):
    """Base class of every error the server raises on purpose."""


class ConfigError(ServerError):
    """A setting is missing, malformed or unsafe; the message says which and how to fix it."""


class DataDirError(ConfigError):
    """The data directory cannot be created, read or written."""


class StoreError(ServerError):
    """The SQLite store cannot be opened or its schema is newer than this server."""
