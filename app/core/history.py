"""Conversations, messages, images and vectors in one SQLite file: the single source of truth for history.

Plain synchronous API, safe to call from any thread (one connection guarded by a lock). Callers run it off the GUI
thread through the shared worker. `History.open()` returns the same instance for the same file while anyone holds
it, so opening it again from another job never disturbs a reply that is still streaming.

Durability: WAL with `synchronous=NORMAL`, every call commits at once. A reply is stored as `streaming` and its
text rewritten by `update_streaming` (the caller throttles to about once a second); if the process dies, the next
process to open the file marks it `stopped` with finish_reason `interrupted`.

A file that cannot be read (corrupt, or written by a newer Parley) is moved aside, never deleted, and
`recovery_note` says where it went.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core import paths

FILE_NAME = "history.sqlite3"
DEFAULT_TITLE = "New chat"
STATUSES = ("complete", "streaming", "stopped", "failed", "filtered")
TITLE_WORDS = 6
TITLE_MAX_CHARS = 60
RANK_ALL_LIMIT = 8000  # above this many matches, search returns the newest instead of ranking them all

# Ordered schema steps: MIGRATIONS[n] takes a file from user_version n to n + 1. Never edit a released step;
# append a new one.
MIGRATIONS: list[str] = [
    # v1
    """
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL DEFAULT 'New chat',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        pinned INTEGER NOT NULL DEFAULT 0,
        system_prompt TEXT NOT NULL DEFAULT '',
        deployment TEXT NOT NULL DEFAULT '',
        deleted_at REAL
    );
    CREATE INDEX conversations_order ON conversations (pinned DESC, updated_at DESC);

    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        status TEXT NOT NULL DEFAULT 'complete',
        finish_reason TEXT,
        request_id TEXT,
        usage_json TEXT,
        filter_json TEXT,
        problem_json TEXT,
        writer_pid INTEGER
    );
    CREATE INDEX messages_by_conversation ON messages (conversation_id, id);
    CREATE INDEX messages_streaming ON messages (status) WHERE status = 'streaming';

    CREATE TABLE attachments (
        id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        mime TEXT NOT NULL DEFAULT '',
        name TEXT NOT NULL DEFAULT '',
        data BLOB,
        path TEXT
    );
    CREATE INDEX attachments_by_message ON attachments (message_id);

    CREATE VIRTUAL TABLE messages_fts USING fts5 (
        text, content = 'messages', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
    );
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
    END;

    CREATE TABLE images (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        prompt TEXT NOT NULL DEFAULT '',
        revised_prompt TEXT,
        options_json TEXT NOT NULL DEFAULT '{}',
        deployment TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        deleted_at REAL
    );

    CREATE TABLE message_vectors (
        message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        dim INTEGER NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (message_id, model)
    ) WITHOUT ROWID;
    CREATE INDEX message_vectors_by_model ON message_vectors (model);
    -- An edited text makes its vectors stale.
    CREATE TRIGGER message_vectors_stale AFTER UPDATE OF text ON messages BEGIN
        DELETE FROM message_vectors WHERE message_id = new.id;
    END;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    created_at: float
    updated_at: float
    pinned: bool
    system_prompt: str
    deployment: str
    deleted_at: float | None


@dataclass(frozen=True)
class Attachment:
    id: int
    message_id: int
    mime: str
    name: str
    data: bytes | None  # a thumbnail or the full image
    path: str | None

    @classmethod
    def new(cls, mime: str, name: str = "", data: bytes | None = None, path: str | None = None) -> Attachment:
        """An attachment to pass to `add_message` (ids are filled in when stored)."""
        return cls(0, 0, mime, name, data, path)


@dataclass(frozen=True)
class StoredMessage:
    id: int
    conversation_id: int
    role: str
    text: str
    created_at: float
    status: str  # "complete" | "streaming" | "stopped" | "failed" | "filtered"
    finish_reason: str | None = None  # "interrupted" when the app died while it streamed
    request_id: str | None = None
    usage_json: dict[str, Any] | None = None  # {"prompt_tokens", "completion_tokens", "total_tokens"}
    filter_json: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # Verdict.to_json() dicts
    problem_json: dict[str, Any] | None = None  # Problem.to_json()
    attachments: tuple[Attachment, ...] = ()

    @property
    def interrupted(self) -> bool:
        return self.finish_reason == "interrupted"


