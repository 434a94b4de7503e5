"""The one background-job pattern: run a core function on a QThread, deliver its yields and its end on the GUI thread.

A job function takes a `CancelToken` and either returns a value or is a generator whose yields are events.
Usage::

    job = Job(functools.partial(chat.stream_chat, client, request), parent=self)
    job.event.connect(self.on_chat_event)      # bound methods of GUI objects, never lambdas
    job.finished.connect(self.on_chat_finished)
    job.start()
    ...
    job.cancel()   # closes the job's socket at once; `finished` still arrives (cancelled=True)
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.core import errors
from app.core.cancel import Cancelled, CancelToken

log = logging.getLogger(__name__)

JobFunction = Callable[[CancelToken], Any]


@dataclass(frozen=True)
class JobResult:
    value: Any = None
    problem: errors.Problem | None = None
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem is None and not self.cancelled


class _Worker(QObject):
    """Lives on the job's QThread. Only plain Python values leave it, through queued signals."""

    yielded = Signal(object)
    done = Signal(object)

    def __init__(self, fn: JobFunction, token: CancelToken, name: str, drain: bool = False):
        super().__init__()
        self._fn = fn
        self._token = token
        self._name = name
        self._drain = drain

    @Slot()
    def run(self) -> None:
        start = time.perf_counter()
        try:
            result = self._fn(self._token)
            if inspect.isgenerator(result):
                try:
                    for item in result:
                        self.yielded.emit(item)
                        if self._token.cancelled and not self._drain:
                            break
                finally:
                    result.close()
                value = None
            else:
                value = result
            outcome = JobResult(
                value=value, cancelled=self._token.cancelled, seconds=time.perf_counter() - start
            )
        except Cancelled:
            outcome = JobResult(cancelled=True, seconds=time.perf_counter() - start)
        except Exception as exc:  # noqa: BLE001 - errors cross the boundary as values
            if self._token.cancelled:
                outcome = JobResult(cancelled=True, seconds=time.perf_counter() - start)
            else:
                log.warning("job %s failed: %s", self._name, type(exc).__name__, exc_info=True)
                outcome = JobResult(problem=errors.from_exception(exc), seconds=time.perf_counter() - start)
        self.done.emit(outcome)
        # End the thread from inside: waiting for it must not depend on the GUI thread processing `done`.
        QThread.currentThread().quit()


_alive: set[Job] = set()


class Job(QObject):
    """GUI-side handle of one background job. Signals are emitted on the GUI thread."""

    event = Signal(object)  # each value the job function yields
    finished = Signal(object)  # JobResult

    def __init__(
        self, fn: JobFunction, *, name: str = "job", parent: QObject | None = None, drain: bool = False
    ):
        """`drain=True`: after a cancel the generator is still run to its end (it must stop promptly by itself, as
        core generators do), so its last events, such as saving what was stopped, are not cut off."""
        super().__init__(parent)
        self.name = name
        self.token = CancelToken()
        self.result: JobResult | None = None
        self._thread: QThread | None = None
        self._worker = _Worker(fn, self.token, name, drain)
        self._worker.yielded.connect(self._on_yielded)
        self._worker.done.connect(self._on_done)

    @property
    def running(self) -> bool:
        return self._thread is not None and self.result is None

    def start(self) -> Job:
        if self._thread is not None:
            raise RuntimeError("a Job runs once")
        thread = QThread()
        thread.setObjectName(f"parley-{self.name}")
        self._worker.moveToThread(thread)
        thread.started.connect(self._worker.run)
        thread.finished.connect(self._on_thread_finished)
        self._thread = thread
        _alive.add(self)
        thread.start()
        return self

    def cancel(self) -> None:
        """Stop at once: the token closes the job's socket; `finished` follows with cancelled=True."""
        self.token.cancel()

    def wait(self, ms: int = 5000) -> bool:
        """Block until the job's thread has ended (its `finished` signal may still be queued)."""
        return self._thread.wait(ms) if self._thread is not None else True

    @Slot(object)
    def _on_yielded(self, item: object) -> None:
        if not self.token.cancelled or self.result is None:
            self.event.emit(item)

    @Slot(object)
    def _on_done(self, outcome: JobResult) -> None:
        self.result = outcome
        if self._thread is not None:
            self._thread.quit()
        self.finished.emit(outcome)

    @Slot()
    def _on_thread_finished(self) -> None:
        if self._thread is not None:
            self._thread.wait()
        _alive.discard(self)


def run_in_background(
    fn: JobFunction,
    *,
    on_event: Callable[[Any], None] | None = None,
    on_done: Callable[[JobResult], None] | None = None,
    name: str = "job",
    parent: QObject | None = None,
) -> Job:
    """Start `fn` off the GUI thread. Callbacks must be bound methods of GUI-thread objects."""
    job = Job(fn, name=name, parent=parent)
    if on_event is not None:
        job.event.connect(on_event)
    if on_done is not None:
        job.finished.connect(on_done)
    return job.start()


def active_jobs() -> list[Job]:
    return [job for job in _alive if job._thread is not None and job._thread.isRunning()]


def shutdown(timeout_ms: int = 3000) -> None:
    """At quit: cancel every job and wait for its thread, so Python never frees a running QThread."""
    for job in list(_alive):
        job.cancel()
    deadline = time.monotonic() + timeout_ms / 1000
    for job in list(_alive):
        remaining = max(0, int((deadline - time.monotonic()) * 1000))
        if job._thread is not None:
            job._thread.quit()
            job._thread.wait(remaining)
        _alive.discard(job)
