"""Conversations and their messages (a message is stored when sent, a reply as it streams), and full-text search.

Statuses, finish reasons, usage, verdicts and problems are written from typed values only (`MessageStatus`,
`FinishReason`, `Usage`, `filters.Verdict`, `errors.Problem`); `TurnWriter` is the one caller that writes turns.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from app.core import errors, filters
from app.core.events import Usage
from app.core.history import records
from app.core.history.base import Base
from app.core.history.records import (
    DEFAULT_TITLE,
    Attachment,
    Conversation,
    SearchHit,
    StoredMessage,
    auto_title,
    conversation,
    message,
    problem_json,
    usage_json,
    verdicts_json,
)
from app.core.history.schema import SEARCH_CHARS
from app.core.turns import FinishReason, MessageStatus

RANK_ALL_LIMIT = 8000  # above this many matches, search returns the newest instead of ranking them all


class Conversations(Base):
    def create_conversation(
        self, title: str = DEFAULT_TITLE, system_prompt: str = "", deployment: str = ""
    ) -> Conversation:
        now = time.time()
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO conversations (title, created_at, updated_at, system_prompt, deployment) VALUES (?, ?, ?, ?, ?)",
                (title, now, now, system_prompt or "", deployment or ""),
            )
            cid = int(cur.lastrowid or 0)
        return Conversation(cid, title, now, now, False, system_prompt or "", deployment or "", None)

    def get_conversation(self, conversation_id: int) -> Conversation | None:
        rows = self._query("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
        return conversation(rows[0]) if rows else None

    def list_conversations(self, include_deleted: bool = False) -> list[Conversation]:
        where = "" if include_deleted else "WHERE deleted_at IS NULL"
        rows = self._query(
            f"SELECT * FROM conversations {where} ORDER BY pinned DESC, updated_at DESC, id DESC"
        )
        return [conversation(r) for r in rows]

    def _set(self, conversation_id: int, column: str, value: Any, touch: bool = False) -> None:
        with self._tx() as conn:
            if touch:
                conn.execute(
                    f"UPDATE conversations SET {column} = ?, updated_at = ? WHERE id = ?",
                    (value, time.time(), conversation_id),
                )
            else:
                conn.execute(f"UPDATE conversations SET {column} = ? WHERE id = ?", (value, conversation_id))

    def rename(self, conversation_id: int, title: str) -> None:
        self._set(conversation_id, "title", title.strip() or DEFAULT_TITLE)

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        self._set(conversation_id, "pinned", 1 if pinned else 0)

    def set_system_prompt(self, conversation_id: int, system_prompt: str) -> None:
        self._set(conversation_id, "system_prompt", system_prompt or "")

    def set_deployment(self, conversation_id: int, deployment: str) -> None:
        self._set(conversation_id, "deployment", deployment or "")

    def delete_conversation(self, conversation_id: int) -> None:
        """Soft delete: hidden from the list and from search until `restore_conversation` or `purge_deleted`."""
        self._set(conversation_id, "deleted_at", time.time())

    def restore_conversation(self, conversation_id: int) -> None:
        self._set(conversation_id, "deleted_at", None)

    def purge_deleted(self, older_than_seconds: float = 0.0) -> int:
        """Really delete conversations (and their messages) soft-deleted at least this long ago; returns how many."""
        cutoff = time.time() - older_than_seconds
        with self._tx() as conn:
            cur = conn.execute(
                "DELETE FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at <= ?", (cutoff,)
            )
            return cur.rowcount

    # ---- messages ------------------------------------------------------------------------------------------

    def add_message(
        self,
        conversation_id: int,
        role: str,
        text: str,
        *,
        status: MessageStatus = MessageStatus.COMPLETE,
        attachments: Iterable[Any] = (),
    ) -> StoredMessage:
        """Store a message now (a message is saved when it is sent). Attachments: `Attachment`, `chat.ImagePart`,
        or dicts with mime/name/data/path."""
        _check_status(status)
        now = time.time()
        stored: list[Attachment] = []
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO messages (conversation_id, role, text, created_at, status, writer_pid) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    role,
                    (text or "")[:SEARCH_CHARS],
                    now,
                    status,
                    os.getpid() if status is MessageStatus.STREAMING else None,
                ),
            )
            mid = int(cur.lastrowid or 0)
            _add_parts(conn, mid, (text or "")[SEARCH_CHARS:])
            for att in attachments:
                mime, name, data, path = _attachment_fields(att)
                acur = conn.execute(
                    "INSERT INTO attachments (message_id, mime, name, data, path) VALUES (?, ?, ?, ?, ?)",
                    (mid, mime, name, data, path),
                )
                stored.append(Attachment(int(acur.lastrowid or 0), mid, mime, name, data, path))
            row = conn.execute("SELECT title FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            if row is not None and role == "user" and row["title"] == DEFAULT_TITLE and auto_title(text):
                conn.execute(
                    "UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?",
                    (auto_title(text), now, conversation_id),
                )
            else:
                conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
        return StoredMessage(mid, conversation_id, role, text or "", now, status, attachments=tuple(stored))

    def begin_assistant(self, conversation_id: int) -> StoredMessage:
        """An empty assistant message with status `streaming`, to fill with `append_streaming`."""
        return self.add_message(conversation_id, "assistant", "", status=MessageStatus.STREAMING)

    def append_streaming(self, message_id: int, more: str) -> None:
        """Append to a streaming reply's stored text (what `TurnWriter` saves about once a second): the caller keeps
        only what is not stored yet, however long the reply grows."""
        with self._tx() as conn:
            row = conn.execute(
                "SELECT length(text) AS chars, EXISTS (SELECT 1 FROM message_parts p WHERE p.message_id = messages.id) "
                "AS parted "
                "FROM messages WHERE id = ? AND status = ?",
                (message_id, MessageStatus.STREAMING),
            ).fetchone()
            if row is None:
                return
            # The first SEARCH_CHARS characters grow the row (rewritten: at most ~1 MB); the rest become parts.
            head = "" if row["parted"] else more[: max(0, SEARCH_CHARS - row["chars"])]
            if head:
                conn.execute("UPDATE messages SET text = text || ? WHERE id = ?", (head, message_id))
            _add_parts(conn, message_id, more[len(head) :])

    def resume_streaming(self, message_id: int) -> None:
        """Mark a finished reply as streaming again (Continue after a dropped connection appends to it); it leaves
        the search index until it stops again (schema v4)."""
        with self._tx() as conn:
            _unindex(conn, message_id)
            conn.execute(
                "UPDATE messages SET status = ?, finish_reason = NULL, problem_json = NULL, "
                "writer_pid = ? WHERE id = ?",
                (MessageStatus.STREAMING, os.getpid(), message_id),
            )

    def finish_message(
        self,
        message_id: int,
        text: str | None,
        status: MessageStatus,
        *,
        finish_reason: FinishReason | None = None,
        request_id: str | None = None,
        usage: Usage | None = None,
        verdicts: Iterable[filters.Verdict] | None = None,
        problem: errors.Problem | None = None,
    ) -> None:
        """Final text and outcome of a message (also a user message whose prompt was filtered or failed); `text`
        None keeps the stored text (a streamed reply, appended as it came).

        `verdicts` replaces the stored list (None keeps it). Only typed values: a dict or JSON string raises
        TypeError, so nothing can store a shape the reader does not know."""
        _check_status(status)
        if finish_reason is not None and not isinstance(finish_reason, FinishReason):
            raise TypeError(f"finish_reason is a FinishReason, not {type(finish_reason).__name__}")
        with self._tx() as conn:
            sets = ["status = ?", "finish_reason = ?", "writer_pid = NULL"]
            args: list[Any] = [status, finish_reason]
            if request_id is not None:
                sets.append("request_id = ?")
                args.append(request_id)
            if usage is not None:
                sets.append("usage_json = ?")
                args.append(usage_json(usage))
            if verdicts is not None:
                sets.append("filter_json = ?")
                args.append(verdicts_json(verdicts))
            if problem is not None:
                sets.append("problem_json = ?")
                args.append(problem_json(problem))
            args.append(message_id)
            if text is not None:
                with _reindexed(conn, message_id):
                    _replace_text(conn, message_id, text)
            conn.execute(f"UPDATE messages SET {', '.join(sets)} WHERE id = ?", args)
            conn.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = "
                "(SELECT conversation_id FROM messages WHERE id = ?)",
                (time.time(), message_id),
            )

    def set_filters(self, message_id: int, verdicts: Iterable[filters.Verdict]) -> None:
        """Replace a message's verdicts (a late, asynchronous verdict can arrive after the text)."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE messages SET filter_json = ? WHERE id = ?", (verdicts_json(verdicts), message_id)
            )

    def update_message_text(self, message_id: int, text: str) -> None:
        """Edit a message's text (edit and resend); clears a previous problem on it."""
        with self._tx() as conn:
            with _reindexed(conn, message_id):
                _replace_text(conn, message_id, text)
                conn.execute("UPDATE messages SET problem_json = NULL WHERE id = ?", (message_id,))

    def delete_messages_after(self, conversation_id: int, message_id: int) -> int:
        """Delete every message after `message_id` in the conversation (regenerate, edit and resend)."""
        with self._tx() as conn:
            cur = conn.execute(
                "DELETE FROM messages WHERE conversation_id = ? AND id > ?", (conversation_id, message_id)
            )
            return cur.rowcount

    def delete_message(self, message_id: int) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM messages WHERE id = ?", (message_id,))

    def get_message(self, message_id: int) -> StoredMessage | None:
        rows = self._query("SELECT * FROM messages WHERE id = ?", (message_id,))
        if not rows:
            return None
        atts = self._query("SELECT * FROM attachments WHERE message_id = ? ORDER BY id", (message_id,))
        parts = self._query(
            "SELECT message_id, text FROM message_parts WHERE message_id = ? ORDER BY id", (message_id,)
        )
        return message(
            rows[0], tuple(records.attachment(a) for a in atts), _joined(parts).get(message_id, "")
        )

    def messages(self, conversation_id: int) -> list[StoredMessage]:
        """The conversation's messages in order, with their attachments."""
        with self._lock:
            rows = self._query(
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
            )
            att_rows = self._query(
                "SELECT a.* FROM attachments a JOIN messages m ON m.id = a.message_id "
                "WHERE m.conversation_id = ? ORDER BY a.id",
                (conversation_id,),
            )
            parts = _joined(
                self._query(
                    "SELECT p.message_id, p.text FROM message_parts p JOIN messages m ON m.id = p.message_id "
                    "WHERE m.conversation_id = ? ORDER BY p.message_id, p.id",
                    (conversation_id,),
                )
            )
        by_message: dict[int, list[Attachment]] = {}
        for a in att_rows:
            by_message.setdefault(a["message_id"], []).append(records.attachment(a))
        return [message(r, tuple(by_message.get(r["id"], ())), parts.get(r["id"], "")) for r in rows]

    # ---- search --------------------------------------------------------------------------------------------

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        """Full-text search over all messages of conversations not deleted; best matches (bm25) first.

        A query matching more than RANK_ALL_LIMIT messages (a word like "the") is not worth ranking in full:
        those hits come newest first, each still carrying its bm25 rank, so the cost stays flat."""
        match = fts_query(query)
        if not match:
            return []
        with self._lock:
            many = (
                self._query(
                    "SELECT count(*) FROM (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? LIMIT ?)",
                    (match, RANK_ALL_LIMIT + 1),
                )[0][0]
                > RANK_ALL_LIMIT
            )
            rows = self._query(
                f"""
                SELECT f.rowid AS message_id, m.conversation_id, c.title, m.role,
                       snippet(messages_fts, 0, '[[', ']]', '…', 12) AS snippet, f.rank AS rank
                FROM messages_fts f
                JOIN messages m ON m.id = f.rowid
                JOIN conversations c ON c.id = m.conversation_id
                WHERE messages_fts MATCH ? AND c.deleted_at IS NULL
                ORDER BY {"f.rowid DESC" if many else "f.rank"}
                LIMIT ?
                """,
                (match, int(limit)),
            )
        return [
            SearchHit(
                r["message_id"], r["conversation_id"], r["title"], r["role"], r["snippet"], float(r["rank"])
            )
            for r in rows
        ]