@dataclass(frozen=True)
class SearchHit:
    message_id: int
    conversation_id: int
    conversation_title: str
    role: str
    snippet: str  # matches wrapped in [[ ]]
    rank: float  # bm25: lower is better


@dataclass(frozen=True)
class ImageRecord:
    id: int
    path: str
    prompt: str
    revised_prompt: str | None
    options_json: str
    deployment: str
    created_at: float
    deleted_at: float | None

    @property
    def options(self) -> dict[str, Any]:
        try:
            value = json.loads(self.options_json or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


class _Unreadable(Exception):
    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind  # "corrupt" or "newer"


_instances: weakref.WeakValueDictionary[str, History] = weakref.WeakValueDictionary()
_checked: set[str] = set()  # files already checked and recovered by this process
_notes: dict[str, str] = {}  # what the check found (moved aside), for every History opened on that file later
_instances_lock = threading.Lock()


def default_path() -> Path:
    return paths.data_dir() / FILE_NAME


class History:
    """Use `History.open()`; the constructor is internal."""

    def __init__(self, path: Path, conn: sqlite3.Connection, recovery_note: str | None):
        self.path = path
        self.recovery_note = recovery_note
        self._conn = conn
        self._lock = threading.RLock()
        self.vectors_generation = 0  # bumped by every store_vectors, so a cached matrix knows it is stale

    # ---- opening -------------------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str | None = None) -> History:
        path = Path(path) if path is not None else default_path()
        key = str(paths.ensure(path.parent).resolve() / path.name)
        with _instances_lock:
            existing = _instances.get(key)
            if existing is not None and existing._conn is not None:
                return existing
            first = key not in _checked
            conn, note = _open_checked(path, check=first)
            if first:
                _recover_streaming(conn)
                _checked.add(key)
                if note:
                    _notes[key] = note
            else:
                # Whoever opened it first (a search job, say) did the recovery: every later opener hears of it too.
                note = _notes.get(key)
            history = cls(path, conn, note)
            _instances[key] = history
            return history

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None  # type: ignore[assignment]

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    # ---- plumbing ------------------------------------------------------------------------------------------

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

    # ---- conversations -------------------------------------------------------------------------------------

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
        return _conversation(rows[0]) if rows else None

    def list_conversations(self, include_deleted: bool = False) -> list[Conversation]:
        where = "" if include_deleted else "WHERE deleted_at IS NULL"
        rows = self._query(
            f"SELECT * FROM conversations {where} ORDER BY pinned DESC, updated_at DESC, id DESC"
        )
        return [_conversation(r) for r in rows]

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
        status: str = "complete",
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
                    text or "",
                    now,
                    status,
                    os.getpid() if status == "streaming" else None,
                ),
            )
            mid = int(cur.lastrowid or 0)
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
        """An empty assistant message with status `streaming`, to fill with `update_streaming`."""
        return self.add_message(conversation_id, "assistant", "", status="streaming")

    def update_streaming(self, message_id: int, text: str) -> None:
        """Rewrite a streaming reply's text so far (cheap; call it about once a second and on every stop)."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE messages SET text = ? WHERE id = ? AND status = 'streaming'", (text, message_id)
            )

    def resume_streaming(self, message_id: int) -> None:
        """Mark a finished reply as streaming again (Continue after a dropped connection appends to it)."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE messages SET status = 'streaming', finish_reason = NULL, problem_json = NULL, "
                "writer_pid = ? WHERE id = ?",
                (os.getpid(), message_id),
            )

    def finish_message(
        self,
        message_id: int,
        text: str,
        status: str,
        *,
        finish_reason: str | None = None,
        request_id: str | None = None,
        usage: Any = None,
        filters: Iterable[Any] | None = None,
        problem: Any = None,
    ) -> None:
        """Final text and outcome of a message (also a user message whose prompt was filtered or failed).

        `usage`: `events.Usage` or dict; `filters`: `filters.Verdict`s or their dicts (replaces the stored list;
        None keeps it); `problem`: `errors.Problem` or its dict."""
        _check_status(status)
        usage_json = _dumps(_usage_dict(usage)) if usage is not None else None
        problem_json = _dumps(_to_json(problem)) if problem is not None else None
        with self._tx() as conn:
            sets = ["text = ?", "status = ?", "finish_reason = ?", "writer_pid = NULL"]
            args: list[Any] = [text, status, finish_reason]
            if request_id is not None:
                sets.append("request_id = ?")
                args.append(request_id)
            if usage_json is not None:
                sets.append("usage_json = ?")
                args.append(usage_json)
            if filters is not None:
                sets.append("filter_json = ?")
                args.append(_dumps([_to_json(v) for v in filters]))
            if problem_json is not None:
                sets.append("problem_json = ?")
                args.append(problem_json)
            args.append(message_id)
            conn.execute(f"UPDATE messages SET {', '.join(sets)} WHERE id = ?", args)
            conn.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = "
                "(SELECT conversation_id FROM messages WHERE id = ?)",
                (time.time(), message_id),
            )

    def set_filters(self, message_id: int, filters: Iterable[Any]) -> None:
        """Replace a message's verdicts (a late, asynchronous verdict can arrive after the text)."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE messages SET filter_json = ? WHERE id = ?",
                (_dumps([_to_json(v) for v in filters]), message_id),
            )

    def update_message_text(self, message_id: int, text: str) -> None:
        """Edit a message's text (edit and resend); clears a previous problem on it."""
        with self._tx() as conn:
            conn.execute("UPDATE messages SET text = ?, problem_json = NULL WHERE id = ?", (text, message_id))

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
        return _message(rows[0], tuple(_attachment(a) for a in atts))

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
        by_message: dict[int, list[Attachment]] = {}
        for a in att_rows:
            by_message.setdefault(a["message_id"], []).append(_attachment(a))
        return [_message(r, tuple(by_message.get(r["id"], ()))) for r in rows]

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

    # ---- export --------------------------------------------------------------------------------------------

    def export_json(self, conversation_id: int) -> dict[str, Any]:
        """Everything stored about a conversation (attachment bytes as base64). Holds no keys or secrets."""
        conv = self.get_conversation(conversation_id)
        if conv is None:
            raise KeyError(conversation_id)
        return {
            "format": "parley-conversation",
            "schema_version": SCHEMA_VERSION,
            "exported_at": _iso(time.time()),
            "conversation": {
                **dataclasses.asdict(conv),
                "created": _iso(conv.created_at),
                "updated": _iso(conv.updated_at),
            },
            "messages": [
                {
                    "id": m.id,
                    "role": m.role,
                    "text": m.text,
                    "created_at": m.created_at,
                    "created": _iso(m.created_at),
                    "status": m.status,
                    "finish_reason": m.finish_reason,
                    "request_id": m.request_id,
                    "usage": m.usage_json,
                    "filters": m.filter_json,
                    "problem": m.problem_json,
                    "attachments": [
                        {
                            "id": a.id,
                            "mime": a.mime,
                            "name": a.name,
                            "path": a.path,
                            "data_base64": base64.b64encode(a.data).decode("ascii")
                            if a.data is not None
                            else None,
                        }
                        for a in m.attachments
                    ],
                }
                for m in self.messages(conversation_id)
            ],
        }

    def export_markdown(self, conversation_id: int) -> str:
        conv = self.get_conversation(conversation_id)
        if conv is None:
            raise KeyError(conversation_id)
        out = [f"# {conv.title}", ""]
        meta = [f"Created {_iso(conv.created_at)}"]
        if conv.deployment:
            meta.append(f"deployment `{conv.deployment}`")
        out += ["_" + ", ".join(meta) + "_", ""]
        if conv.system_prompt.strip():
            out += ["**System prompt**", ""]
            out += ["> " + line if line else ">" for line in conv.system_prompt.splitlines()]
            out.append("")
        for m in self.messages(conversation_id):
            out += [f"## {m.role.capitalize()}", ""]
            if m.text:
                out += [m.text, ""]
            for a in m.attachments:
                label = a.name or "image"
                if a.mime.startswith("image/"):
                    out += [f"![{label}](attachment) _(image attachment, {a.mime})_", ""]
                else:
                    out += [f"_Attachment: {label} ({a.mime})_", ""]
            note = _status_note(m)
            if note:
                out += [f"_{note}_", ""]
            for v in m.filter_json:
                fnote = _verdict_note(v)
                if fnote:
                    out += [f"> **Content filter ({v.get('source', 'completion')})**: {fnote}", ""]
            if m.problem_json:
                p = m.problem_json
                rid = f" (request id {p['request_id']})" if p.get("request_id") else ""
                out += [
                    f"> **{p.get('title', 'Problem')}**: {p.get('detail', '')} {p.get('action', '')}".rstrip()
                    + rid,
                    "",
                ]
            if m.usage_json:
                u = m.usage_json
                out += [
                    f"_Tokens: {u.get('prompt_tokens', 0)} prompt, {u.get('completion_tokens', 0)} completion, "
                    f"{u.get('total_tokens', 0)} total_",
                    "",
                ]
        return "\n".join(out).rstrip() + "\n"

    # ---- images gallery ------------------------------------------------------------------------------------

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
        options_json = _dumps(options or {})
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
            _image(r) for r in self._query(f"SELECT * FROM images {where} ORDER BY created_at DESC, id DESC")
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

    # ---- vectors (semantic search) -------------------------------------------------------------------------

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


