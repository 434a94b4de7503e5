"""An unhandled exception shows the crash dialog with a redacted report; a second launch focuses the first."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from PySide6.QtCore import QTimer

from app.ui.common.crash import CrashHandler
from app.ui.common.crash_dialog import CrashDialog

SECRET = "c0ffee0123456789abcdef0123456789"


@pytest.mark.qt_no_exception_capture
def test_exception_in_a_slot_shows_dialog_without_the_key(qtbot, parley_home, monkeypatch):
    from app.core import logs

    logs.add_secret(SECRET)
    handler = CrashHandler()
    try:

        def boom():
            raise RuntimeError(f"request failed with api-key: {SECRET} and Authorization: Bearer {SECRET}")

        QTimer.singleShot(0, boom)
        qtbot.waitUntil(lambda: handler.dialog is not None and handler.dialog.isVisible(), timeout=5000)
        dialog = handler.dialog
        assert isinstance(dialog, CrashDialog)
        report = dialog.details.toPlainText()
        assert "RuntimeError" in report and "Parley" in report
        assert SECRET not in report
        saved = list((parley_home / "logs").glob("crash-*.txt"))
        assert saved and SECRET not in saved[0].read_text()
        dialog.copy_report()
        from PySide6.QtGui import QGuiApplication

        assert QGuiApplication.clipboard().text() == report
        dialog.close()
    finally:
        handler.uninstall()


@pytest.mark.qt_no_exception_capture
def test_exception_in_a_worker_thread_reaches_the_gui(qtbot):
    import threading

    handler = CrashHandler(show_dialog=False)
    try:
        t = threading.Thread(target=lambda: 1 / 0, name="background")
        t.start()
        t.join()
        qtbot.waitUntil(lambda: bool(handler.reports), timeout=5000)
        assert "ZeroDivisionError" in handler.reports[0] and "Thread: background" in handler.reports[0]
    finally:
        handler.uninstall()


@pytest.mark.e2e
def test_second_launch_focuses_the_first(parley_home, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PARLEY_HOME=str(parley_home))
    first = subprocess.Popen(
        [sys.executable, "-m", "app", "--demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        log = parley_home / "logs" / "parley.log"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (log.exists() and "window shown" in log.read_text()):
            time.sleep(0.1)
        second = subprocess.run(
            [sys.executable, "-m", "app", "--demo"], env=env, capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 0
        assert "already running" in second.stderr
        assert first.poll() is None  # the first one is still there
    finally:
        first.terminate()
        first.wait(10)
