"""Quitting while work is still under way (CI run of 2026-12-02: `parley --quick` ignored SIGTERM): a job that ends
after its window closed must not reach the closing widgets, and no crash dialog may keep a quitting Parley alive."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from PySide6.QtCore import QObject, QTimer

from app.ui.common import workers
from app.ui.common.crash import CrashHandler
from app.ui.common.services import AppServices
from app.ui.common.workers import JobGroup, JobSlot
from app.ui.main_window import MainWindow
from tests.test_workers import Calls


@pytest.mark.parametrize("holder", [JobGroup, JobSlot])
def test_a_closed_holder_calls_back_no_more(qtbot, holder):
    release = threading.Event()

    def work(*, cancel):
        yield "before"
        release.wait(10)
        yield "after"
        return "value"

    owner = Calls()
    jobs = holder(owner)
    job = jobs.start(work, owner.on_done, event=owner.on_event, drain=True)
    qtbot.waitUntil(lambda: owner.events == ["before"], timeout=5000)
    jobs.close()
    release.set()
    assert job.wait(5000)
    qtbot.wait(50)  # the queued signals of the job's end are delivered
    assert owner.events == ["before"] and owner.done == []


def test_closing_the_window_while_the_history_still_opens(qtbot):
    """The chat tab's history opening was queued behind other history work when the window closed: its cancelled
    result (no value) reached the closed tab, which raised TypeError and showed a crash dialog that kept Parley
    running."""
    busy = threading.Event()
    anchor = QObject()
    blocker = JobGroup(anchor)
    blocker.start(workers.plain(busy.wait, 10), name="busy", pool=workers.history_pool())
    win = MainWindow(AppServices(demo=True))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win._tab_widgets["chat"].widget is not None, timeout=10000)
    closing = []
    win.closing.connect(lambda: closing.append(True))
    win.close()
    assert closing == [True] and win.closed_for_good
    busy.set()
    assert workers.history_pool().waitForDone(5000)
    qtbot.wait(100)  # the history job's end is delivered (pytest-qt fails the test on an exception in a slot)
    win.close()  # again (a second SIGTERM): nothing is shut down twice
    assert closing == [True]


@pytest.mark.qt_no_exception_capture
def test_a_crash_while_quitting_is_reported_without_a_dialog(qtbot, parley_home):
    handler = CrashHandler()
    try:
        QTimer.singleShot(0, lambda: 1 / 0)
        qtbot.waitUntil(lambda: handler.dialog is not None and handler.dialog.isVisible(), timeout=5000)
        handler.quiet()  # the window closes for good
        assert not handler.dialog.isVisible()
        QTimer.singleShot(0, lambda: [][1])
        qtbot.waitUntil(lambda: len(handler.reports) == 2, timeout=5000)
        assert not handler.dialog.isVisible()
        assert len(list((parley_home / "logs").glob("crash-*.txt"))) >= 1
        assert "IndexError" in handler.reports[1]
    finally:
        handler.uninstall()


@pytest.mark.e2e
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_at_any_moment_of_start_up_ends_parley_cleanly(tmp_path):
    """`parley --quick` stopped by SIGTERM from its first moments to after its windows are up: exit 0 within
    seconds, nothing on stderr but Qt's offscreen notes, no crash report."""
    failures = []
    for run in range(10):
        home = tmp_path / f"home-{run}"
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PARLEY_HOME=str(home))
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "--demo", "--quick"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        log = home / "logs" / "parley.log"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (log.exists() and "window shown" in log.read_text()):
            time.sleep(0.02)
        time.sleep(0.1 * run)  # from the first frame to the tray, the connection and the history opening
        proc.send_signal(signal.SIGTERM)
        try:
            _, stderr = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
            failures.append((run, "did not end within 10 s"))
            continue
        crashes = list((home / "logs").glob("crash-*.txt"))
        noise = [line for line in stderr.splitlines() if "This plugin does not support" not in line]
        if proc.returncode != 0 or crashes or noise:
            failures.append((run, proc.returncode, noise[-5:], [c.read_text()[:600] for c in crashes]))
    assert not failures, failures