# ---- opening, checking, migrating --------------------------------------------------------------------------


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    return conn


def _prepare(conn: sqlite3.Connection, check: bool) -> None:
    """Pragmas, integrity check and migrations; raises _Unreadable for a file we must not touch."""
    conn.execute("PRAGMA busy_timeout = 10000")
    version = int(
        conn.execute("PRAGMA user_version").fetchone()[0]
    )  # a file that is not a database fails here
    if version > SCHEMA_VERSION:
        raise _Unreadable("newer")  # before any write, so the newer file is moved aside untouched
    conn.execute("PRAGMA journal_mode = WAL").fetchone()
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    if check:
        result = conn.execute("PRAGMA quick_check").fetchone()
        if result is None or result[0] != "ok":
            raise _Unreadable("corrupt")
    migrate(conn, version)


def migrate(conn: sqlite3.Connection, from_version: int) -> int:
    """Apply MIGRATIONS[from_version:], each in its own transaction together with its user_version bump."""
    for target in range(from_version + 1, SCHEMA_VERSION + 1):
        script = MIGRATIONS[target - 1]
        try:
            conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {target};\nCOMMIT;")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


def _open_checked(path: Path, check: bool) -> tuple[sqlite3.Connection, str | None]:
    paths.ensure(path.parent)
    kind = (
        "corrupt" if _not_sqlite(path) else ""
    )  # checked before SQLite opens it (and might tidy its -wal away)
    if not kind:
        conn = _connect(path)
        try:
            _prepare(conn, check)
            return conn, None
        except (_Unreadable, sqlite3.DatabaseError) as exc:
            conn.close()
            if isinstance(exc, sqlite3.DatabaseError) and not _is_corruption(exc):
                raise
            kind = exc.kind if isinstance(exc, _Unreadable) else "corrupt"
    moved = _move_aside(path, kind)
    if kind == "newer":
        note = (
            f"Your history file was written by a newer version of Parley and could not be read; it was moved to "
            f"{moved}. Parley started a new one."
        )
    else:
        note = f"Your history file could not be read; it was moved to {moved}. Parley started a new one."
    conn = _connect(path)
    _prepare(conn, check=False)
    return conn, note


