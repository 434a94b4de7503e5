"""A conversation exported as JSON (everything stored) or Markdown (for reading), from the typed messages."""

from __future__ import annotations

import base64
import dataclasses
import time
from typing import TYPE_CHECKING, Any

from app.core import filters
from app.core.events import Usage
from app.core.history.base import Base
from app.core.history.records import StoredMessage
from app.core.history.schema import SCHEMA_VERSION
from app.core.turns import FinishReason, MessageStatus

if TYPE_CHECKING:
    from app.core.history.records import Conversation


class Export(Base):
    if TYPE_CHECKING:  # from Conversations, which History also derives from

        def get_conversation(self, conversation_id: int) -> Conversation | None: ...
        def messages(self, conversation_id: int) -> list[StoredMessage]: ...

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
                    "usage": _usage_json(m.usage),
                    "filters": [v.to_json() for v in m.verdicts],
                    "problem": m.problem.to_json() if m.problem is not None else None,
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
            for v in m.verdicts:
                fnote = _verdict_note(v)
                if fnote:
                    out += [f"> **Content filter ({v.source})**: {fnote}", ""]
            if m.problem is not None:
                p = m.problem
                rid = f" (request id {p.request_id})" if p.request_id else ""
                out += [f"> **{p.title or 'Problem'}**: {p.detail} {p.action}".rstrip() + rid, ""]
            if m.usage is not None:
                u = m.usage
                out += [
                    f"_Tokens: {u.prompt_tokens} prompt, {u.completion_tokens} completion, {u.total_tokens} total_",
                    "",
                ]
        return "\n".join(out).rstrip() + "\n"


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(ts))


def _usage_json(usage: Usage | None) -> dict[str, int] | None:
    return dataclasses.asdict(usage) if usage is not None else None


def _status_note(m: StoredMessage) -> str:
    if m.interrupted:
        return "Interrupted: Parley closed before this answer finished."
    notes = {
        MessageStatus.STOPPED: "Stopped before the answer finished.",
        MessageStatus.STREAMING: "Still being written when exported.",
        MessageStatus.FAILED: "Failed.",
        MessageStatus.FILTERED: "Filtered by Azure's content filter.",
    }
    if m.status in notes:
        return notes[m.status]
    if m.finish_reason is FinishReason.LENGTH:
        return "Cut off at the token limit."
    return ""


def _verdict_note(v: filters.Verdict) -> str:
    parts = []
    for c in v.categories:
        notable = c.filtered or c.detected or (c.severity not in (None, "safe"))
        if not notable:
            continue
        state = c.severity if c.severity is not None else ("detected" if c.detected else "matched")
        label = c.name.replace("_", " ").capitalize()
        parts.append(f"{label} ({state}{', filtered' if c.filtered else ''})")
    return ", ".join(parts)
