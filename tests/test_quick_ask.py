"""Quick ask (#17): the small Ask Parley window streams an answer stored like any chat, "Continue in Parley" opens
it in the Chat tab, `parley --quick` opens it in the running Parley, and the window can stay in the tray."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from app.core.history import History
from app.ui.common import prefs
from app.ui.common.services import AppServices
from app.ui.main_window import MainWindow

# Bringing a window forward is a no-op on the offscreen platform, which says so.
pytestmark = pytest.mark.qt_log_ignore(
    "This plugin does not support raise", "No such signal QPlatformNativeInterface::systemTrayWindowChanged"
)


@pytest.fixture
def window(qtbot):
    services = AppServices(demo=True)
    win = MainWindow(services)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.settled, timeout=10000):
        win.show()
    with qtbot.waitSignal(services.connection_changed, timeout=30000):
        services.reconnect()
    yield win
    win.quit_app()


def test_quick_ask_streams_an_answer_stored_as_a_chat_and_continues_in_parley(qtbot, window):
    quick = window.quick_ask()
    assert quick.isVisible() and quick.windowTitle() == "Ask Parley"
    assert quick.question.hasFocus() or quick.focusWidget() is quick.question
    quick.question.setPlainText("What is the capital of France?")
    with qtbot.waitSignal(quick.answered, timeout=30000) as ended:
        quick.ask()
    cid = ended.args[0]
    assert quick.body.plain_text().strip(), "the answer is shown"
    assert quick.placeholder.isHidden()
    assert quick.status.text() == "Done."
    assert not quick.card.isVisible()
    stored = History.open().messages(cid)
    assert [m.role for m in stored] == ["user", "assistant"]
    assert stored[0].text == "What is the capital of France?"
    assert stored[1].text.strip() == quick.answer_text.strip()

    assert quick.continue_button.isEnabled()
    chat = window.tab("chat")
    quick.continue_button.click()
    qtbot.waitUntil(lambda: chat.conversation_id == cid, timeout=10000)
    assert window.current_tab_name() == "chat"
    assert not quick.isVisible()
    qtbot.waitUntil(lambda: len(chat.view.widgets) == 2, timeout=10000)
    assert chat.view.widgets[0].text == "What is the capital of France?"
    assert chat.view.widgets[1].text.strip() == quick.answer_text.strip()


def test_quick_ask_renders_the_answer_as_the_chat_does_and_follows_its_end(qtbot, window):
    """Quick ask re-rendered the whole answer with Qt's own Markdown on every token (its cost grew with the answer)
    and showed code without colour or Copy: it renders as the chat does now, and keeps the end in view."""
    from PySide6.QtGui import QGuiApplication

    quick = window.quick_ask()
    quick.resize(520, 300)
    assert quick.placeholder.isVisible()
    quick.question.setPlainText("How do I sort a list?")
    with qtbot.waitSignal(quick.answered, timeout=30000):
        quick.ask()
    body = quick.body
    assert body.code_parts(), "the code block is a part of its own"
    code = body.code_parts()[0]
    assert code.language.text() == "python"
    code.copy_button.click()
    assert QGuiApplication.clipboard().text() == body.codes[0] and "def " in body.codes[0]
    bar = quick.answer.verticalScrollBar()
    qtbot.waitUntil(
        lambda: bar.maximum() > 0 and bar.value() == bar.maximum()
    )  # the end of the answer in view
    assert quick.answer_text == History.open().messages(quick.conversation_id)[1].text


def test_quick_ask_without_a_chat_deployment_says_what_to_fix(qtbot, window, monkeypatch):
    quick = window.quick_ask()
    quick.question.setPlainText("hello")
    connection = window.services.connection
    monkeypatch.setattr(type(connection), "deployment", lambda self, cap: (_ for _ in ()).throw(_config()))
    quick.ask()
    assert quick.card.isVisible()
    assert not quick.running


def _config():
    from app.core import errors

    return errors.ParleyError(
        errors.Problem(errors.Kind.CONFIG, "No chat deployment", "x", "Set Chat in Settings.")
    )


def test_no_tray_on_the_platform_is_skipped_quietly(qtbot, window, monkeypatch):
    from app.ui import quick_ask

    monkeypatch.setattr(quick_ask.Tray, "available", staticmethod(lambda: False))
    assert window.add_tray("parley.svg") is False and window.tray is None
    window.services.set_pref(prefs.KEEP_IN_TRAY, True)
    assert not window.keeps_running_in_tray()  # no tray to come back from: closing quits


def test_closing_the_window_keeps_parley_in_the_tray_only_when_chosen(qtbot, window, monkeypatch):
    from PySide6.QtWidgets import QApplication

    from app.ui import quick_ask

    monkeypatch.setattr(quick_ask.Tray, "available", staticmethod(lambda: True))
    from app.ui.app import ICON

    assert window.add_tray(ICON)
    try:
        assert not window.keeps_running_in_tray()  # not chosen: closing quits
        window.services.set_pref(prefs.KEEP_IN_TRAY, True)
        window.close()
        assert not window.isVisible() and window.keeps_running_in_tray()
        window.tray.ask.emit()  # the tray's "Ask Parley…" works with the window hidden
        assert window.quick.isVisible()
        window.tray.show_window.emit()
        assert window.isVisible()
    finally:
        window.tray.icon.hide()
        window.tray = None  # the fixture's close must not quit the test's QApplication
        QApplication.setQuitOnLastWindowClosed(True)


def test_keep_in_tray_is_a_setting_off_by_default(qtbot, window):
    assert window.services.pref(prefs.KEEP_IN_TRAY) is False
    settings = window.tab("settings")
    assert not settings.keep_in_tray.isChecked()
    settings.keep_in_tray.setChecked(True)
    assert window.services.pref(prefs.KEEP_IN_TRAY) is True
    assert not window.keeps_running_in_tray() or window.tray is not None


@pytest.mark.qt_no_exception_capture
def test_parley_quick_opens_ask_parley_in_the_running_instance(parley_home):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PARLEY_HOME=str(parley_home))
    first = subprocess.Popen(
        [sys.executable, "-m", "app", "--demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = parley_home / "logs" / "parley.log"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (log.exists() and "window shown" in log.read_text()):
            time.sleep(0.1)
        assert "quick ask shown" not in log.read_text()
        second = subprocess.run(
            [sys.executable, "-m", "app", "--quick"], env=env, capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 0, second.stderr
        assert "opened its Ask Parley window" in second.stderr
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "quick ask shown" not in log.read_text():
            time.sleep(0.1)
        assert "quick ask shown" in log.read_text()
        assert first.poll() is None
    finally:
        first.terminate()
        first.wait(10)


def test_quick_flag_is_documented():
    out = subprocess.run([sys.executable, "-m", "app", "--help"], capture_output=True, text=True, timeout=60)
    assert "--quick" in out.stdout and "Ask Parley" in out.stdout


@pytest.mark.qt_no_exception_capture
def test_parley_quick_starts_parley_when_none_runs(parley_home):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PARLEY_HOME=str(parley_home))
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "--demo", "--quick"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    log = parley_home / "logs" / "parley.log"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (log.exists() and "quick ask shown" in log.read_text()):
            time.sleep(0.1)
        assert "quick ask shown" in log.read_text()
        assert proc.poll() is None
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
