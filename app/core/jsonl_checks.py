"""What Azure's fine-tuning and batch jobs accept in a JSONL file, checked locally before anything is uploaded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

FINE_TUNE_ROLES = ("system", "user", "assistant")
BATCH_URL = "/chat/completions"
BATCH_URLS = ("/chat/completions", "/v1/chat/completions", "/embeddings", "/v1/embeddings")


@dataclass(frozen=True)
class LineError:
    line: int  # 1-based
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def validate_jsonl(text: str, kind: str) -> list[LineError]:
    """Every problem in a fine-tune ("fine-tune") or batch ("batch") JSONL file, one `LineError` per line at most.
    Blank lines are skipped (Azure accepts a trailing newline); an empty file is one error on line 1."""
    if kind not in ("fine-tune", "batch"):
        raise ValueError(f"kind must be 'fine-tune' or 'batch', not {kind!r}")
    out: list[LineError] = []
    seen_ids: dict[str, int] = {}
    lines = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        lines += 1
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            out.append(LineError(number, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(obj, dict):
            out.append(LineError(number, f"expected a JSON object, found {_json_type(obj)}"))
            continue
        message = _check_fine_tune(obj) if kind == "fine-tune" else _check_batch(obj, number, seen_ids)
        if message:
            out.append(LineError(number, message))
    if lines == 0:
        out.append(LineError(1, "the file has no JSON lines"))
    return out


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number"
    )


def _check_fine_tune(obj: dict[str, Any]) -> str | None:
    messages = obj.get("messages")
    if messages is None:
        return "missing 'messages' (a list of {role, content})"
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list of {role, content}"
    assistants = 0
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(msg, dict):
            return f"{where} must be an object with 'role' and 'content'"
        role = msg.get("role")
        if role is None:
            return f"{where} has no 'role'"
        if role not in FINE_TUNE_ROLES:
            return f"{where}.role is '{role}'; use system, user or assistant"
        if "content" not in msg or msg.get("content") is None:
            return f"{where} has no 'content'"
        content = msg["content"]
        if not isinstance(content, str | list):
            return f"{where}.content must be text"
        if isinstance(content, str) and not content.strip() and role != "assistant":
            return f"{where}.content is empty"
        if role == "assistant":
            assistants += 1
    if assistants == 0:
        return "'messages' has no assistant message (the answer to learn)"
    return None


def _check_batch(obj: dict[str, Any], number: int, seen_ids: dict[str, int]) -> str | None:
    custom_id = obj.get("custom_id")
    if custom_id is None or (isinstance(custom_id, str) and not custom_id.strip()):
        return "missing 'custom_id'"
    if not isinstance(custom_id, str):
        return "'custom_id' must be a string"
    if custom_id in seen_ids:
        return f"'custom_id' '{custom_id}' repeats line {seen_ids[custom_id]}; each must be unique"
    seen_ids[custom_id] = number
    method = obj.get("method")
    if method is None:
        return "missing 'method' (must be \"POST\")"
    if method != "POST":
        return f"'method' is '{method}'; must be \"POST\""
    url = obj.get("url")
    if url is None:
        return f"missing 'url' (Azure uses \"{BATCH_URL}\")"
    if url not in BATCH_URLS:
        return f"'url' is '{url}'; Azure batch uses \"{BATCH_URL}\""
    body = obj.get("body")
    if body is None:
        return "missing 'body'"
    if not isinstance(body, dict):
        return "'body' must be an object"
    if not isinstance(body.get("model"), str) or not body.get("model", "").strip():
        return "'body.model' is missing (the global-batch deployment name)"
    if url.endswith("/chat/completions") and not isinstance(body.get("messages"), list):
        return "'body.messages' is missing (a list of {role, content})"
    return None
