"""Fine-tuning jobs, batch jobs and their JSONL files: thin typed wrappers that raise `ParleyError`, and a JSONL
checker that names the line and field before anything is uploaded.

Azure's batch endpoint is `/chat/completions` (no `/v1`), and the batch file's `model` is a global-batch deployment.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from app.core import errors
from app.core.cancel import CancelToken
from app.core.retry import retrying

if TYPE_CHECKING:  # types only: importing them costs start-up time
    from openai import AzureOpenAI

T = TypeVar("T")

FINE_TUNE_ROLES = ("system", "user", "assistant")
BATCH_URL = "/chat/completions"
BATCH_URLS = ("/chat/completions", "/v1/chat/completions", "/embeddings", "/v1/embeddings")
MAX_LISTED_ERRORS = 5
_JOBS = errors.Context("jobs")


@dataclass(frozen=True)
class FineTuneJob:
    id: str
    model: str | None
    status: str
    created_at: int | None = None
    finished_at: int | None = None
    trained_tokens: int | None = None
    error: str | None = None
    training_file: str | None = None
    fine_tuned_model: str | None = None


@dataclass(frozen=True)
class JobEvent:
    id: str
    created_at: int | None
    level: str
    message: str


@dataclass(frozen=True)
class RequestCounts:
    total: int = 0
    completed: int = 0
    failed: int = 0


@dataclass(frozen=True)
class BatchJob:
    id: str
    status: str
    endpoint: str
    created_at: int | None = None
    request_counts: RequestCounts = RequestCounts()
    errors: tuple[str, ...] = ()
    input_file_id: str | None = None
    output_file_id: str | None = None


@dataclass(frozen=True)
class UploadedFile:
    id: str
    filename: str
    purpose: str
    bytes: int
    status: str | None = None
    created_at: int | None = None


@dataclass(frozen=True)
class LineError:
    line: int  # 1-based
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


# -- calls ----------------------------------------------------------------------------------------------------
def _run(
    call: Callable[[], T], ctx: errors.Context | None, cancel: CancelToken | None, max_retries: int
) -> T:
    """`call` inside our retries (their waits are not shown: these are short calls); failures raise ParleyError."""
    gen = retrying(call, cancel=cancel or CancelToken(), max_retries=max_retries, ctx=ctx or _JOBS)
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return stop.value


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _error_text(err: Any) -> str | None:
    if not err:
        return None
    message, code = _get(err, "message"), _get(err, "code")
    if message or code:
        return f"{message or ''}{f' ({code})' if code and message else code or ''}".strip()
    return None


def fine_tune_job(obj: Any) -> FineTuneJob:
    return FineTuneJob(
        id=str(_get(obj, "id", "")),
        model=_get(obj, "model"),
        status=str(_get(obj, "status", "") or ""),
        created_at=_get(obj, "created_at"),
        finished_at=_get(obj, "finished_at"),
        trained_tokens=_get(obj, "trained_tokens"),
        error=_error_text(_get(obj, "error")),
        training_file=_get(obj, "training_file"),
        fine_tuned_model=_get(obj, "fine_tuned_model"),
    )


def job_event(obj: Any) -> JobEvent:
    return JobEvent(
        str(_get(obj, "id", "")),
        _get(obj, "created_at"),
        str(_get(obj, "level", "") or ""),
        str(_get(obj, "message", "") or ""),
    )


def batch_job(obj: Any) -> BatchJob:
    counts = _get(obj, "request_counts")
    errs = _get(obj, "errors")
    items = _get(errs, "data") if errs is not None else None
    messages = []
    for item in items or []:
        line = _get(item, "line")
        text = _error_text(item) or "error"
        messages.append(f"line {line}: {text}" if line else text)
    return BatchJob(
        id=str(_get(obj, "id", "")),
        status=str(_get(obj, "status", "") or ""),
        endpoint=str(_get(obj, "endpoint", "") or ""),
        created_at=_get(obj, "created_at"),
        request_counts=RequestCounts(
            int(_get(counts, "total", 0) or 0),
            int(_get(counts, "completed", 0) or 0),
            int(_get(counts, "failed", 0) or 0),
        )
        if counts is not None
        else RequestCounts(),
        errors=tuple(messages),
        input_file_id=_get(obj, "input_file_id"),
        output_file_id=_get(obj, "output_file_id"),
    )


def uploaded_file(obj: Any) -> UploadedFile:
    return UploadedFile(
        str(_get(obj, "id", "")),
        str(_get(obj, "filename", "") or ""),
        str(_get(obj, "purpose", "") or ""),
        int(_get(obj, "bytes", 0) or 0),
        _get(obj, "status"),
        _get(obj, "created_at"),
    )


def list_fine_tuning_jobs(
    client: AzureOpenAI,
    *,
    limit: int = 50,
    ctx: errors.Context | None = None,
    cancel: CancelToken | None = None,
    max_retries: int = 2,
) -> list[FineTuneJob]:
    page = _run(lambda: client.fine_tuning.jobs.list(limit=limit), ctx, cancel, max_retries)
    return [fine_tune_job(j) for j in (getattr(page, "data", None) or [])]


def get_fine_tuning_job(
    client: AzureOpenAI,
    job_id: str,
    *,
    ctx: errors.Context | None = None,
    cancel: CancelToken | None = None,
    max_retries: int = 2,
) -> FineTuneJob:
    return fine_tune_job(_run(lambda: client.fine_tuning.jobs.retrieve(job_id), ctx, cancel, max_retries))


def fine_tuning_events(
    client: AzureOpenAI,
    job_id: str,
    *,
    limit: int = 50,
    ctx: errors.Context | None = None,
    cancel: CancelToken | None = None,
    max_retries: int = 2,
) -> list[JobEvent]:
    page = _run(lambda: client.fine_tuning.jobs.list_events(job_id, limit=limit), ctx, cancel, max_retries)
    return [job_event(e) for e in (getattr(page, "data", None) or [])]


def cancel_fine_tuning_job(
    client: AzureOpenAI,
    job_id: str,
    *,
    ctx: errors.Context | None = None,
    cancel: CancelToken | None = None,
    max_retries: int = 0,
) -> FineTuneJob:
    return fine_tune_job(_run(lambda: client.fine_tuning.jobs.cancel(job_id), ctx, cancel, max_retries))


def create_fine_tuning_job(
    client: AzureOpenAI,
    training_file: str,
    model: str,
    *,
    validation_file: str | None = None,
    suffix: str | None = None,
    ctx: errors.Context | None = None,
    cancel: CancelToken | None = None,
) -> FineTuneJob:
    options: dict[str, Any] = {}
    if validation_file:
        options["validation_file"] = validation_file
    if suffix:
        options["suffix"] = suffix
    return fine_tune_job(
        _run(
            lambda: client.fine_tuning.jobs.create(training_file=training_file, model=model, **options),
            ctx,
            cancel,
            0,
        )
    )


def list_batches(
    client: AzureOpenAI,
    *,
    limit: int = 50,
    ctx: errors.Context | None = None,
    cancel: CancelToken | None = None,
    max_retries: int = 2,
) -> list[BatchJob]:
    page = _run(lambda: client.batches.list(limit=limit), ctx, cancel, max_retries)
    return [batch_job(b) for b in (getattr(page, "data", None) or [])]


def get_batch(
    client: AzureOpenAI,
    batch_id: str,
    *,
    ctx: errors.Context | None = None,
    cancel: CancelToken | None = None,
    max_retries: int = 2,
) -> BatchJob:
    return batch_job(_run(lambda: client.batches.retrieve(batch_id), ctx, cancel, max_retries))


def create_batch(
    client: AzureOpenAI,
    input_file_id: str,
    *,
    endpoint: str = BATCH_URL,
    completion_window: Literal["24h"] = "24h",
    ctx: errors.Context | None = None,
    cancel: CancelToken | None = None,
) -> BatchJob:
    return batch_job(
        _run(
            lambda: client.batches.create(
                # Azure's paths have no /v1 prefix ("/chat/completions"), which openai's Literal does not list.
                input_file_id=input_file_id,
                endpoint=endpoint,  # type: ignore[arg-type]
                completion_window=completion_window,
            ),
            ctx,
            cancel,
            0,
        )
    )


def cancel_batch(
    client: AzureOpenAI,
    batch_id: str,
    *,
    ctx: errors.Context | None = None,
    cancel: CancelToken | None = None,
) -> BatchJob:
    return batch_job(_run(lambda: client.batches.cancel(batch_id), ctx, cancel, 0))


def upload_file(
    client: AzureOpenAI,
    path: str | Path,
    purpose: Literal["fine-tune", "batch"],
    *,
    ctx: errors.Context | None = None,
    cancel: CancelToken | None = None,
    max_retries: int = 0,
) -> UploadedFile:
    """Check the JSONL (purpose "fine-tune" or "batch"), then upload it. A bad file raises `ParleyError` BAD_REQUEST
    whose detail lists up to five `line N: ...` problems; nothing is sent."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise errors.ParleyError(
            errors.Problem(
                errors.Kind.CONFIG,
                "Cannot read the file",
                f"{path}: {exc.strerror or exc}",
                "Choose another file.",
            )
        ) from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise errors.ParleyError(
            errors.Problem(
                errors.Kind.BAD_REQUEST,
                "Not a UTF-8 text file",
                f"{path.name} is not UTF-8 text (byte {exc.start}).",
                "Save the file as UTF-8 JSON Lines.",
            )
        ) from exc
    kind = "fine-tune" if purpose.startswith("fine-tune") else "batch"
    problems = validate_jsonl(text, kind)
    if problems:
        shown = "; ".join(str(p) for p in problems[:MAX_LISTED_ERRORS])
        more = f" (and {len(problems) - MAX_LISTED_ERRORS} more)" if len(problems) > MAX_LISTED_ERRORS else ""
        raise errors.ParleyError(
            errors.Problem(
                errors.Kind.BAD_REQUEST,
                f"{path.name} has {len(problems)} problem{'s' if len(problems) != 1 else ''}",
                shown + more,
                "Fix these lines and upload again; nothing was sent.",
            )
        )
    result = _run(
        lambda: client.files.create(file=(path.name, data, "application/jsonl"), purpose=purpose),
        ctx,
        cancel,
        max_retries,
    )
    return uploaded_file(result)


# -- JSONL checks -----------------------------------------------------------------------------------------
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
