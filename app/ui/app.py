"""Starts the GUI: QApplication, theme, the main window, and `--screenshot` rendering for tests and docs."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication

import app
from app.ui.common import prefs
from app.ui.common.services import AppServices
from app.ui.main_window import MainWindow
from app.ui.theme import apply_theme, follow_platform, started_with_fusion

log = logging.getLogger(__name__)
ICON = Path(app.__file__).parent / "resources" / "parley.svg"


class _Screenshot(QObject):
    """Waits until the connection settled (or 8 s), lets the window paint, saves a PNG and quits."""

    def __init__(self, window: MainWindow, services: AppServices, path: Path):
        super().__init__(window)
        self.window, self.path = window, path
        services.connection_changed.connect(self._settled)
        services.connection_failed.connect(self._settled)
        QTimer.singleShot(8000, self._take)
        self._done = False
        self._since = time.monotonic()

    @Slot(object)
    def _settled(self, _value: object) -> None:
        self._since = time.monotonic()
        QTimer.singleShot(300, self._take)

    @Slot()
    def _take(self) -> None:
        if self._done:
            return
        from app.ui.common import workers

        # What the tab fetched on connecting (the jobs list, the gallery) is part of the picture: wait for it, up to
        # 5 s (a job that runs all along, like the voice tab's level meter, only costs that wait).
        if workers.active_jobs() and time.monotonic() - self._since < 5:
            QTimer.singleShot(200, self._take)
            return
        self._done = True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ok = self.window.grab().save(str(self.path), "PNG")
        print(json.dumps({"screenshot": str(self.path), "ok": ok}), flush=True)
        self.window.close()
        QApplication.instance().exit(0 if ok else 1)


class _FirstPaint(QObject):
    """For benchmarks/startup.py: prints the wall-clock time of the first painted frame; then of the moment the chat
    input is on screen and takes typing (a frame of it painted with the keyboard focus, enabled and editable, and
    the event loop back); then types a key into it and prints when that key's frame is painted; then quits."""

    KEY = "x"

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self._ready = False
        self._typed = False
        window.installEventFilter(self)
        self._edit().viewport().installEventFilter(self)

    def _edit(self) -> Any:
        holder = self.window._tab_widgets["chat"]
        tab: Any = (
            holder.widget or holder.skeleton
        )  # the first frame's box is the tab's own (chat/skeleton.py)
        return tab.compose.edit

    def eventFilter(self, obj: QObject, event) -> bool:  # noqa: N802 - Qt name
        from PySide6.QtCore import QEvent

        if event.type() != QEvent.Type.Paint:
            return False
        if obj is self.window:
            self.window.removeEventFilter(self)
            QTimer.singleShot(0, self._report_paint)
            return False
        edit = self._edit()
        if obj is not edit.viewport():
            return False
        if not self._ready:
            if edit.isVisible() and edit.isEnabled() and edit.hasFocus() and not edit.isReadOnly():
                self._ready = True
                QTimer.singleShot(0, self._report_ready)
        elif self._typed and self.KEY in edit.toPlainText():
            obj.removeEventFilter(self)
            QTimer.singleShot(0, self._report_echo)
        return False

    @Slot()
    def _report_paint(self) -> None:
        print(json.dumps({"first_paint": time.time()}), flush=True)

    @Slot()
    def _report_ready(self) -> None:
        from PySide6 import QtCore

        # Whether PySide's `Qt` namespace (~23 ms of enums) was built for the first frame: it need not be (theme.py).
        built = "Qt" in vars(QtCore)
        print(json.dumps({"ready_to_type": time.time(), "qt_namespace_built": built}), flush=True)
        from PySide6.QtCore import QEvent, Qt
        from PySide6.QtGui import QKeyEvent

        # A key, as the keyboard would send it, to the focused box: its frame says when typing shows.
        self._typed = True
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            event = QKeyEvent(kind, Qt.Key.Key_X, Qt.KeyboardModifier.NoModifier, self.KEY)
            QApplication.postEvent(self._edit(), event)

    @Slot()
    def _report_echo(self) -> None:
        print(json.dumps({"typed_echo": time.time()}), flush=True)
        if os.environ.get("PARLEY_QUIT_AFTER_PAINT"):
            QTimer.singleShot(int(os.environ.get("PARLEY_QUIT_AFTER_PAINT", "0") or 0), self.window.close)


