"""Logging setup for the server: plain text or one JSON object per line.

The server logs connection ids, account names, addresses and error codes; it never
logs frame payloads, passwords or session tokens (the code never passes them to a
logger, and tests grep DEBUG logs of a full session for them).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import TextIO

__all__ = ["JsonFormatter", "configure_logging"]

_PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """``{"ts": ..., "level": ..., "logger": ..., "message": ...}`` per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": round(record.created, 6),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, fmt: str, stream: TextIO | None = None) -> logging.Handler:
    """Send the root logger's records to *stream* (stderr) in *fmt* (``plain``/``json``)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_PLAIN))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
