"""JustIRC routing server: sans-IO router, asyncio listener, SQLite store.

Start one in-process with :class:`server.embedded.EmbeddedServer`, or from the shell
with ``justirc-server``.
"""
