"""The images gallery's records: the images Parley generated or edited (format, options, lineage, token usage),
soft-deleted, restored and finally forgotten."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from app.core.history.base import Base
from app.core.history.records import ImageRecord, dumps, image, image_usage_json
from app.core.image_options import ImageUsage


class Gallery(Base):
    def add_image(
        self,
        *,
        path: str | Path,
        prompt: str,
        revised_prompt: str | None = None,
        options: dict[str, Any] | None = None,
        deployment: str = "",
        format: str = "png",
        parent_id: int | None = None,
        usage: ImageUsage | None = None,
    ) -> ImageRecord:
        now = time.time()
        options_json = dumps(options or {})
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO images (path, prompt, revised_prompt, options_json, deployment, created_at, format, "
                "parent_id, usage_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    str(path),
                    prompt,
                    revised_prompt,
                    options_json,
                    deployment or "",
                    now,
                    format,
                    parent_id,
                    image_usage_json(usage),
                ),
            )
            iid = int(cur.lastrowid or 0)
        return ImageRecord(
            iid,
            str(path),
            prompt,
            revised_prompt,
            options_json,
            deployment or "",
            now,
            None,
            format,
            parent_id,
            usage,
        )

    def get_image(self, image_id: int) -> ImageRecord | None:
        rows = self._query("SELECT * FROM images WHERE id = ?", (image_id,))
        return image(rows[0]) if rows else None

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
