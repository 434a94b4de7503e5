"""The connection every part of `History` shares: one SQLite connection behind a lock, and its transactions."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.core import errors

# SQLite's primary result codes for "the disk said no" (the extended codes keep these in their low byte).
_FULL, _READONLY, _IOERR, _CANTOPEN, _PERM = 13, 8, 10, 14, 3


def storage_problem(exc: BaseException, path: Path) -> errors.Problem | None:
    """What a user is told when SQLite cannot write the history file: what happened, and what to do. None for an
    error that is not about the disk (a bug, which keeps its own report)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(exc, sqlite3.Error) or not isinstance(code, int):
        return None
    primary = code & 0xFF
    if primary == _FULL:
        return errors.Problem(
            errors.Kind.OTHER,
            "The disk is full",
            f"Parley could not save your chat history because the disk holding it is full ({path.parent}).",
            "Free some space on that disk, then send again. What you typed is kept.",
        )
    if primary in (_READONLY, _PERM):
        return errors.Problem(
            errors.Kind.OTHER,
            "Chat history is read-only",
            f"Parley cannot write to its history file ({path}).",
            "Make the file and its folder writable for you (or remount the disk read-write), then send again. "
            "What you typed is kept.",
        )
    if primary in (_IOERR, _CANTOPEN):
        return errors.Problem(
            errors.Kind.OTHER,
            "Could not save chat history",
            f"The disk reported an error while Parley wrote its history file ({path}).",
            "Check the disk (it may be full, removed or failing), then send again. What you typed is kept.",
        )
    return None


@contextmanager
def storage_errors(path: Path) -> Iterator[None]:
    """Turns SQLite's disk errors into a ParleyError with words, so no raw "OperationalError" reaches a user."""
    try:
        yield
    except sqlite3.Error as exc:
        problem = storage_problem(exc, path)
        if problem is None:
            raise
        raise errors.ParleyError(problem) from exc


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
        with self._lock, storage_errors(self.path):
            conn = self._conn
            if conn is None:
                raise sqlite3.ProgrammingError("history is closed")
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                # SQLite may have rolled back already (it does on a full disk): a second ROLLBACK would raise
                # "no transaction is active" and hide the real error.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock, storage_errors(self.path):
            if self._conn is None:
                raise sqlite3.ProgrammingError("history is closed")
            return self._conn.execute(sql, tuple(args)).fetchall()
