"""Core calls on a worker thread, so Ctrl+C in the main thread cancels them at once (the socket is shut down), and
the main thread can say "waiting for Azure…" while nothing arrives."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from app.cli.common import progress, progress_clear

if TYPE_CHECKING:  # pragma: no cover
    from app.core.cancel import CancelToken

FINISH_S = 5.0  # how long a job that was left (the command returned early) may take to clean up after itself


def worker_events(make: Callable[[], Iterator[Any]], cancel: CancelToken) -> Iterator[Any]:
    """The events of `make()`, produced on a worker thread so Ctrl+C in the main thread can cancel them at once."""
    import queue

    q: queue.Queue[tuple[str, Any]] = queue.Queue()

    def work() -> None:
        try:
            for event in make():
                q.put(("event", event))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            q.put(("error", exc))
        finally:
            q.put(("end", None))

    worker = threading.Thread(target=work, name="parley-cli-job", daemon=True)
    worker.start()
    finished = False
    quiet_since = time.monotonic()
    shown = 0
    try:
        while True:
            try:
                kind, value = q.get(timeout=0.2)
            except queue.Empty:
                shown = progress(time.monotonic() - quiet_since, shown)
                continue
            quiet_since, shown = time.monotonic(), 0
            progress_clear()
            if kind == "end":
                finished = True
                return
            if kind == "error":
                finished = True
                raise value
            yield value
    except KeyboardInterrupt:
        cancel.cancel()
        worker.join(2.0)  # the socket is shut down; the job ends at once
        raise
    finally:
        progress_clear()
        if not finished:
            # The command stopped reading (it failed, or had what it needed). The job's own clean-up (removing a
            # partial file, closing the response) runs when its generator goes on, so let it, briefly: a daemon
            # thread is otherwise killed mid-way when the process exits. Nobody wants its events any more: cancel.
            cancel.cancel()
            worker.join(FINISH_S)


def worker_call(fn: Callable[[], Any], cancel: CancelToken) -> Any:
    """A plain core call on the worker thread, so Ctrl+C cancels it; returns its value or raises its error."""
    box: list[Any] = []

    def gen() -> Iterator[Any]:
        box.append(fn())
        yield from ()

    for _ in worker_events(gen, cancel):
        pass
    return box[0]