_WORD = re.compile(r"\w", re.UNICODE)


def fts_query(text: str) -> str:
    """User text as a safe FTS5 query: every term quoted (so AND, NOT, -, *, quotes are plain words), all terms
    required, the last one (2 characters or more) matched as a prefix (search as you type)."""
    terms = [t for t in (text or "").split() if _WORD.search(t)]
    if not terms:
        return ""
    quoted = ['"' + t.replace('"', '""') + '"' for t in terms]
    if len(terms[-1]) >= 2:  # one letter would merge a huge share of the index; prefixes of 2-3 are indexed
        quoted[-1] += "*"
    return " ".join(quoted)


def _check_status(status: MessageStatus) -> None:
    if not isinstance(status, MessageStatus):
        raise TypeError(f"a message status is a MessageStatus, not {status!r}")


def _attachment_fields(att: Any) -> tuple[str, str, bytes | None, str | None]:
    if isinstance(att, dict):
        get = att.get
    else:

        def get(key: str, default: Any = None) -> Any:
            return getattr(att, key, default)

    data = get("data")
    path = get("path")
    return (
        str(get("mime", "") or ""),
        str(get("name", "") or ""),
        bytes(data) if data is not None else None,
        str(path) if path is not None else None,
    )


# A part of a long text written at once (an edit, a pasted message); streaming writes its saves as they come.
PART_CHARS = 1_000_000


