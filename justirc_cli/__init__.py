"""``justirc``: the JustIRC terminal client, built on the public :mod:`justirc_sdk` API.

:mod:`~justirc_cli.commands`, :mod:`~justirc_cli.formatting`,
:mod:`~justirc_cli.completion`, :mod:`~justirc_cli.conversations` and
:mod:`~justirc_cli.downloads` are pure and tested without a terminal;
:class:`~justirc_cli.client.ChatClient` runs commands and shows events;
:mod:`~justirc_cli.app` wires it to prompt_toolkit.
"""

from __future__ import annotations

from .client import ChatClient

__all__ = ["ChatClient"]
