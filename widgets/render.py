"""HTML for the chat panel. Every user-supplied string goes through :func:`html.escape`.

Senders, message text, captions, filenames, MIME types, topics, nicks and fingerprints
all come from other people (or the server); none of them is ever inserted unescaped.
The only URL the panel ever writes is a ``data:application/octet-stream;base64,...``
download link built here from a file's bytes. The CSS
uses JupyterLab's ``--jp-*`` variables with light-theme fallbacks so the panel looks
right in light and dark themes, in Notebook 7 and in VS Code.
"""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from justirc_sdk.files import format_size

if TYPE_CHECKING:
    from .records import Entry

__all__ = [
    "CSS",
    "MAX_LINK_BYTES",
    "e",
    "file_entry",
    "format_size",
    "image_header",
    "key_change_banner",
    "members",
    "message_block",
    "security",
    "topic",
]

CSS = """<style>
.justirc-panel { font-family: var(--jp-ui-font-family, sans-serif);
  color: var(--jp-ui-font-color1, #222); }
.justirc-messages { border: 1px solid var(--jp-border-color2, #ddd);
  background: var(--jp-layout-color0, #fff); }
.justirc-block { display: flex; flex-direction: column; gap: 2px; padding: 2px 6px; }
.justirc-msg { padding: 3px 8px; border-radius: 6px; max-width: 85%;
  background: var(--jp-layout-color2, #f0f0f0); color: var(--jp-ui-font-color1, #222);
  white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.35; }
.justirc-msg.justirc-own { align-self: flex-end;
  background: rgba(33, 150, 243, 0.18); }
/* a translucent blue over the theme's own background: light in light themes, dark in
   dark ones, so the theme's text colour stays readable on it */
.justirc-notice { color: var(--jp-ui-font-color2, #666); font-style: italic;
  font-size: var(--jp-ui-font-size0, 11px); padding: 1px 8px; }
.justirc-sender { font-weight: 600; color: var(--jp-brand-color1, #1565c0); }
.justirc-own .justirc-sender { color: var(--jp-ui-font-color1, #222); }
.justirc-time { color: var(--jp-ui-font-color3, #999);
  font-size: var(--jp-ui-font-size0, 11px); margin-left: 6px; }
.justirc-verified { color: var(--jp-success-color1, #2e7d32); margin-left: 4px; }
.justirc-security { padding: 4px 8px; border-radius: 4px;
  background: var(--jp-layout-color1, #fafafa); border: 1px solid var(--jp-border-color2, #ddd); }
.justirc-badge { display: inline-block; padding: 1px 6px; border-radius: 8px; color: #fff;
  background: var(--jp-success-color1, #2e7d32); font-weight: 600; margin-right: 8px; }
.justirc-digits { font-family: var(--jp-code-font-family, monospace); }
.justirc-banner { padding: 6px 10px; border-radius: 4px; color: #fff;
  background: var(--jp-error-color1, #c62828); font-weight: 600; }
.justirc-topic { color: var(--jp-ui-font-color2, #555); padding: 2px 4px; }
.justirc-members { font-size: var(--jp-ui-font-size1, 13px); padding: 2px 4px; }
.justirc-role { color: var(--jp-ui-font-color2, #666); font-size: var(--jp-ui-font-size0, 11px); }
.justirc-file-name { font-weight: 600; }
a.justirc-download { color: var(--jp-content-link-color, #1565c0); text-decoration: underline; }
.justirc-file-note { color: var(--jp-ui-font-color2, #666); font-style: italic;
  font-size: var(--jp-ui-font-size0, 11px); }
</style>"""

MAX_LINK_BYTES = 5 * 1024 * 1024
"""Files up to this size get a download link in the page (the file, base64-encoded, in a
``data:`` URI). Larger files are listed without one: save them with the panel's *Save*
button or ``panel.save_file(...)``, or use ``entry.data``."""


def e(value: object) -> str:
    """Escape any user-supplied value for HTML text and attribute content."""
    return html.escape(str(value), quote=True)


_CHECK = '<span class="justirc-verified" title="verified">&#10003;</span>'


def _time(timestamp: float) -> str:
    return time.strftime("%H:%M", time.localtime(timestamp)) if timestamp else ""


def _message(entry: Entry) -> str:
    if entry.kind == "notice":
        return f'<div class="justirc-notice">{e(entry.text)}</div>'
    own = " justirc-own" if entry.own else ""
    check = (
        '<span class="justirc-verified" title="verified">&#10003;</span>' if entry.verified else ""
    )
    stamp = f'<span class="justirc-time">{e(_time(entry.timestamp))}</span>'
    if entry.action:
        body = f'* <span class="justirc-sender">{e(entry.sender)}</span> {e(entry.text)}'
        return f'<div class="justirc-msg{own}">{body}{check}{stamp}</div>'
    return (
        f'<div class="justirc-msg{own}"><span class="justirc-sender">{e(entry.sender)}</span>'
        f"{check}{stamp}<br>{e(entry.text)}</div>"
    )


def message_block(entries: Iterable[Entry]) -> str:
    """One HTML block for a run of messages and notices."""
    return '<div class="justirc-block">' + "".join(_message(x) for x in entries) + "</div>"


