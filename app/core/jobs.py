"""Fine-tuning jobs, batch jobs and their JSONL files: thin typed wrappers that raise `ParleyError`, and a JSONL
checker that names the line and field before anything is uploaded.

Azure's batch endpoint is `/chat/completions` (no `/v1`), and the batch file's `model` is a global-batch deployment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from app.core import errors, paths
from app.core.cancel import CancelToken
from app.core.deadline import DEFAULT_TIMEOUT, timeout_of, watched
from app.core.jsonl_checks import BATCH_URL, LineError, validate_jsonl  # noqa: F401 - part of jobs' API
from app.core.netio import cancellable, shaped
from app.core.retry import retrying

if TYPE_CHECKING:  # types only: importing them costs start-up time
    from openai import AzureOpenAI

T = TypeVar("T")

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


# -- calls ----------------------------------------------------------------------------------------------------
def _run(
    call: Callable[[], Any],
    convert: Callable[[Any], T],
    ctx: errors.Context | None,
    cancel: CancelToken | None,
    max_retries: int,
    timeout: float = DEFAULT_TIMEOUT,
    member: str | None = None,
) -> T:
    """`convert` of the reply of `call` (a `with_raw_response` call) inside our retries (their waits are not shown:
    these are short calls); failures raise ParleyError. A 200 that is not the JSON object asked for (a proxy's
    page, `{"data": 5}`) is an unexpected reply (`netio.shaped`), not an AttributeError in openai's page or ours.
    The whole operation, retries included, is bounded by `timeout` (`deadline.watched` cuts a hung attempt)."""
    cancel = cancel or CancelToken()
    start_by = time.monotonic() + timeout

    def attempt_once(request: CancelToken, _feed: Callable[[], None]) -> T:
        with cancellable(request):
            return shaped(call(), convert, member)

    def attempt() -> T:
        return watched(attempt_once, cancel, timeout=timeout, start_by=start_by)

    gen = retrying(attempt, cancel=cancel, max_retries=max_retries, ctx=ctx or _JOBS, deadline=start_by)
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return stop.value


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    if isinstance(obj, str | bytes | int | float | list):  # JSON of another shape: not a job with no fields
        raise TypeError(f"{type(obj).__name__} where an object was due")
    return getattr(obj, name, default)


def _listed(convert: Callable[[Any], T]) -> Callable[[Any], list[T]]:
    """A list page's items, each converted; a `data` that is not a list is a TypeError (an unexpected reply)."""

    def items(page: Any) -> list[T]:
        data = _get(page, "data")
        if not isinstance(data, list):
            raise TypeError(f"data is {type(data).__name__}, not a list")
        return [convert(item) for item in data]

    return items


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
    return _run(
        lambda: client.fine_tuning.jobs.with_raw_response.list(limit=limit),
        _listed(fine_tune_job),
        ctx,
        cancel,
        max_retries,
        timeout=timeout_of(client),
        member="data",
    )


def get_fine_tuning_job(
    client: AzureOpenAI,
    job_id: str,
    *,
    ctx: errors.Context | None = None,
    cancel: CancelToken | None = None,
    max_retries: int = 2,
) -> FineTuneJob:
    return _run(
        lambda: client.fine_tuning.jobs.with_raw_response.retrieve(job_id),
        fine_tune_job,
        ctx,
        cancel,
        max_retries,
        timeout=timeout_of(client),
    )


def fine_tuning_events(
    client: AzureOpenAI,
    job_id: str,
    *,
    limit: int = 50,
    ctx: errors.Context | None = None,
    cancel: CancelToken | None = None,
    max_retries: int = 2,
) -> list[JobEvent]:
    return _run(
        lambda: client.fine_tuning.jobs.with_raw_response.list_events(job_id, limit=limit),
        _listed(job_event),
        ctx,
        cancel,
        max_retries,
        timeout=timeout_of(client),
        member="data",
    )


def cancel_fine_tuning_job(
    client: AzureOpenAI,
    job_id: str,
    *,
    ctx: errors.Context | None = None,
    cancel: CancelToken | None = None,
    max_retries: int = 0,
) -> FineTuneJob:
    return _run(
        lambda: client.fine_tuning.jobs.with_raw_response.cancel(job_id),
        fine_tune_job,
        ctx,
        cancel,
        max_retries,
        timeout=timeout_of(client),
    )


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
    return _run(
        lambda: client.fine_tuning.jobs.with_raw_response.create(
            training_file=training_file, model=model, **options
        ),
        fine_tune_job,
        ctx,
        cancel,
        0,
        timeout=timeout_of(client),
    )


def list_batches(
    client: AzureOpenAI,
    *,
    limit: int = 50,
    ctx: errors.Context | None = None,
    cancel: CancelToken | None = None,
    max_retries: int = 2,
) -> list[BatchJob]:
    return _run(
        lambda: client.batches.with_raw_response.list(limit=limit),
        _listed(batch_job),
        ctx,
        cancel,
        max_retries,
        timeout=timeout_of(client),
        member="data",
    )


def get_batch(
    client: AzureOpenAI,
    batch_id: str,
    *,
    ctx: errors.Context | None = None,
    cancel: CancelToken | None = None,
    max_retries: int = 2,
) -> BatchJob:
    return _run(
        lambda: client.batches.with_raw_response.retrieve(batch_id),
        batch_job,
        ctx,
        cancel,
        max_retries,
        timeout=timeout_of(client),
    )


def create_batch(
    client: AzureOpenAI,
    input_file_id: str,
    *,
    endpoint: str = BATCH_URL,
    completion_window: Literal["24h"] = "24h",
    ctx: errors.Context | None = None,
    cancel: CancelToken | None = None,
) -> BatchJob:
    return _run(
        lambda: client.batches.with_raw_response.create(
            # Azure's paths have no /v1 prefix ("/chat/completions"), which openai's Literal does not list.
            input_file_id=input_file_id,
            endpoint=endpoint,  # type: ignore[arg-type]
            completion_window=completion_window,
        ),
        batch_job,
        ctx,
        cancel,
        0,
        timeout=timeout_of(client),
    )


def cancel_batch(
    client: AzureOpenAI,
    batch_id: str,
    *,
    ctx: errors.Context | None = None,
    cancel: CancelToken | None = None,
) -> BatchJob:
    return _run(
        lambda: client.batches.with_raw_response.cancel(batch_id),
        batch_job,
        ctx,
        cancel,
        0,
        timeout=timeout_of(client),
    )


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
    return _run(
        lambda: client.files.with_raw_response.create(
            file=(paths.wire_name(path.name), data, "application/jsonl"), purpose=purpose
        ),
        uploaded_file,
        ctx,
        cancel,
        max_retries,
        timeout=timeout_of(client),
    )
