"""The one background-job API: run a core function off the GUI thread, deliver its yields and its end on the GUI thread.

A job function is a core function with its arguments bound; the job calls it as `fn(cancel=token)`. It either
returns a value or is a generator: its yields arrive as `event`s and its `return x` arrives as `JobResult.value`.
Tabs hold jobs in a `JobSlot` (one at a time: a new one cancels the old, whose late results are dropped) or a
`JobGroup` (many at once). At the holder's shutdown, `close()`: every job is cancelled and none of its callbacks
runs any more (a result arriving while the window closes would update widgets that are going)::

    self.chat_job = JobSlot(self, "chat")
    self.chat_job.start(partial(chat.stream_chat, client, request), self.on_done, event=self.on_event,
                        slow=self.show_spinner)   # `slow` only if still running after SLOW_MS: no flicker
    ...
    self.chat_job.cancel()  # closes the job's socket at once; `on_done` still gets the result (cancelled=True)
    ...
    self.chat_job.close()   # shutdown: cancelled, and `on_done` is not called

Callbacks are bound methods of GUI-thread objects: the holder calls them on the GUI thread.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from PySide6.QtCore import QCoreApplication, QObject, QThread, QThreadPool, QTimer, Signal, Slot

from app.core.cancel import Cancelled, CancelToken

if TYPE_CHECKING:  # at run time, imported by the first job that fails: not before the first frame
    from app.core import errors

log = logging.getLogger(__name__)

JobFunction = Callable[..., Any]  # called as fn(cancel=CancelToken)
Callback = Callable[[Any], None]

SLOW_MS = 600  # a job still running after this long shows its progress; quicker ones never flash it


class JobResult(NamedTuple):  # not a dataclass: the first frame does without importing `dataclasses` (~2 ms)
    value: Any = None  # what the function returned (a generator's `return x`)
    problem: errors.Problem | None = None
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem is None and not self.cancelled


class _Worker(QObject):
    """Runs the function on the job's thread. Only plain Python values leave it, through queued signals."""

    yielded = Signal(object)
    done = Signal(object)

    def __init__(self, fn: JobFunction, token: CancelToken, name: str, drain: bool, own_thread: bool):
        super().__init__()
        self._fn = fn
        self._token = token
        self._name = name
        self._drain = drain
        self._own_thread = own_thread
        self.ended = threading.Event()  # set on the worker's thread once `done` is emitted

    def _call(self) -> Any:
        if self._token.cancelled:  # cancelled while queued (a pool job): never started
            raise Cancelled()
        result = self._fn(cancel=self._token)
        if not inspect.isgenerator(result):
            return result
        try:
            while True:
                try:
                    item = next(result)
                except StopIteration as stop:
                    return stop.value
                self.yielded.emit(item)
                if self._token.cancelled and not self._drain:
                    return None
        finally:
            result.close()

    @Slot()
    def run(self) -> None:
        start = time.perf_counter()
        try:
            value = self._call()
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
                from app.core import errors

                outcome = JobResult(problem=errors.from_exception(exc), seconds=time.perf_counter() - start)
        try:
            self.done.emit(outcome)
        except RuntimeError:
            # The app is quitting and Qt already deleted this object: nobody is left to tell.
            log.debug("job %s ended after its receiver was deleted", self._name)
        self.ended.set()
        if self._own_thread:
            # End the thread from inside: waiting for it must not depend on the GUI thread processing `done`.
            QThread.currentThread().quit()


_alive: set[Job] = set()


class Job(QObject):
    """GUI-side handle of one background job. Signals are emitted on the GUI thread.

    `pool=None` gives the job its own QThread (network calls, which may block for long); `pool=history_pool()`
    queues it on one long-lived thread, for short SQLite calls that should neither pay a thread each nor overlap.
    """

    event = Signal(object)  # each value the job function yields
    finished = Signal(object)  # JobResult
    slow = Signal()  # once, if the job is still running SLOW_MS after its start

    def __init__(
        self,
        fn: JobFunction,
        *,
        name: str = "job",
        parent: QObject | None = None,
        drain: bool = False,
        pool: QThreadPool | None = None,
    ):
        """`drain=True`: after a cancel the generator is still run to its end (it must stop promptly by itself, as
        core generators do), so its last events, such as saving what was stopped, are not cut off."""
        super().__init__(parent)
        self.name = name
        self.token = CancelToken()
        self.result: JobResult | None = None
        self._pool = pool
        self._started = False
        self._thread: QThread | None = None
        self._worker = _Worker(fn, self.token, name, drain, own_thread=pool is None)
        self._worker.yielded.connect(self._on_yielded)
        self._worker.done.connect(self._on_done)
        self._slow_timer = QTimer(self)
        self._slow_timer.setSingleShot(True)
        self._slow_timer.timeout.connect(self._on_slow)

    @property
    def running(self) -> bool:
        return self._started and self.result is None

    def start(self) -> Job:
        if self._started:
            raise RuntimeError("a Job runs once")
        self._started = True
        _alive.add(self)
        self._slow_timer.start(SLOW_MS)
        if self._pool is not None:
            self._pool.start(self._worker.run)
            return self
        thread = QThread()
        thread.setObjectName(f"parley-{self.name}")
        self._worker.moveToThread(thread)
        thread.started.connect(self._worker.run)
        thread.finished.connect(self._on_thread_finished)
        self._thread = thread
        thread.start()
        return self

    def cancel(self) -> None:
        """Stop at once: the token closes the job's socket; `finished` follows with cancelled=True."""
        self.token.cancel()

    def wait(self, ms: int = 5000) -> bool:
        """Block until the job's function has ended (its `finished` signal may still be queued)."""
        if self._thread is not None:
            return self._thread.wait(ms)
        return not self._started or self._worker.ended.wait(ms / 1000)

    def _busy(self) -> bool:
        if self._thread is not None:
            return self._thread.isRunning()
        return self._started and not self._worker.ended.is_set()

    @Slot()
    def _on_slow(self) -> None:
        if self.result is None:
            self.slow.emit()

    @Slot(object)
    def _on_yielded(self, item: object) -> None:
        if not self.token.cancelled or self.result is None:
            self.event.emit(item)

    @Slot(object)
    def _on_done(self, outcome: JobResult) -> None:
        self.result = outcome
        self._slow_timer.stop()
        if self._thread is not None:
            self._thread.quit()
        else:
            _alive.discard(self)
        self.finished.emit(outcome)

    @Slot()
    def _on_thread_finished(self) -> None:
        if self._thread is not None:
            self._thread.wait()
        _alive.discard(self)


