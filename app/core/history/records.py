"""The typed values history hands out (conversations, messages, hits, images) and their conversion from rows: stored
JSON is decoded here, once, into `Usage`, `Verdict`s and a `Problem`."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from app.core import errors, filters
from app.core.events import Usage
from app.core.image_options import ImageUsage
from app.core.turns import FinishReason, MessageStatus

DEFAULT_TITLE = "New chat"
TITLE_WORDS = 6
TITLE_MAX_CHARS = 60


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
    status: MessageStatus
    finish_reason: FinishReason | None = None  # INTERRUPTED when Parley closed while it streamed
    request_id: str | None = None
    usage: Usage | None = None
    verdicts: tuple[filters.Verdict, ...] = ()  # content-filter verdicts (prompt ones on a user message)
    problem: errors.Problem | None = None  # what the message ended with (failed, filtered)
    attachments: tuple[Attachment, ...] = ()

    @property
    def interrupted(self) -> bool:
        """Parley closed (or crashed) before this answer finished; not a user's stop or barge-in."""
        return self.finish_reason is FinishReason.INTERRUPTED


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
    """One gallery image: the file on disk (PNG or JPEG: `format`), what made it, and for an edit its source."""

    id: int
    path: str
    prompt: str
    revised_prompt: str | None
    options_json: str
    deployment: str
    created_at: float
    deleted_at: float | None
    format: str = "png"  # png, jpeg or webp
    parent_id: int | None = None  # the gallery image this one was edited from
    usage: ImageUsage | None = None  # gpt-image's image token usage

    @property
    def options(self) -> dict[str, Any]:
        try:
            value = json.loads(self.options_json or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


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


# ---- JSON columns: written from typed values only, read back into them -----------------------------------


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _loads(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def usage_json(usage: Usage) -> str:
    _require(usage, Usage, "usage")
    return dumps(usage.to_json())  # cached and reasoning tokens too; Usage.from_obj reads both forms back


def verdicts_json(verdicts: Any) -> str:
    verdicts = list(verdicts)
    for v in verdicts:
        _require(v, filters.Verdict, "verdict")
    return dumps([v.to_json() for v in verdicts])


def problem_json(problem: errors.Problem) -> str:
    _require(problem, errors.Problem, "problem")
    return dumps(problem.to_json())


def _require(value: Any, kind: type, what: str) -> None:
    if not isinstance(value, kind):
        raise TypeError(f"history stores a {what} as {kind.__name__}, not {type(value).__name__}")


def _usage(text: str | None) -> Usage | None:
    data = _loads(text)
    return Usage.from_obj(data) if isinstance(data, dict) else None


def _verdicts(text: str | None) -> tuple[filters.Verdict, ...]:
    data = _loads(text)
    if not isinstance(data, list):
        return ()
    return tuple(filters.Verdict.from_json(v) for v in data if isinstance(v, dict))


def _problem(text: str | None) -> errors.Problem | None:
    data = _loads(text)
    return errors.problem_from_json(data) if isinstance(data, dict) else None


def _status(value: str) -> MessageStatus:
    try:
        return MessageStatus(value)
    except ValueError:  # a value a newer Parley might write: shown as a finished message
        return MessageStatus.COMPLETE


# ---- rows ---------------------------------------------------------------------------------------------------


def conversation(r: sqlite3.Row) -> Conversation:
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


def attachment(r: sqlite3.Row) -> Attachment:
    return Attachment(r["id"], r["message_id"], r["mime"], r["name"], r["data"], r["path"])


def message(r: sqlite3.Row, attachments: tuple[Attachment, ...], rest: str = "") -> StoredMessage:
    """`rest`: the text of the message's parts, after `messages.text` (schema v5)."""
    return StoredMessage(
        r["id"],
        r["conversation_id"],
        r["role"],
        r["text"] + rest if rest else r["text"],
        r["created_at"],
        _status(r["status"]),
        FinishReason.parse(r["finish_reason"]),
        r["request_id"],
        _usage(r["usage_json"]),
        _verdicts(r["filter_json"]),
        _problem(r["problem_json"]),
        attachments,
    )


def image(r: sqlite3.Row) -> ImageRecord:
    return ImageRecord(
        r["id"],
        r["path"],
        r["prompt"],
        r["revised_prompt"],
        r["options_json"],
        r["deployment"],
        r["created_at"],
        r["deleted_at"],
        r["format"] or "png",
        r["parent_id"],
        _image_usage(r["usage_json"]),
    )


def image_usage_json(usage: ImageUsage | None) -> str | None:
    if usage is None:
        return None
    _require(usage, ImageUsage, "image usage")
    return dumps(usage.to_json())


def _image_usage(text: str | None) -> ImageUsage | None:
    data = _loads(text)
    if not isinstance(data, dict):
        return None
    details = {"text_tokens": data.get("input_text_tokens"), "image_tokens": data.get("input_image_tokens")}
    return ImageUsage.from_obj({**data, "input_tokens_details": details})
