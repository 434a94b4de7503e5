"""Core calls on a worker thread, so Ctrl+C in the main thread cancels them at once (the socket is shut down)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from app.core.cancel import CancelToken


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
    try:
        while True:
            try:
                kind, value = q.get(timeout=0.2)
            except queue.Empty:
                continue
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    except KeyboardInterrupt:
        cancel.cancel()
        worker.join(2.0)  # the socket is shut down; the job ends at once
        raise


def worker_call(fn: Callable[[], Any], cancel: CancelToken) -> Any:
    """A plain core call on the worker thread, so Ctrl+C cancels it; returns its value or raises its error."""
    box: list[Any] = []

    def gen() -> Iterator[Any]:
        box.append(fn())
        yield from ()

    for _ in worker_events(gen, cancel):
        pass
    return box[0]
