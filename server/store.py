"""The embedded SQLite store: one WAL-mode file in the data directory.

Each component owns its tables and declares them as an ordered list of migrations with
:meth:`Store.migrate`; the applied version per component lives in ``schema_versions``.
Other server modules (accounts, IP filter) receive :attr:`Store.connection` and do the
same. Writes are rare (registry changes), so they run synchronously on the event loop.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from .errors import DataDirError, StoreError

__all__ = ["DB_FILENAME", "Store", "prepare_data_dir"]

DB_FILENAME = "justirc.sqlite3"

_log = logging.getLogger(__name__)


def prepare_data_dir(path: Path) -> Path:
    """Create *path* if missing and check it is a writable directory; return it resolved."""
    if path.exists() and not path.is_dir():
        raise DataDirError(f"data directory {path} exists but is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataDirError(f"cannot create data directory {path}: {exc.strerror}") from None
    probe = path / ".write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise DataDirError(
            f"data directory {path} is not writable ({exc.strerror}); "
            "choose another with --data-dir"
        ) from None
    return path.resolve()


class Store:
    """One SQLite database file, opened in WAL mode, with per-component schema versions."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS schema_versions"
                " (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {self.path}: {exc}") from None
        self._closed = False

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> Store:
        """Open (creating if needed) the store file inside *data_dir*."""
        return cls(prepare_data_dir(data_dir) / DB_FILENAME)

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection (autocommit mode; use ``with store.transaction():`` to group)."""
        return self._db

    def transaction(self) -> sqlite3.Connection:
        """A context manager committing on success and rolling back on error."""
        # In autocommit mode sqlite3's connection context manager does not begin a
        # transaction, so begin one explicitly.
        self._db.execute("BEGIN")
        return self._db

    def version(self, component: str) -> int:
        """The applied schema version of *component* (0 when never migrated)."""
        row = self._db.execute(
            "SELECT version FROM schema_versions WHERE component = ?", (component,)
        ).fetchone()
        return int(row[0]) if row else 0

    def migrate(self, component: str, migrations: Sequence[str]) -> None:
        """Apply the migrations of *component* that are not applied yet, in order.

        ``migrations[i]`` is the SQL script that takes the schema from version ``i`` to
        ``i + 1``. A database newer than the code is refused rather than guessed at.
        """
        with self._lock:
            current = self.version(component)
            if current > len(migrations):
                raise StoreError(
                    f"{self.path}: {component} schema is version {current}, newer than this "
                    f"server understands ({len(migrations)}); upgrade the server"
                )
            for number in range(current, len(migrations)):
                try:
                    self._db.execute("BEGIN")
                    for statement in _split_sql(migrations[number]):
                        self._db.execute(statement)
                    self._db.execute(
                        "INSERT INTO schema_versions (component, version) VALUES (?, ?)"
                        " ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                        (component, number + 1),
                    )
                    self._db.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._db.execute("ROLLBACK")
                    raise StoreError(
                        f"migrating {component} to version {number + 1} failed: {exc}"
                    ) from None
                _log.info("store: %s schema at version %d", component, number + 1)

    def close(self) -> None:
        """Checkpoint and close the database; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()


def _split_sql(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]