def _not_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except FileNotFoundError:
        return False
    return bool(head) and head != b"SQLite format 3\x00"


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    if type(exc) is sqlite3.DatabaseError:
        return True
    text = str(exc).lower()
    return any(s in text for s in ("not a database", "malformed", "corrupt", "file is encrypted"))


def _move_aside(path: Path, kind: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.{kind}-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.{kind}-{stamp}-{n}")
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        side = Path(str(path) + suffix)
        if side.exists():
            os.replace(side, Path(str(target) + suffix))
    return target


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # no instance of this file is open in this process yet, so nothing of ours is streaming
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _recover_streaming(conn: sqlite3.Connection) -> int:
    """Replies left `streaming` by a process that is gone become `stopped` / `interrupted` (text kept)."""
    rows = conn.execute("SELECT id, writer_pid FROM messages WHERE status = 'streaming'").fetchall()
    dead = [r["id"] for r in rows if r["writer_pid"] is None or not _pid_alive(int(r["writer_pid"]))]
    if dead:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "UPDATE messages SET status = 'stopped', finish_reason = 'interrupted', writer_pid = NULL "
            "WHERE id = ?",
            [(i,) for i in dead],
        )
        conn.execute("COMMIT")
    return len(dead)


# ---- search query ------------------------------------------------------------------------------------------

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