class JobGroup(QObject):
    """Jobs running side by side (an export while a rename runs); `close()` at the tab's shutdown.

    Holds each job until it ends, then drops it, so a tab needs no list of its own."""

    def __init__(self, parent: QObject, name: str = "job"):
        super().__init__(parent)
        self.name = name
        self.closed = False
        self._callbacks: dict[Job, tuple[Callback | None, Callback | None, Callable[[], None] | None]] = {}

    def start(
        self,
        fn: JobFunction,
        done: Callback | None = None,
        *,
        event: Callback | None = None,
        slow: Callable[[], None] | None = None,
        name: str | None = None,
        drain: bool = False,
        pool: QThreadPool | None = None,
        outlive: bool = False,
    ) -> Job:
        """Run `fn(cancel=...)`; `done(JobResult)`, `event(item)` and `slow()` are called on the GUI thread.

        `outlive=True`: the job is not the group's child, so a call that cannot be cancelled (an Entra sign-in)
        may go on after its window is gone; its callbacks are then not called."""
        job = Job(fn, name=name or self.name, parent=None if outlive else self, drain=drain, pool=pool)
        self._callbacks[job] = (done, event, slow)
        job.event.connect(self._on_event)
        job.finished.connect(self._on_finished)
        job.slow.connect(self._on_slow)
        self._started(job)
        return job.start()

    def _started(self, job: Job) -> None:
        pass

    def _current(self, job: Job) -> bool:
        return True

    @property
    def jobs(self) -> list[Job]:
        return [job for job in self._callbacks if job.running]

    @property
    def running(self) -> bool:
        return bool(self.jobs)

    def cancel_all(self) -> None:
        for job in list(self._callbacks):
            job.cancel()

    def close(self) -> None:
        """At shutdown: cancel every job; no callback runs after this (`done` included), so a result that arrives
        while the window closes never reaches widgets on their way out."""
        self.closed = True
        self.cancel_all()

    @Slot(object)
    def _on_event(self, item: object) -> None:
        job = cast(Job, self.sender())
        callbacks = self._callbacks.get(job)
        if callbacks is not None and callbacks[1] is not None and not self.closed and self._current(job):
            callbacks[1](item)

    @Slot()
    def _on_slow(self) -> None:
        job = cast(Job, self.sender())
        callbacks = self._callbacks.get(job)
        if callbacks is not None and callbacks[2] is not None and not self.closed and self._current(job):
            callbacks[2]()

    @Slot(object)
    def _on_finished(self, result: JobResult) -> None:
        job = cast(Job, self.sender())
        callbacks = self._callbacks.pop(job, None)
        if callbacks is not None and callbacks[0] is not None and not self.closed and self._current(job):
            callbacks[0](result)


class JobSlot(JobGroup):
    """At most one job: starting another cancels the one before, whose late events and result are dropped, so a
    slow old answer never overwrites a newer one. `cancel()` keeps the job current: its `done` still arrives."""

    def __init__(self, parent: QObject, name: str = "job"):
        super().__init__(parent, name)
        self.job: Job | None = None

    def _started(self, job: Job) -> None:
        if self.job is not None:
            self.job.cancel()
        self.job = job

    def _current(self, job: Job) -> bool:
        return job is self.job

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.running

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()


def plain(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> JobFunction:
    """A job function for a call that takes no `cancel` (a short SQLite call, a file read): a cancel cannot stop
    it midway, and its result is then reported as cancelled."""

    def call(*, cancel: CancelToken) -> Any:
        return fn(*args, **kwargs)

    call.__qualname__ = getattr(fn, "__qualname__", "plain")
    return call


_history_pool: QThreadPool | None = None


def history_pool() -> QThreadPool:
    """One thread, so history calls run one after another in the order asked, without a QThread each (a list
    refresh takes milliseconds; starting a thread for it cost about as much). It idles out after 30 s."""
    global _history_pool
    if _history_pool is None:
        _history_pool = QThreadPool(QCoreApplication.instance())
        _history_pool.setMaxThreadCount(1)
        _history_pool.setObjectName("parley-history")
    return _history_pool


def active_jobs() -> list[Job]:
    return [job for job in _alive if job._busy()]


def shutdown(timeout_ms: int = 3000) -> bool:
    """At quit: cancel every job and wait for its thread and for the history pool, so Python and Qt never free a
    running QThread (that aborts the process). True when everything ended within the time; a job still running is
    kept referenced, never freed under its thread."""
    for job in list(_alive):
        job.cancel()
    deadline = time.monotonic() + timeout_ms / 1000
    for job in list(_alive):
        remaining = max(0, int((deadline - time.monotonic()) * 1000))
        if job.wait(remaining):
            _alive.discard(job)
    done = True
    if _history_pool is not None:
        done = _history_pool.waitForDone(max(0, int((deadline - time.monotonic()) * 1000)))
    return done and not active_jobs()
