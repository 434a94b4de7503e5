"""Conversations, messages, images and vectors in one SQLite file: the single source of truth for history.

A package split by concern: `schema` (migrations, opening, recovery), `records` (typed values), `conversations`
(conversations, messages, search), `export`, `gallery`, `vectors`; `store.History` joins them.

Plain synchronous API, safe to call from any thread (one connection guarded by a lock). Callers run it off the GUI
thread through the shared worker. `History.open()` returns the same instance for the same file while anyone holds
it, so opening it again from another job never disturbs a reply that is still streaming.

Durability: WAL with `synchronous=NORMAL`, every call commits at once. A reply is stored as `streaming` and what
arrived since is appended by `append_streaming` (the caller throttles to about once a second); if the process dies, the next
process to open the file marks it `stopped` with finish reason `INTERRUPTED` (and nothing else does).

A file that cannot be read (corrupt, or written by a newer Parley) is moved aside, never deleted, and
`recovery_note` says where it went.
"""

from app.core.history.conversations import RANK_ALL_LIMIT, fts_query
from app.core.history.records import (
    DEFAULT_TITLE,
    Attachment,
    Conversation,
    ImageRecord,
    SearchHit,
    StoredMessage,
    auto_title,
)
from app.core.history.schema import FILE_NAME, MIGRATIONS, SCHEMA_VERSION, default_path, migrate
from app.core.history.store import History
from app.core.turns import FinishReason, MessageStatus

__all__ = [
    "DEFAULT_TITLE",
    "FILE_NAME",
    "MIGRATIONS",
    "RANK_ALL_LIMIT",
    "SCHEMA_VERSION",
    "Attachment",
    "Conversation",
    "FinishReason",
    "History",
    "ImageRecord",
    "MessageStatus",
    "SearchHit",
    "StoredMessage",
    "auto_title",
    "default_path",
    "fts_query",
    "migrate",
]