def image_header(entry: Entry) -> str:
    """The line above an image: sender, time, dimensions, filename and caption."""
    own = " justirc-own" if entry.own else ""
    check = (
        '<span class="justirc-verified" title="verified">&#10003;</span>' if entry.verified else ""
    )
    caption = f"<br>{e(entry.text)}" if entry.text else ""
    return (
        f'<div class="justirc-block"><div class="justirc-msg{own}">'
        f'<span class="justirc-sender">{e(entry.sender)}</span>{check}'
        f'<span class="justirc-time">{e(_time(entry.timestamp))}</span>'
        f'<span class="justirc-time">{e(entry.filename)} · {entry.width}&#215;{entry.height}</span>'
        f"{caption}</div></div>"
    )


def file_entry(entry: Entry, max_link_bytes: int | None = None) -> str:
    """A file: sender, time, name, size, declared type, caption and a download link.

    The link is ``<a download="name" href="data:application/octet-stream;base64,...">``:
    the href is built here from the bytes alone (never from the sender's MIME type, which
    is only shown, escaped), so the browser saves the file instead of rendering it.
    Files over *max_link_bytes* (default :data:`MAX_LINK_BYTES`) get a note instead.
    """
    limit = MAX_LINK_BYTES if max_link_bytes is None else max_link_bytes
    own = " justirc-own" if entry.own else ""
    check = _CHECK if entry.verified else ""
    name = e(entry.filename)
    details = f"{e(format_size(entry.size))} · {e(entry.mime_type)}"
    if entry.data is not None and entry.size <= limit:
        encoded = base64.b64encode(entry.data).decode("ascii")
        body = (
            f'&#128206; <a class="justirc-download" download="{name}" '
            f'href="data:application/octet-stream;base64,{encoded}" '
            f'title="Download {name}">{name}</a>'
            f'<span class="justirc-time">{details}</span>'
        )
    else:
        body = (
            f'&#128206; <span class="justirc-file-name">{name}</span>'
            f'<span class="justirc-time">{details}</span><br>'
            f'<span class="justirc-file-note">Too large for a download link '
            f"(over {e(format_size(limit))}): press Save, or use "
            "panel.save_file(...) in a cell.</span>"
        )
    caption = f"<br>{e(entry.text)}" if entry.text else ""
    return (
        f'<div class="justirc-block"><div class="justirc-msg justirc-file{own}">'
        f'<span class="justirc-sender">{e(entry.sender)}</span>{check}'
        f'<span class="justirc-time">{e(_time(entry.timestamp))}</span><br>'
        f"{body}{caption}</div></div>"
    )


def members(roles: Mapping[str, str], trust: Mapping[str, str]) -> str:
    """The member list with roles, owners and ops first."""
    order = {"owner": 0, "op": 1, "mod": 2}
    items = sorted(roles.items(), key=lambda kv: (order.get(kv[1], 3), kv[0].lower()))
    rows = []
    for nick, role in items:
        mark = " &#10003;" if trust.get(nick.lower()) == "verified" else ""
        rows.append(f'{e(nick)}{mark} <span class="justirc-role">{e(role)}</span>')
    return (
        f'<div class="justirc-members"><b>Members ({len(items)})</b><br>'
        + "<br>".join(rows)
        + "</div>"
    )


def topic(channel: str, text: str | None) -> str:
    """The channel name and topic line."""
    shown = e(text) if text else "<i>no topic</i>"
    return f'<div class="justirc-topic"><b>{e(channel)}</b> — {shown}</div>'


def security(
    own_nick: str,
    own_fingerprint: str,
    peer: str | None,
    safety_number: str | None,
    trust: str | None,
    kind: str | None,
) -> str:
    """The security header."""
    parts = [
        '<div class="justirc-security">'
        '<span class="justirc-badge">&#128274; end-to-end encrypted</span>'
        f"You are <b>{e(own_nick)}</b> · fingerprint "
        f'<span class="justirc-digits">{e(own_fingerprint)}</span>'
    ]
    if peer is not None:
        state = {
            "verified": "&#10003; verified",
            "changed": "&#9888; key changed",
            "unverified": "not verified",
        }.get(trust or "", "no key seen yet")
        number = (
            f'<span class="justirc-digits">{e(safety_number)}</span>'
            if safety_number
            else "<i>known after the first message</i>"
        )
        parts.append(f"<br>Safety number with <b>{e(peer)}</b> ({state}): {number}")
    elif kind == "channel":
        parts.append(
            "<br>Channel messages use per-member sender keys; verify people in a private "
            "conversation."
        )
    parts.append("</div>")
    return "".join(parts)


def key_change_banner(nick: str, new_fingerprint: str, others: int) -> str:
    """The red banner shown until the user acknowledges a key change."""
    more = f" (and {others} more)" if others else ""
    return (
        f'<div class="justirc-banner">&#9888; The identity key of {e(nick)} changed{more}. '
        f'New fingerprint: <span class="justirc-digits">{e(new_fingerprint)}</span>. '
        "Messages to them are blocked until you acknowledge. Compare safety numbers first."
        "</div>"
    )
