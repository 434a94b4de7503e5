"""Time bounds for one request: the answer must start within a deadline and never fall silent for too long.

httpx's read timeout restarts on every byte, so a server that trickles keep-alive comments (or one byte a minute)
never times out. A `Watchdog` counts only what the caller `feed()`s (parsed events, body chunks) and, when the
silence or the deadline is over, cancels the request's own token: its socket is shut down at once, the blocked read
wakes, and the caller turns the failure into a TIMEOUT problem (`timed_out`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from app.core.cancel import CancelToken

CONNECT_TIMEOUT = 10.0  # seconds to open the connection: a wrong host or a black-holed port fails fast
DEFAULT_TIMEOUT = 60.0

T = TypeVar("T")


def timeout_of(client: object) -> float:
    """The request timeout a client was built with (`build_client` sets the profile's), in seconds."""
    value = getattr(client, "timeout", None)
    value = getattr(value, "read", value)
    return float(value) if isinstance(value, int | float) and value > 0 else DEFAULT_TIMEOUT


class Watchdog:
    """Cancels `token` when `idle` seconds pass without `feed()`, or when `deadline` (a `time.monotonic()` value)
    is reached before the first `feed()`. Use as a context manager around one request."""

    def __init__(self, token: CancelToken, *, idle: float, deadline: float | None = None):
        self.token = token
        self.idle = idle
        self.deadline = deadline
        self.fired: str | None = None  # "idle" or "deadline"
        self._fed = threading.Event()
        self._done = threading.Event()
        self._last = time.monotonic()
        self._started = False
        self._thread = threading.Thread(target=self._watch, name="parley-watchdog", daemon=True)

    def feed(self) -> None:
        self._last = time.monotonic()
        self._started = True

    @property
    def started(self) -> bool:
        """Whether anything was fed: the answer had begun when the watchdog fired."""
        return self._started

    def __enter__(self) -> Watchdog:
        self._last = time.monotonic()
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._done.set()

    def _watch(self) -> None:
        while not self._done.is_set():
            now = time.monotonic()
            limit = self._last + self.idle
            reason = "idle"
            if not self._started and self.deadline is not None and self.deadline < limit:
                limit, reason = self.deadline, "deadline"
            if now >= limit:
                self.fired = reason
                self.token.cancel()
                return
            self._done.wait(min(limit - now, 0.5))


def watched(
    call: Callable[[CancelToken, Callable[[], None]], T],
    cancel: CancelToken,
    *,
    timeout: float,
    start_by: float | None = None,
) -> T:
    """`call(request_token, feed)` under a `Watchdog`: it must `feed()` (headers, then body chunks) by `start_by`
    and then at least every `timeout` seconds. When the watchdog cuts it, `timed_out` is raised (a retryable
    TIMEOUT for `errors.from_exception`) in place of whatever the cut caused; a cancel of `cancel` stays a cancel."""
    request = cancel.child()
    dog = Watchdog(request, idle=timeout, deadline=start_by)
    try:
        with dog:
            return call(request, dog.feed)
    except BaseException as exc:
        if dog.fired and not cancel.cancelled:
            raise timed_out(timeout, started=dog.started) from exc
        raise
    finally:
        cancel.forget(request.cancel)


def timed_out(seconds: float, *, started: bool) -> TimeoutError:
    """The exception a request cut by its watchdog raises in place of the socket error the cut caused."""
    if started:
        return TimeoutError(f"Azure fell silent for {seconds:.0f} s in the middle of the answer.")
    return TimeoutError(f"Azure did not start answering within {seconds:.0f} s.")
