"""Semantic-search vectors of messages: stored per model, read as one float32 matrix, and what is left to index."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.core.history.base import Base


class Vectors(Base):
    def store_vectors(self, items: Iterable[tuple[int, str, Any]]) -> int:
        """Store (message_id, model, vector) triples; a vector is float32 bytes or anything with `.tobytes()`
        and `.astype` (numpy). Replaces an existing vector for the same message and model."""
        rows = []
        for message_id, model, vector in items:
            if hasattr(vector, "astype"):
                vector = vector.astype("<f4").tobytes()
            blob = bytes(vector)
            rows.append((int(message_id), model, len(blob) // 4, blob))
        with self._tx() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO message_vectors (message_id, model, dim, vector) VALUES (?, ?, ?, ?)",
                rows,
            )
            self.vectors_generation += 1
        return len(rows)

    def vectors(self, model: str, *, include_deleted: bool = False) -> tuple[list[int], bytes]:
        """Message ids and their float32 vectors concatenated in the same order (messages of deleted conversations
        left out unless `include_deleted`): `numpy.frombuffer(matrix, '<f4').reshape(len(ids), -1)`."""
        if include_deleted:  # no joins: the cheapest read, for a cache that checks deletion per hit
            rows = self._query(
                "SELECT message_id, vector FROM message_vectors WHERE model = ? ORDER BY message_id", (model,)
            )
        else:
            rows = self._query(
                "SELECT v.message_id, v.vector FROM message_vectors v JOIN messages m ON m.id = v.message_id "
                "JOIN conversations c ON c.id = m.conversation_id WHERE v.model = ? AND c.deleted_at IS NULL "
                "ORDER BY v.message_id",
                (model,),
            )
        return [r[0] for r in rows], b"".join(r[1] for r in rows)

    def vectors_signature(self, model: str) -> tuple[int, int]:
        """Changes whenever `vectors(model, include_deleted=True)` would (stores bump the generation; deletions,
        including an edited text's stale vector, lower the count): cheap enough to ask before every search."""
        with self._lock:
            count = self._query("SELECT count(*) FROM message_vectors WHERE model = ?", (model,))[0][0]
            return self.vectors_generation, int(count)

    def vector_count(self, model: str) -> int:
        """How many messages of conversations not deleted have a vector for `model` (0: meaning search has nothing)."""
        return int(
            self._query(
                "SELECT count(*) FROM message_vectors v JOIN messages m ON m.id = v.message_id "
                "JOIN conversations c ON c.id = m.conversation_id WHERE v.model = ? AND c.deleted_at IS NULL",
                (model,),
            )[0][0]
        )

    def count_without_vectors(self, model: str) -> int:
        """How many messages `messages_without_vectors` would still return (what is left to index)."""
        return int(
            self._query(
                "SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                "WHERE c.deleted_at IS NULL AND m.status != 'streaming' AND m.text != '' AND NOT EXISTS "
                "(SELECT 1 FROM message_vectors v WHERE v.message_id = m.id AND v.model = ?)",
                (model,),
            )[0][0]
        )

    def messages_without_vectors(self, model: str, limit: int = 256) -> list[tuple[int, str]]:
        """(message_id, text) of finished, non-empty messages that have no vector for `model` yet, oldest first."""
        rows = self._query(
            "SELECT m.id, m.text FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            "WHERE c.deleted_at IS NULL AND m.status != 'streaming' AND m.text != '' AND NOT EXISTS "
            "(SELECT 1 FROM message_vectors v WHERE v.message_id = m.id AND v.model = ?) ORDER BY m.id LIMIT ?",
            (model, int(limit)),
        )
        return [(r[0], r[1]) for r in rows]