# ---- row conversion and helpers ----------------------------------------------------------------------------


def auto_title(text: str) -> str:
    """The first ~6 words of the first user message, as a conversation title."""
    words = (text or "").split()
    if not words:
        return ""
    title = " ".join(words[:TITLE_WORDS])
    if len(title) > TITLE_MAX_CHARS:
        title = title[: TITLE_MAX_CHARS - 1].rstrip()
    return title + (
        "…" if len(words) > TITLE_WORDS or len(" ".join(words[:TITLE_WORDS])) > TITLE_MAX_CHARS else ""
    )


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown message status {status!r}; expected one of {STATUSES}")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _loads(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def _to_json(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return value.to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def _usage_dict(usage: Any) -> dict[str, Any]:
    if isinstance(usage, dict):
        return dict(usage)
    if dataclasses.is_dataclass(usage) and not isinstance(usage, type):
        return dataclasses.asdict(usage)
    return {k: int(getattr(usage, k, 0) or 0) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}


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


def _conversation(r: sqlite3.Row) -> Conversation:
    return Conversation(
        r["id"],
        r["title"],
        r["created_at"],
        r["updated_at"],
        bool(r["pinned"]),
        r["system_prompt"],
        r["deployment"],
        r["deleted_at"],
    )


def _attachment(r: sqlite3.Row) -> Attachment:
    return Attachment(r["id"], r["message_id"], r["mime"], r["name"], r["data"], r["path"])


def _message(r: sqlite3.Row, attachments: tuple[Attachment, ...]) -> StoredMessage:
    return StoredMessage(
        r["id"],
        r["conversation_id"],
        r["role"],
        r["text"],
        r["created_at"],
        r["status"],
        r["finish_reason"],
        r["request_id"],
        _loads(r["usage_json"], None),
        _loads(r["filter_json"], []),
        _loads(r["problem_json"], None),
        attachments,
    )


def _image(r: sqlite3.Row) -> ImageRecord:
    return ImageRecord(
        r["id"],
        r["path"],
        r["prompt"],
        r["revised_prompt"],
        r["options_json"],
        r["deployment"],
        r["created_at"],
        r["deleted_at"],
    )


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(ts))


def _status_note(m: StoredMessage) -> str:
    if m.status == "stopped" and m.finish_reason == "interrupted":
        return "Interrupted: Parley closed before this answer finished."
    if m.status == "stopped":
        return "Stopped before the answer finished."
    if m.status == "streaming":
        return "Still being written when exported."
    if m.status == "failed":
        return "Failed."
    if m.status == "filtered":
        return "Filtered by Azure's content filter."
    if m.finish_reason == "length":
        return "Cut off at the token limit."
    return ""


def _verdict_note(v: dict[str, Any]) -> str:
    parts = []
    for c in v.get("categories", []):
        sev = c.get("severity")
        notable = c.get("filtered") or c.get("detected") or (sev not in (None, "safe"))
        if not notable:
            continue
        state = sev if sev is not None else ("detected" if c.get("detected") else "matched")
        label = str(c.get("name", "")).replace("_", " ").capitalize()
        parts.append(f"{label} ({state}{', filtered' if c.get('filtered') else ''})")
    return ", ".join(parts)
