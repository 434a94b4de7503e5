"""Unhandled exceptions become a calm dialog with a redacted report, never a vanished window or a raw traceback."""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

import app
from app.core import paths

log = logging.getLogger("parley.crash")


def build_report(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None, thread: str
) -> str:
    """The text a user may paste into a bug report: versions, the traceback, recent log lines; secrets redacted."""
    import platform  # here, not for every start: importing it cost the first frame ~4 ms

    from PySide6 import __version__ as pyside_version

    from app.core.logs import redact

    lines = [
        f"Parley {app.__version__} crash report — {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"Python {platform.python_version()} · PySide6 {pyside_version} · {platform.platform()}",
        f"Thread: {thread}",
        "",
        "".join(traceback.format_exception(exc_type, exc, tb)).rstrip(),
    ]
    log_file = paths.log_dir() / "parley.log"
    try:
        tail = log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]
        lines += ["", f"Last log lines ({log_file}):", *tail]
    except OSError:
        pass
    return redact("\n".join(lines))


def write_report(report: str) -> Path | None:
    try:
        folder = paths.ensure(paths.log_dir())
        path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}.txt"
        paths.write_private(path, report.encode("utf-8"))  # the log lines in it are the user's alone
        return path
    except OSError:
        return None


class CrashHandler(QObject):
    """Installed once at start. Exceptions from any thread are reported on the GUI thread, one dialog at a time."""

    crashed = Signal(str, str)  # report, saved path ("" if none)

    def __init__(self, parent: QObject | None = None, *, show_dialog: bool = True):
        super().__init__(parent)
        self.show_dialog = show_dialog
        self.dialog: Any = None  # the CrashDialog on screen
        self.reports: list[str] = []
        self.crashed.connect(self._show)
        self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self._hook
        threading.excepthook = self._thread_hook

    def quiet(self) -> None:
        """Parley is quitting: a crash from now on goes to its report file and the log only, and a dialog on
        screen closes; neither may keep the ending process alive (a window left open keeps Qt running)."""
        self.show_dialog = False
        if self.dialog is not None:
            self.dialog.close()

    def uninstall(self) -> None:
        sys.excepthook, threading.excepthook = self._previous

    def _hook(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            self._previous[0](exc_type, exc, tb)
            return
        self._report(exc_type, exc, tb, threading.current_thread().name)

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        self._report(
            args.exc_type,
            args.exc_value or args.exc_type(),
            args.exc_traceback,
            args.thread.name if args.thread else "?",
        )

    def _report(self, exc_type, exc, tb, thread: str) -> None:
        try:
            report = build_report(exc_type, exc, tb, thread)
        except Exception:  # noqa: BLE001 - the handler itself must never raise
            report = "".join(traceback.format_exception(exc_type, exc, tb))
        path = write_report(report)
        log.error("unhandled %s in %s; report at %s", exc_type.__name__, thread, path)
        self.crashed.emit(report, str(path or ""))  # queued to the GUI thread when raised elsewhere

    @Slot(str, str)
    def _show(self, report: str, path: str) -> None:
        self.reports.append(report)
        if not self.show_dialog:
            return
        if self.dialog is not None and self.dialog.isVisible():
            return  # one dialog at a time; the report is on disk either way
        from app.ui.common.crash_dialog import CrashDialog  # its widgets are imported when a crash shows them

        self.dialog = CrashDialog(report, Path(path) if path else None)
        self.dialog.setModal(False)
        self.dialog.show()
