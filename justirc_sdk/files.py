"""Files to send and received files' metadata: reading, size limits and safe names.

A received file's name and MIME type come from its sender: :func:`safe_filename` and
:func:`safe_mime` make them harmless to show and to save (a bare name, never a path),
but nothing checks a file's *content*. Treat received files as untrusted.
"""

from __future__ import annotations

import mimetypes
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TypeAlias

from .errors import FileError, FileTooLarge, JustIRCError

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "FileInput",
    "PreparedFile",
    "format_size",
    "prepare_file",
    "read_limited",
    "safe_filename",
    "safe_mime",
]

FileInput: TypeAlias = "str | os.PathLike[str] | bytes | bytearray"

DEFAULT_MAX_FILE_BYTES = 25 * 1024 * 1024
"""Largest file sent or accepted by default (``Session.connect(max_file_bytes=...)``)."""

_MAX_NAME = 200
_TOKEN = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}"
_MIME_RE = re.compile(f"{_TOKEN}/{_TOKEN}")
_FALLBACK_MIME = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class PreparedFile:
    """A file ready to encrypt: its bytes and what the receiver is told."""

    data: bytes = field(repr=False)
    filename: str
    mime_type: str


def safe_filename(name: str, default: str = "file") -> str:
    """*name* reduced to a bare file name that is safe to show and to save.

    Directories (``/`` and ``\\``) are dropped, control and format characters removed,
    leading dots stripped (no hidden files, no ``..``), and the result capped at 200
    characters; an empty result becomes *default*.
    """
    base = PurePosixPath(name.replace("\\", "/")).name
    cleaned = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    cleaned = cleaned.lstrip(".").strip()
    return cleaned[:_MAX_NAME] or default


def format_size(size: int) -> str:
    """A byte count for people, in binary multiples: ``812 B``, ``1.2 KiB``, ``146 KiB``,
    ``3.4 MiB`` (one decimal below 10 of a unit)."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"


def safe_mime(mime: object) -> str:
    """A declared MIME type if it has the ``type/subtype`` shape, else octet-stream."""
    if isinstance(mime, str) and _MIME_RE.fullmatch(mime):
        return mime.lower()
    return _FALLBACK_MIME


def read_limited(
    path: Path,
    max_bytes: int,
    *,
    too_large: type[JustIRCError],
    unreadable: type[JustIRCError],
) -> bytes:
    """The bytes of *path*, refused with *too_large* before reading when it is larger
    than *max_bytes*, and with *unreadable* when it cannot be read."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise too_large(f"{path.name} is {size:,} bytes; the limit is {max_bytes:,}")
        return path.read_bytes()
    except OSError as exc:
        raise unreadable(f"cannot read {path}: {exc.strerror or exc}") from exc


def prepare_file(
    file: FileInput,
    *,
    max_bytes: int,
    filename: str | None = None,
    mime_type: str | None = None,
) -> PreparedFile:
    """Read *file* (a path or its bytes) and check its size; guess the MIME type.

    Raises :class:`~justirc_sdk.errors.FileTooLarge` above *max_bytes* (checked before
    reading a path) and :class:`~justirc_sdk.errors.FileError` for an unreadable path.
    """
    if isinstance(file, bytes | bytearray):
        data = bytes(file)
        name = filename or "file"
    else:
        path = Path(file)
        data = read_limited(path, max_bytes, too_large=FileTooLarge, unreadable=FileError)
        name = filename or path.name
    if len(data) > max_bytes:
        raise FileTooLarge(f"file of {len(data):,} bytes exceeds the {max_bytes:,} byte limit")
    name = safe_filename(name)
    mime = mime_type or mimetypes.guess_type(name)[0] or _FALLBACK_MIME
    return PreparedFile(data, name, safe_mime(mime))
