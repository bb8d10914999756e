"""The message list's widgets: one per render block (:class:`~widgets.blocks.Block`).

A widget is kept while its block's key stays shown, and only its HTML is updated, so
appending a message touches one widget rather than rebuilding the list. Images are
shown from their bytes by an image widget, never as HTML; each file block has a
*Save* button.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w

from .blocks import Block
from .records import Entry

__all__: list[str] = []

_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}


def _block_widgets(
    shown: dict[str, Any], blocks: Sequence[Block], on_save: Callable[[Entry], None]
) -> tuple[dict[str, Any], list[Any]]:
    """The widgets for *blocks*: by key (the ones in *shown* reused) and in order.

    Widgets in *shown* whose block is gone are closed. *on_save* is called with a file
    entry when its *Save* button is pressed.
    """
    children = []
    keep: dict[str, Any] = {}
    for block in blocks:
        widget = shown.get(block.key) or _new_block_widget(block, on_save)
        if block.image is None and block.file is None and widget.value != block.html:
            widget.value = block.html
        keep[block.key] = widget
        children.append(widget)
    for key, widget in shown.items():
        if key not in keep:
            _close_block(widget)
    return keep, children


def _new_block_widget(block: Block, on_save: Callable[[Entry], None]) -> Any:
    """An HTML widget for messages; a box with a *Save* button or an image otherwise."""
    if block.file is not None:
        entry = block.file
        save = w.Button(description="Save", icon="download", tooltip="Save to the kernel's disk")
        save.add_class("justirc-save-file")
        save.on_click(lambda _b: on_save(entry))
        box = w.VBox([w.HTML(block.html), save])
        box.add_class("justirc-file-block")
        return box
    if block.image is None:
        html = w.HTML(block.html)
        html.add_class("justirc-html-block")
        return html
    entry = block.image
    image = w.Image(
        value=entry.image or b"",
        format=_IMAGE_FORMATS.get(entry.mime_type, "png"),
        width=min(entry.width or 320, 320),
    )
    image.add_class("justirc-image")
    box = w.VBox([w.HTML(block.html), image])
    box.add_class("justirc-image-block")
    return box


def _close_block(widget: Any) -> None:
    """Close a block's widget and its children (an image's or a file's HTML is large)."""
    for child in getattr(widget, "children", ()):
        child.close()
    widget.close()
