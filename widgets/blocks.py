"""Render blocks: a conversation's visible window cut into pieces the view can keep.

Messages are grouped into HTML blocks of up to :data:`BLOCK_SIZE`, and each image
and each file gets a block of its own. Block keys stay the same while messages are
appended and each block's HTML is cached, so the view only rebuilds what changed.
No ipywidgets here: :mod:`widgets.panel` turns blocks into widgets.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import render
from .records import Conversation, Entry

__all__ = ["BLOCK_SIZE", "Block"]

BLOCK_SIZE = 50
"""Messages per HTML block (one HTML widget each)."""


@dataclass(frozen=True, slots=True)
class Block:
    """One piece of the message list: an HTML block of messages, one image or one file.

    ``image`` is set for an image block (the view shows its bytes as an image under
    ``html``); ``file`` for a file block (``html`` holds its download link, if any).
    """

    key: str
    html: str
    image: Entry | None = None
    file: Entry | None = None


def _window_start(conv: Conversation) -> int:
    """Index of the first visible entry (aligned to blocks, so blocks stay stable)."""
    start = max(0, len(conv.entries) - conv.window)
    return (start // BLOCK_SIZE) * BLOCK_SIZE


class _BlockRenderer:
    """Builds the blocks of a conversation's visible window, reusing HTML built before."""

    def __init__(self) -> None:
        self._html_cache: dict[tuple[int, int], str] = {}
        self._file_html: dict[int, str] = {}  # visible file entries (data: links are big)

    def blocks(self, conv: Conversation, *, current: bool) -> list[Block]:
        """The blocks of *conv*'s visible window; *current* when the panel shows it."""
        start = _window_start(conv)
        out: list[Block] = []
        run: list[Entry] = []

        def flush() -> None:
            if run:
                cache_key = (run[0].id, run[-1].id)
                html = self._html_cache.get(cache_key)
                if html is None:
                    html = render.message_block(run)
                    self._html_cache[cache_key] = html
                out.append(Block(f"m{run[0].id}", html))
                run.clear()

        file_html: dict[int, str] = {}
        for index in range(start, len(conv.entries)):
            entry = conv.entries[index]
            if entry.kind == "image":
                flush()
                out.append(Block(f"i{entry.id}", render.image_header(entry), entry))
            elif entry.kind == "file":
                flush()
                html = self._file_html.get(entry.id) or render.file_entry(entry)
                file_html[entry.id] = html
                out.append(Block(f"f{entry.id}", html, file=entry))
            else:
                if run and (index - start) % BLOCK_SIZE == 0:
                    flush()
                run.append(entry)
        flush()
        if current:
            # keep only what the panel shows: a download link is the file again, in base64
            self._file_html = file_html
        else:
            self._file_html.update(file_html)
        if len(self._html_cache) > 4096:
            self._html_cache.clear()
        return out
