"""`History`: one object per history file, made of its parts (conversations and messages, export, gallery,
vectors) over one shared connection."""

from __future__ import annotations

from pathlib import Path

from app.core import paths
from app.core.history import schema
from app.core.history.base import storage_errors
from app.core.history.conversations import Conversations
from app.core.history.export import Export
from app.core.history.gallery import Gallery
from app.core.history.vectors import Vectors


class History(Conversations, Export, Gallery, Vectors):
    """Use `History.open()`; the constructor is internal."""

    @classmethod
    def open(cls, path: Path | str | None = None) -> History:
        path = Path(path) if path is not None else schema.default_path()
        key = str(paths.ensure(path.parent).resolve() / path.name)
        with schema._instances_lock:
            existing = schema._instances.get(key)
            if existing is not None and existing._conn is not None:
                return existing
            first = key not in schema._checked
            with storage_errors(path):
                conn, note = schema._open_checked(path, check=first)
            if first:
                schema._recover_streaming(conn)
                schema._checked.add(key)
                if note:
                    schema._notes[key] = note
            else:
                # Whoever opened it first (a search job, say) did the recovery: every later opener hears of it too.
                note = schema._notes.get(key)
            history = cls(path, conn, note)
            schema._instances[key] = history
            return history

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