GIL_SWITCH_SECONDS = 0.001
TRAY_DELAY_MS = 400


def share_the_interpreter() -> None:
    """Hand the GIL over every 1 ms instead of 5: a worker parsing a stream (or embeddings) otherwise keeps the GUI
    thread waiting up to 5 ms each time it needs the GIL back, which added up to 20-30 ms frames mid-answer."""
    sys.setswitchinterval(GIL_SWITCH_SECONDS)


def freeze_startup_objects(*_args: object) -> None:
    """Objects made while starting (modules, openai's models, Qt wrappers) live as long as the app. Moving them out
    of the collector's sight means a full collection never walks them: it took 75-240 ms, a visible freeze whenever
    it struck while an answer streamed or meaning search indexed."""
    import gc

    gc.freeze()


class GuiThreadCollector(QObject):
    """Python's cycle collector runs on whichever thread happens to allocate past its threshold. When that is a
    worker, a collected cycle that holds Qt widgets destroys them off the GUI thread and the process crashes (seen
    in the test suite: whole chat tabs collected by a job's thread). So automatic collection is off and this timer
    runs it on the GUI thread instead, as cheaply as the automatic one (young generations only, unless the counts
    say an older one is due)."""

    INTERVAL_MS = 500

    def __init__(self, parent: QObject):
        super().__init__(parent)
        import gc

        self._gc = gc
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(self.INTERVAL_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    @Slot()
    def check(self) -> None:
        gc = self._gc
        counts = gc.get_count()
        thresholds = gc.get_threshold()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return

    def stop(self) -> None:
        self._timer.stop()
        self._gc.enable()


def _quit_on_signals(window: MainWindow) -> None:
    """SIGTERM/SIGINT quit the normal way (state saved, jobs cancelled, conversation flushed), whatever else is open.

    Python runs signal handlers only between bytecodes, which never happen while Qt's C++ loop waits, so a
    short timer hands control back to the interpreter a few times a second.
    """
    import signal

    def request_close(signum: int, frame: object) -> None:
        QTimer.singleShot(0, window.quit_app)  # kept in the tray, or a dialog open: Parley still ends

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, request_close)
    wake = QTimer(window)
    wake.setInterval(250)
    wake.timeout.connect(_noop)
    wake.start()


def _noop() -> None:
    pass


_keep: list[object] = []  # the instance lock and server, alive as long as the process


def _serve(qapp: QObject, window: MainWindow) -> None:
    """Listen for later launches (`parley`, `--send TEXT`, `--quick`)."""
    from app.ui.common.single_instance import InstanceServer

    instance = InstanceServer(qapp)
    _keep.append(instance)
    instance.show_requested.connect(window.bring_to_front)
    instance.send_requested.connect(window.take_question)
    instance.quick_requested.connect(window.quick_ask)


def _hand_over(send: str | None, quick: bool = False) -> int:
    """Parley already runs: give it this launch's request and say what became of it."""
    from app.ui.common.single_instance import hand_over

    request = {"op": "send", "text": send} if send else {"op": "quick"} if quick else {"op": "show"}
    if hand_over(request):
        if send:
            print("parley: already running; the running Parley took the question and sends it in a new chat")
        elif quick:
            print("parley: already running; opened its Ask Parley window", file=sys.stderr)
        else:
            print("parley: already running; brought its window to the front", file=sys.stderr)
        return 0
    print(
        "parley: Parley is already running but did not answer, so "
        + ("the question was not handed over" if send else "its window could not be brought forward")
        + ".\n  Close it (or end the process) and start Parley again.",
        file=sys.stderr,
    )
    return 1


