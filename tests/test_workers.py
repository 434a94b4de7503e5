"""The shared worker: yields arrive on the GUI thread in order, failures become Problems, cancel is prompt."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, QThread, Slot

from app.core import errors
from app.core.cancel import CancelToken
from app.ui.common.workers import Job


class Sink(QObject):
    def __init__(self):
        super().__init__()
        self.events = []
        self.threads = set()
        self.result = None

    @Slot(object)
    def on_event(self, item):
        self.events.append(item)
        self.threads.add(QThread.currentThread())

    @Slot(object)
    def on_done(self, result):
        self.result = result


def counting(token: CancelToken):
    yield from range(5)


def test_yields_arrive_in_order_on_gui_thread(qtbot):
    sink = Sink()
    job = Job(counting, name="count")
    job.event.connect(sink.on_event)
    job.finished.connect(sink.on_done)
    with qtbot.waitSignal(job.finished, timeout=5000):
        job.start()
    assert sink.events == [0, 1, 2, 3, 4]
    assert sink.threads == {QThread.currentThread()}
    assert sink.result.ok
    assert job.wait(2000)


def test_exception_becomes_problem_value(qtbot):
    def boom(token):
        raise ConnectionResetError("Connection reset by peer")

    sink = Sink()
    job = Job(boom, name="boom")
    job.finished.connect(sink.on_done)
    with qtbot.waitSignal(job.finished, timeout=5000):
        job.start()
    assert sink.result.problem is not None
    assert sink.result.problem.kind == errors.Kind.NETWORK
    assert "dropped" in sink.result.problem.detail


def test_cancel_wakes_a_blocked_job_at_once(qtbot):
    blocker = threading.Event()

    def blocked(token: CancelToken):
        token.on_cancel(blocker.set)  # stands in for shutting a socket down
        blocker.wait(30)
        yield "woke"

    sink = Sink()
    job = Job(blocked, name="blocked")
    job.finished.connect(sink.on_done)
    job.start()
    time.sleep(0.05)
    started = time.perf_counter()
    with qtbot.waitSignal(job.finished, timeout=2000):
        job.cancel()
    assert time.perf_counter() - started < 1.0
    assert sink.result.cancelled