def _add_parts(conn: sqlite3.Connection, message_id: int, rest: str) -> None:
    """What of a message's text comes after its first SEARCH_CHARS characters (schema v5), as new parts."""
    for start in range(0, len(rest), PART_CHARS):
        conn.execute(
            "INSERT INTO message_parts (message_id, text) VALUES (?, ?)",
            (message_id, rest[start : start + PART_CHARS]),
        )


def _replace_text(conn: sqlite3.Connection, message_id: int, text: str) -> None:
    conn.execute("DELETE FROM message_parts WHERE message_id = ?", (message_id,))
    conn.execute("UPDATE messages SET text = ? WHERE id = ?", (text[:SEARCH_CHARS], message_id))
    _add_parts(conn, message_id, text[SEARCH_CHARS:])


def _joined(rows: Iterable[sqlite3.Row]) -> dict[int, str]:
    """message id -> the text of its parts, in order (rows ordered by message, then part)."""
    pieces: dict[int, list[str]] = {}
    for row in rows:
        pieces.setdefault(row["message_id"], []).append(row["text"])
    return {mid: "".join(texts) for mid, texts in pieces.items()}


def _unindex(conn: sqlite3.Connection, message_id: int) -> None:
    """Take a finished message out of the search index (a streaming one is not in it)."""
    conn.execute(
        "INSERT INTO messages_fts (messages_fts, rowid, text) SELECT 'delete', id, substr(text, 1, ?) "
        "FROM messages WHERE id = ? AND status != ?",
        (SEARCH_CHARS, message_id, MessageStatus.STREAMING),
    )


@contextmanager
def _reindexed(conn: sqlite3.Connection, message_id: int) -> Iterator[None]:
    """Around a change of a message's text: a finished message is indexed again with its new text (schema v4 has no
    trigger on text, so that a streaming reply's saves never copy it)."""
    _unindex(conn, message_id)
    yield
    conn.execute(
        "INSERT INTO messages_fts (rowid, text) SELECT id, substr(text, 1, ?) FROM messages "
        "WHERE id = ? AND status != ?",
        (SEARCH_CHARS, message_id, MessageStatus.STREAMING),
    )
