"""The history file itself: schema migrations, opening with an integrity check, moving an unreadable file aside,
and recovering replies a dead process left streaming (marked stopped / interrupted)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from app.core import paths
from app.core.turns import FinishReason, MessageStatus

if TYPE_CHECKING:
    from app.core.history.store import History

FILE_NAME = "history.sqlite3"

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
    # v2: the gallery keeps each image's file format, its edit lineage (the source image) and image token usage.
    """
    ALTER TABLE images ADD COLUMN format TEXT NOT NULL DEFAULT 'png';
    ALTER TABLE images ADD COLUMN parent_id INTEGER;
    ALTER TABLE images ADD COLUMN usage_json TEXT;
    """,
    # v3: a reply is indexed for search once it stops streaming, not re-tokenized into the index every second while
    # it streams, and only its first SEARCH_CHARS characters are (a 10 MB answer took the app to hundreds of MB).
    # The index holds exactly `substr(text, 1, 1000000)` of the rows whose status is not 'streaming'.
    """
    INSERT INTO messages_fts (messages_fts, rowid, text)
        SELECT 'delete', id, text FROM messages WHERE status = 'streaming' OR length(text) > 1000000;
    INSERT INTO messages_fts (rowid, text)
        SELECT id, substr(text, 1, 1000000) FROM messages WHERE status != 'streaming' AND length(text) > 1000000;
    DROP TRIGGER messages_fts_insert;
    DROP TRIGGER messages_fts_delete;
    DROP TRIGGER messages_fts_update;
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.status != 'streaming' BEGIN
        INSERT INTO messages_fts (rowid, text) VALUES (new.id, substr(new.text, 1, 1000000));
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.status != 'streaming' BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, substr(old.text, 1, 1000000));
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, status ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text)
            SELECT 'delete', old.id, substr(old.text, 1, 1000000) WHERE old.status != 'streaming';
        INSERT INTO messages_fts (rowid, text)
            SELECT new.id, substr(new.text, 1, 1000000) WHERE new.status != 'streaming';
    END;
    """,
    # v4: no trigger reads a message's text when a streaming reply grows (`text = text || ?` about once a second):
    # SQLite loads every old./new. column a trigger names for each UPDATE OF those columns, even when its WHEN is
    # false, so v3's update trigger copied a 10 MB reply twice more on every save. A reply is indexed by a trigger
    # when it stops streaming (UPDATE OF status, naming new.text only); the rare edits of a finished message's text
    # and a reply streaming again (Continue) update the index in `conversations.py` (`_reindexed`, `resume_streaming`).
    """
    DROP TRIGGER messages_fts_update;
    CREATE TRIGGER messages_fts_done AFTER UPDATE OF status ON messages
        WHEN old.status = 'streaming' AND new.status != 'streaming' BEGIN
        INSERT INTO messages_fts (rowid, text) VALUES (new.id, substr(new.text, 1, 1000000));
    END;
    """,
    # v5: `messages.text` keeps a message's first SEARCH_CHARS characters (what search indexes) and `message_parts`
    # the rest, in the order written. A streaming reply past that size is appended as new parts instead of a row
    # rewritten about once a second: SQLite took three times a 10 MB row's size to rewrite it (#16). Rows older
    # than v5 keep their whole text in `messages.text`, which readers handle alike.
    """
    CREATE TABLE message_parts (
        id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        text TEXT NOT NULL
    );
    CREATE INDEX message_parts_by_message ON message_parts (message_id, id);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
SEARCH_CHARS = 1_000_000  # of a message's text, indexed for search (v3's and v4's triggers)


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


def _connect(path: Path) -> sqlite3.Connection:
    if not path.exists():
        # Created 0600 before SQLite opens it: SQLite gives the -wal and -shm it makes the database's own mode.
        os.close(paths.private_open(path, os.O_WRONLY | os.O_CREAT))
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
    rows = conn.execute(
        "SELECT id, writer_pid FROM messages WHERE status = ?", (MessageStatus.STREAMING,)
    ).fetchall()
    dead = [r["id"] for r in rows if r["writer_pid"] is None or not _pid_alive(int(r["writer_pid"]))]
    if dead:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "UPDATE messages SET status = ?, finish_reason = ?, writer_pid = NULL WHERE id = ?",
            [(MessageStatus.STOPPED, FinishReason.INTERRUPTED, i) for i in dead],
        )
        conn.execute("COMMIT")
    return len(dead)
