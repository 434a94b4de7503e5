"""The images gallery's records: the PNGs Parley generated, soft-deleted, restored and finally forgotten."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from app.core.history.base import Base
from app.core.history.records import ImageRecord, dumps, image


class Gallery(Base):
    def add_image(
        self,
        *,
        path: str | Path,
        prompt: str,
        revised_prompt: str | None = None,
        options: dict[str, Any] | None = None,
        deployment: str = "",
    ) -> ImageRecord:
        now = time.time()
        options_json = dumps(options or {})
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO images (path, prompt, revised_prompt, options_json, deployment, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (str(path), prompt, revised_prompt, options_json, deployment or "", now),
            )
            iid = int(cur.lastrowid or 0)
        return ImageRecord(iid, str(path), prompt, revised_prompt, options_json, deployment or "", now, None)

    def list_images(self, include_deleted: bool = False) -> list[ImageRecord]:
        """Newest first."""
        where = "" if include_deleted else "WHERE deleted_at IS NULL"
        return [
            image(r) for r in self._query(f"SELECT * FROM images {where} ORDER BY created_at DESC, id DESC")
        ]

    def delete_image(self, image_id: int) -> None:
        with self._tx() as conn:
            conn.execute("UPDATE images SET deleted_at = ? WHERE id = ?", (time.time(), image_id))

    def restore_image(self, image_id: int) -> None:
        with self._tx() as conn:
            conn.execute("UPDATE images SET deleted_at = NULL WHERE id = ?", (image_id,))

    def purge_deleted_images(self, older_than_seconds: float = 0.0) -> list[str]:
        """Forget images soft-deleted at least this long ago; returns their file paths (the caller removes files)."""
        cutoff = time.time() - older_than_seconds
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT path FROM images WHERE deleted_at IS NOT NULL AND deleted_at <= ?", (cutoff,)
            ).fetchall()
            conn.execute("DELETE FROM images WHERE deleted_at IS NOT NULL AND deleted_at <= ?", (cutoff,))
        return [r["path"] for r in rows]
