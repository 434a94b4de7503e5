"""The connection every part of `History` shares: one SQLite connection behind a lock, and its transactions."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class Base:
    def __init__(self, path: Path, conn: sqlite3.Connection, recovery_note: str | None):
        self.path = path
        self.recovery_note = recovery_note
        self._conn = conn
        self._lock = threading.RLock()
        self.vectors_generation = 0  # bumped by every store_vectors, so a cached matrix knows it is stale

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None  # type: ignore[assignment]

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._conn
            if conn is None:
                raise sqlite3.ProgrammingError("history is closed")
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            if self._conn is None:
                raise sqlite3.ProgrammingError("history is closed")
            return self._conn.execute(sql, tuple(args)).fetchall()
