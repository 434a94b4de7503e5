"""The shared worker: yields arrive on the GUI thread in order, failures become Problems, cancel is prompt."""

from __future__ import annotations

import threading
import time
from functools import partial

from PySide6.QtCore import QObject, QThread, Slot

from app.core import errors
from app.core.cancel import CancelToken
from app.ui.common import workers
from app.ui.common.workers import Job, JobGroup, JobSlot


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


def counting(*, cancel: CancelToken):
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
    def boom(*, cancel):
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

    def blocked(*, cancel: CancelToken):
        cancel.on_cancel(blocker.set)  # stands in for shutting a socket down
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


def test_core_style_function_gets_cancel_by_keyword(qtbot):
    """Core functions take `cancel` by keyword only: the job passes it so, with no adapter in between."""

    def core_function(text: str, *, cancel: CancelToken) -> str:
        assert isinstance(cancel, CancelToken)
        return text.upper()

    sink = Sink()
    job = Job(partial(core_function, "hi"))
    job.finished.connect(sink.on_done)
    with qtbot.waitSignal(job.finished, timeout=5000):
        job.start()
    assert sink.result.ok and sink.result.value == "HI"


def test_generator_return_value_is_delivered(qtbot):
    def gen(*, cancel):
        yield "step"
        return "the end"

    sink = Sink()
    job = Job(gen)
    job.event.connect(sink.on_event)
    job.finished.connect(sink.on_done)
    with qtbot.waitSignal(job.finished, timeout=5000):
        job.start()
    assert sink.events == ["step"]
    assert sink.result.value == "the end"


class Calls(QObject):
    def __init__(self):
        super().__init__()
        self.done = []
        self.events = []
        self.slow = 0

    @Slot(object)
    def on_done(self, result):
        self.done.append(result)

    @Slot(object)
    def on_event(self, item):
        self.events.append(item)

    @Slot()
    def on_slow(self):
        self.slow += 1


def test_slot_cancels_the_old_job_and_drops_its_late_result(qtbot):
    release = threading.Event()

    def old(*, cancel):
        cancel.on_cancel(release.set)
        release.wait(10)
        yield "late event"
        return "old"

    def new(*, cancel):
        return "new"

    owner = Calls()
    slot = JobSlot(owner, "search")
    first = slot.start(old, owner.on_done, event=owner.on_event)
    second = slot.start(new, owner.on_done, event=owner.on_event)
    assert first.token.cancelled
    qtbot.waitUntil(lambda: first.result is not None and second.result is not None, timeout=5000)
    qtbot.wait(20)
    assert [r.value for r in owner.done] == ["new"]
    assert owner.events == []
    assert not slot.running


def test_slot_cancel_still_delivers_the_cancelled_result(qtbot):
    def blocked(*, cancel):
        woke = threading.Event()
        cancel.on_cancel(woke.set)
        woke.wait(10)
        return "unused"

    owner = Calls()
    slot = JobSlot(owner)
    slot.start(blocked, owner.on_done)
    slot.cancel()
    qtbot.waitUntil(lambda: len(owner.done) == 1, timeout=5000)
    assert owner.done[0].cancelled


def test_group_cancels_every_job(qtbot):
    def blocked(*, cancel):
        woke = threading.Event()
        cancel.on_cancel(woke.set)
        woke.wait(10)

    owner = Calls()
    group = JobGroup(owner)
    jobs = [group.start(blocked, owner.on_done, name=f"b{i}") for i in range(3)]
    assert group.running and len(group.jobs) == 3
    group.cancel_all()
    qtbot.waitUntil(lambda: len(owner.done) == 3, timeout=5000)
    assert all(r.cancelled for r in owner.done)
    assert all(job.wait(2000) for job in jobs)
    assert not group.running


def test_progress_only_for_jobs_slower_than_the_threshold(qtbot, monkeypatch):
    monkeypatch.setattr(workers, "SLOW_MS", 50)
    release = threading.Event()

    def slow(*, cancel):
        cancel.on_cancel(release.set)
        release.wait(10)

    def quick(*, cancel):
        return 1

    owner = Calls()
    group = JobGroup(owner)
    group.start(quick, owner.on_done, slow=owner.on_slow)
    qtbot.waitUntil(lambda: len(owner.done) == 1, timeout=5000)
    qtbot.wait(100)  # past the threshold: the finished quick job never reports slow
    assert owner.slow == 0
    group.start(slow, owner.on_done, slow=owner.on_slow)
    qtbot.waitUntil(lambda: owner.slow == 1, timeout=5000)
    release.set()
    qtbot.waitUntil(lambda: len(owner.done) == 2, timeout=5000)
    assert owner.slow == 1


def test_history_pool_runs_jobs_in_order_on_one_thread(qtbot):
    seen = []

    def record(i, *, cancel):
        seen.append((i, threading.get_ident()))
        return i

    owner = Calls()
    group = JobGroup(owner)
    for i in range(5):
        group.start(partial(record, i), owner.on_done, pool=workers.history_pool())
    qtbot.waitUntil(lambda: len(owner.done) == 5, timeout=5000)
    assert [i for i, _ in seen] == [0, 1, 2, 3, 4]
    assert len({t for _, t in seen}) == 1 and seen[0][1] != threading.get_ident()
    assert [r.value for r in owner.done] == [0, 1, 2, 3, 4]
    assert not workers.active_jobs()
