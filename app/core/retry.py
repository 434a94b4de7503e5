"""Retries we run ourselves (the client's are invisible), so the UI can count a 429's wait down as it happens."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import TypeVar

from app.core import errors
from app.core.cancel import Cancelled, CancelToken
from app.core.events import Retrying

T = TypeVar("T")


def backoff(attempt: int, retry_after: float | None) -> float:
    """Azure's retry-after when given (capped at a minute), else 0.5 s doubling up to 8 s, like the SDK."""
    if retry_after is not None:
        return max(0.0, min(retry_after, 60.0))
    return min(8.0, 0.5 * 2 ** (attempt - 1))


def retrying(
    call: Callable[[], T],
    *,
    cancel: CancelToken,
    max_retries: int,
    ctx: errors.Context = errors.Context(),
    deadline: float | None = None,
) -> Generator[Retrying, None, T]:
    """Run `call`; on a retryable failure yield a `Retrying` event, wait (cancellably) and try again.

    Use as `result = yield from retrying(...)`. Raises `ParleyError` when retries are exhausted or the failure is not
    retryable, and `Cancelled` when the token fires. No retry starts that could not begin before `deadline` (a
    `time.monotonic()` value): a server that hangs costs one timeout, not one per attempt.
    """
    attempt = 0
    while True:
        cancel.raise_if_cancelled()
        try:
            return call()
        except errors.ParleyError:
            raise
        except Exception as exc:
            if cancel.cancelled:
                raise Cancelled() from exc
            problem = errors.from_exception(exc, ctx)
            wait = backoff(attempt + 1, problem.retry_after)
            late = deadline is not None and time.monotonic() + wait >= deadline
            if not problem.retryable or attempt >= max_retries or late:
                raise errors.ParleyError(problem) from exc
            attempt += 1
            yield Retrying(attempt=attempt, max_attempts=max_retries, wait=wait, problem=problem)
            if cancel.wait(wait):
                raise Cancelled() from exc
