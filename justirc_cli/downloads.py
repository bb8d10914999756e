"""Saving received images and files safely.

The sender chooses the ``filename``, so it is untrusted input: only a sanitised stem
of it is kept (no directories, no leading dots, ``[A-Za-z0-9._-]``, at most 64
characters). For an image the extension comes from the MIME type the SDK validated
and a timestamp plus a counter make the name unique (:func:`safe_name`). For any
other file the sender's extension is kept, cleaned the same way (``[A-Za-z0-9]``, at
most 16 characters), and a counter goes before it when the name is taken
(:func:`safe_file_name`: ``data.csv``, ``data-1.csv``). Files are created with
``O_EXCL`` (never overwriting anything) and ``O_NOFOLLOW`` relative to the download
directory, readable by you only.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "MAX_EXTENSION",
    "MAX_STEM",
    "default_download_dir",
    "safe_file_name",
    "safe_name",
    "safe_stem",
    "save_file",
    "save_image",
]

MAX_STEM = 64
MAX_EXTENSION = 16
_ATTEMPTS = 10_000
_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_UNSAFE_EXTENSION = re.compile(r"[^A-Za-z0-9]+")
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{kind}{n}" for kind in ("COM", "LPT") for n in range(10)]
)


def default_download_dir() -> Path:
    """``~/Downloads/justirc`` when ``~/Downloads`` exists, else ``./downloads``."""
    home = Path.home() / "Downloads"
    return home / "justirc" if home.is_dir() else Path.cwd() / "downloads"


def _split(filename: str | None) -> tuple[str, str]:
    """The last path component of *filename* as (stem, extension), both uncleaned."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in name.lstrip("."):
        return name, ""
    stem, extension = name.rsplit(".", 1)
    return stem, extension


def _clean_stem(stem: str, default: str) -> str:
    stem = _UNSAFE.sub("_", stem).strip("._-")
    return stem[:MAX_STEM].rstrip("._-") or default


def safe_stem(filename: str | None) -> str:
    """A harmless stem from an untrusted file name (``image`` when nothing is left)."""
    return _clean_stem(_split(filename)[0], "image")


def safe_file_name(filename: str | None, counter: int = 0) -> str:
    """``stem[-N][.ext]``: the name a received file is saved under.

    Only the last path component of the untrusted *filename* counts; the stem is
    cleaned like :func:`safe_stem` (``file`` when nothing is left), the extension
    keeps letters and digits only. Never empty, never starting with a dot, never a
    directory: ``../../.bashrc`` gives ``bashrc``, ``x/../y.tar.gz`` gives ``y.tar.gz``.
    """
    stem, extension = _split(filename)
    stem = _clean_stem(stem, "file")
    if stem.split(".", 1)[0].upper() in _WINDOWS_DEVICES:
        stem = "_" + stem  # CON, NUL.txt...: devices, not files, on Windows
    extension = _UNSAFE_EXTENSION.sub("", extension)[:MAX_EXTENSION]
    suffix = f"-{counter}" if counter else ""
    return f"{stem}{suffix}{'.' + extension if extension else ''}"


def safe_name(filename: str | None, mime_type: str, when: float, counter: int = 0) -> str:
    """``20240131-154500-stem[-N].ext``: the name a received image is saved under."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    extension = _EXTENSIONS.get(mime_type, ".img")
    suffix = f"-{counter}" if counter else ""
    return f"{stamp}-{safe_stem(filename)}{suffix}{extension}"


def save_image(
    directory: Path, data: bytes, filename: str | None, mime_type: str, when: float | None = None
) -> Path:
    """Write image *data* to a new file in *directory* and return its path (blocking I/O).

    Creates the directory (mode 0700) if needed. Never overwrites, never follows a
    symlink for the file itself, and never leaves *directory*.
    """
    when = time.time() if when is None else when
    names = (safe_name(filename, mime_type, when, n) for n in range(_ATTEMPTS))
    return _create(directory, data, names)


def save_file(directory: Path, data: bytes, filename: str | None) -> Path:
    """Write any received file's *data* to a new file in *directory*; return its path.

    Named by :func:`safe_file_name` (the first free one of ``name``, ``name-1``, ...);
    otherwise as careful as :func:`save_image` (blocking I/O).
    """
    names = (safe_file_name(filename, n) for n in range(_ATTEMPTS))
    return _create(directory, data, names)


def _create(directory: Path, data: bytes, names: Iterable[str]) -> Path:
    """Write *data* under the first of *names* that does not exist yet in *directory*."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_BINARY", 0)
    use_dir_fd = os.open in os.supports_dir_fd
    dir_fd = os.open(directory, os.O_RDONLY) if use_dir_fd else None
    try:
        for name in names:
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
