"""Saving received images safely.

The sender chooses the image's ``filename``, so it is untrusted input: only a
sanitised stem of it is kept (no directories, no leading dots, ``[A-Za-z0-9._-]``,
at most 64 characters), the extension comes from the MIME type the SDK validated,
and a timestamp plus a counter make the name unique. Files are created with
``O_EXCL`` (never overwriting anything) and ``O_NOFOLLOW`` relative to the download
directory, readable by you only.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

__all__ = ["MAX_STEM", "default_download_dir", "safe_name", "safe_stem", "save_image"]

MAX_STEM = 64
_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_download_dir() -> Path:
    """``~/Downloads/justirc`` when ``~/Downloads`` exists, else ``./downloads``."""
    home = Path.home() / "Downloads"
    return home / "justirc" if home.is_dir() else Path.cwd() / "downloads"


def safe_stem(filename: str | None) -> str:
    """A harmless stem from an untrusted file name (``image`` when nothing is left)."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    stem = _UNSAFE.sub("_", stem).strip("._-")
    return stem[:MAX_STEM].rstrip("._-") or "image"


def safe_name(filename: str | None, mime_type: str, when: float, counter: int = 0) -> str:
    """``20240131-154500-stem[-N].ext``: the name a received image is saved under."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    extension = _EXTENSIONS.get(mime_type, ".img")
    suffix = f"-{counter}" if counter else ""
    return f"{stamp}-{safe_stem(filename)}{suffix}{extension}"


def save_image(
    directory: Path, data: bytes, filename: str | None, mime_type: str, when: float | None = None
) -> Path:
    """Write *data* to a new file in *directory* and return its path (blocking I/O).

    Creates the directory (mode 0700) if needed. Never overwrites, never follows a
    symlink for the file itself, and never leaves *directory*.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    when = time.time() if when is None else when
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_BINARY", 0)
    use_dir_fd = os.open in os.supports_dir_fd
    dir_fd = os.open(directory, os.O_RDONLY) if use_dir_fd else None
    try:
        for counter in range(10_000):
            name = safe_name(filename, mime_type, when, counter)
            if os.sep in name or (os.altsep and os.altsep in name) or name.startswith("."):
                raise ValueError(f"refusing unsafe file name {name!r}")  # cannot happen
            try:
                if dir_fd is not None:
                    fd = os.open(name, flags, 0o600, dir_fd=dir_fd)
                else:
                    fd = os.open(directory / name, flags, 0o600)
            except FileExistsError:
                continue
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            return directory / name
    finally:
        if dir_fd is not None:
            os.close(dir_fd)
    raise FileExistsError(f"could not find a free file name in {directory}")
