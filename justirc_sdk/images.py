"""Image checks with Pillow: what may be sent, and what a received image must be.

Sending: the format must be PNG, JPEG, GIF or WebP, the file at most the configured
size (10 MB by default), the pixel count below a decompression-bomb limit, and
metadata (EXIF with GPS position, XMP, comments) is stripped by default. Receiving:
the decrypted bytes go through the same checks before an ``ImageMessage`` is emitted.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

from PIL import Image, UnidentifiedImageError

from .errors import ImageError
from .files import read_limited

__all__ = [
    "ALLOWED_FORMATS",
    "MAX_PIXELS",
    "ImageInput",
    "PreparedImage",
    "ProgressCallback",
    "check_image",
    "prepare_image",
]

ImageInput: TypeAlias = "str | Path | bytes | bytearray | Image.Image"
ProgressCallback: TypeAlias = Callable[[int, int], "Awaitable[None] | None"]

ALLOWED_FORMATS = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}
_EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp"}
MAX_PIXELS = 40_000_000
"""Images with more pixels are refused as possible decompression bombs."""

_METADATA_KEYS = ("exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop", "iptc")


@dataclass(frozen=True, slots=True)
class PreparedImage:
    """An image ready to encrypt: its final bytes and what the receiver is told."""

    data: bytes = field(repr=False)
    filename: str
    mime_type: str
    width: int
    height: int


def _open(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except (UnidentifiedImageError, Image.DecompressionBombWarning, OSError, ValueError) as e:
            raise ImageError(f"not a readable image: {e}") from e
        except Image.DecompressionBombError as exc:
            raise ImageError(f"image refused as a decompression bomb: {exc}") from exc
    if image.format not in ALLOWED_FORMATS:
        raise ImageError(
            f"{image.format or 'unknown'} images are not accepted; use PNG, JPEG, GIF or WebP"
        )
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageError(f"image of {width}x{height} pixels exceeds the {MAX_PIXELS:,} pixel limit")
    return image


def check_image(data: bytes, max_bytes: int) -> tuple[str, int, int]:
    """Validate image bytes fully (decoding every pixel); returns (MIME type, width, height)."""
    if len(data) > max_bytes:
        raise ImageError(f"image of {len(data):,} bytes exceeds the {max_bytes:,} byte limit")
    image = _open(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"image data is damaged: {exc}") from exc
    assert image.format is not None
    return ALLOWED_FORMATS[image.format], image.size[0], image.size[1]


def _has_metadata(image: Image.Image) -> bool:
    if any(key in image.info for key in _METADATA_KEYS):
        return True
    try:
        return len(image.getexif()) > 0
    except Exception:  # a damaged EXIF block is metadata we want gone
        return True


def _strip(image: Image.Image) -> bytes:
    fmt = image.format
    out = io.BytesIO()
    options: dict[str, Any] = {}
    if "icc_profile" in image.info:
        options["icc_profile"] = image.info["icc_profile"]
    if fmt == "JPEG":
        options["quality"] = "keep"
    elif fmt == "GIF" and getattr(image, "n_frames", 1) > 1:
        options["save_all"] = True
    elif fmt == "WEBP":
        options["lossless"] = image.info.get("lossless", False)
        if getattr(image, "n_frames", 1) > 1:
            options["save_all"] = True
    image.save(out, format=fmt, **options)
    return out.getvalue()


def prepare_image(
    image: ImageInput,
    *,
    max_bytes: int,
    filename: str | None = None,
    strip_metadata: bool = True,
) -> PreparedImage:
    """Read, validate and (by default) strip metadata from an image to be sent.

    *image* may be a path, the file's bytes, or a :class:`PIL.Image.Image` (saved as
    PNG). Raises :class:`~justirc_sdk.errors.ImageError` for anything unacceptable.
    """
    if isinstance(image, Image.Image):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        data = buffer.getvalue()
        filename = filename or "image.png"
    elif isinstance(image, bytes | bytearray):
        data = bytes(image)
    else:
        path = Path(image)
        data = read_limited(path, max_bytes, too_large=ImageError, unreadable=ImageError)
        filename = filename or path.name
    if len(data) > max_bytes:
        raise ImageError(f"image of {len(data):,} bytes exceeds the {max_bytes:,} byte limit")
    opened = _open(data)
    fmt = opened.format
    assert fmt is not None
    if strip_metadata and _has_metadata(opened):
        data = _strip(opened)
    # the header is enough here (format, size, pixel count): the receiver decodes every
    # pixel before showing anything, so the sender need not pay for a full decode too
    final = _open(data)
    assert final.format is not None
    mime, (width, height) = ALLOWED_FORMATS[final.format], final.size
    name = Path(filename).name if filename else f"image{_EXTENSIONS[fmt]}"
    return PreparedImage(data, name[:200] or "image", mime, width, height)