def run_gui(
    *,
    demo: bool = False,
    screenshot: str | None = None,
    tab: str | None = None,
    profile: str | None = None,
    send: str | None = None,
    quick: bool = False,
    theme: str | None = None,
    size: tuple[int, int] | None = None,
) -> int:
    QApplication.setApplicationName("Parley")
    QApplication.setOrganizationName("Parley")
    QApplication.setApplicationVersion(app.__version__)
    QGuiApplication.setDesktopFileName("parley")
    qapp = QApplication.instance()
    if qapp is None:  # in Fusion, as apply_theme would set it, without asking (`started_with_fusion`)
        qapp = QApplication([*sys.argv[:1], "-style", "Fusion"])
        started_with_fusion()
    share_the_interpreter()
    collector = GuiThreadCollector(qapp)

    if not screenshot:
        from app.ui.common.single_instance import InstanceLock

        lock = InstanceLock()
        if not lock.acquire():
            return _hand_over(send, quick)
        _keep.append(lock)

    from app.ui.common.crash import CrashHandler

    crash_handler = CrashHandler(qapp)
    services = AppServices(demo=demo, profile_name=profile)
    # --theme: this run only. In the desktop's scheme as last seen: asked once the frame is out (theme.py).
    apply_theme(theme or str(services.pref(prefs.THEME)), system_dark=services.pref(prefs.SYSTEM_DARK))
    window = MainWindow(services)
    window.first_painted.connect(lambda: _follow_platform(services))
    window.closing.connect(crash_handler.quiet)  # no crash dialog may keep a quitting Parley alive
    if size is not None:
        window.resize(*size)
    if tab and not window.select_tab(tab):
        print(f"parley: unknown tab '{tab}'", file=sys.stderr)
        return 2
    if not screenshot:
        # The server (QtNetwork) once the window takes typing: a second launch keeps trying to reach it meanwhile.
        window.settled.connect(lambda: _serve(qapp, window))
        # The tray (and quick ask's imports of the chat core) a moment after the window is on screen, so they
        # never delay the chat input taking typing; none where the platform has no tray.
        window.settled.connect(lambda: QTimer.singleShot(TRAY_DELAY_MS, lambda: window.add_tray(ICON)))
    if send:
        window.ask(send)
    if screenshot:
        _Screenshot(window, services, Path(screenshot))
    # The window's icon once its first frame is on screen: loading Qt's SVG icon engine for it cost that frame ~3 ms,
    # and the window manager takes a new icon at any time.
    window.first_painted.connect(lambda: qapp.setWindowIcon(QIcon(str(ICON))))
    # Logged once it is on screen: the log's first record (its file, its redaction patterns) costs that frame ~1.5 ms.
    window.first_painted.connect(lambda: log.info("window shown", extra={"event": "ready"}))
    if os.environ.get("PARLEY_REPORT_FIRST_PAINT"):
        _FirstPaint(window)
    _quit_on_signals(window)
    window.show()
    if quick:
        window.quick_ask()
    # Connect once the window takes typing (`settled`): keyring, credentials, the emulator and the openai import
    # (a worker importing holds the GIL) never delay the window or the chat input.
    window.settled.connect(services.reconnect)
    window.settled.connect(freeze_startup_objects)
    services.connection_changed.connect(
        freeze_startup_objects
    )  # connecting imported openai and azure.identity
    code = 1
    try:
        code = qapp.exec()
    finally:
        crash_handler.uninstall()
        _end_background_work(code)
        collector.stop()
    return code


def _follow_platform(services: AppServices) -> None:
    """The desktop's scheme, asked once the first frame is out (applied if it changed while Parley was closed), is
    remembered for the next start's first frame."""
    seen = follow_platform()
    if seen is not None and seen != services.pref(prefs.SYSTEM_DARK):
        services.set_pref(prefs.SYSTEM_DARK, seen)


def _end_background_work(code: int) -> None:
    """Jobs started while the window closed (a list refresh after the last turn, the indexer) still run: wait for
    them before Python and Qt free their threads, which would abort the process. One that will not end in time
    (a sign-in that cannot be cancelled) is left to the OS: exit now, without running the destructors."""
    from app.ui.common import workers

    if workers.shutdown(5000):
        return
    log.warning("quitting with background work still running: %s", [j.name for j in workers.active_jobs()])
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
