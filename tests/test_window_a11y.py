"""Keyboard and screen readers: Tab reaches every control in reading order, Help lists every shortcut, Undo of a
deleted chat returns to the message box, every interactive control has a name, and a finished answer is announced."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from app.ui.common.services import AppServices
from app.ui.main_window import TAB_NAMES, MainWindow

INTERACTIVE = (
    QAbstractButton,
    QLineEdit,
    QTextEdit,
    QPlainTextEdit,
    QComboBox,
    QAbstractSpinBox,
    QAbstractItemView,
    QAbstractSlider,
)


@pytest.fixture
def window(qtbot):
    services = AppServices(demo=True)
    win = MainWindow(services)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.settled, timeout=10000):
        win.show()
    with qtbot.waitSignal(services.connection_changed, timeout=20000):
        services.reconnect()
    yield win
    win.close()


def show_tab(qtbot, window, name):
    window.select_tab(name)
    tab = window.tab(name)
    qtbot.waitUntil(tab.isVisible)
    if name == "chat":
        qtbot.waitUntil(lambda: tab.history is not None, timeout=10000)
    return tab


def label(widget: QWidget) -> str:
    return f"{type(widget).__name__}:{widget.accessibleName() or widget.objectName()}"


def tab_walk(qtbot, window) -> list[QWidget]:
    """Press Tab until the focus comes back where it started: every widget it visited, in order, beginning with the
    tab bar (a label with links keeps the focus for a press per link: that is moving, not being stuck)."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    start = QApplication.focusWidget()
    visited = [start]
    for _ in range(150):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        current = QApplication.focusWidget()
        if current is start:
            bar = window.tabs.tabBar()
            at = visited.index(bar) if bar in visited else 0
            return visited[at:] + visited[:at]
        if current is visited[-1]:
            continue
        assert current not in visited, (
            f"Tab is stuck in a loop at {label(current)}: {[label(w) for w in visited]}"
        )
        visited.append(current)
    raise AssertionError(f"Tab never came back: {[label(w) for w in visited]}")


def takes_tab(widget: QWidget) -> bool:
    return (
        widget.isVisible()
        and widget.isEnabled()
        and bool(widget.focusPolicy() & Qt.FocusPolicy.TabFocus)
        and widget.focusProxy() is None
    )


@pytest.mark.parametrize("name", TAB_NAMES)
def test_tab_reaches_every_control_of_every_tab(qtbot, window, name):
    show_tab(qtbot, window, name)
    visited = tab_walk(qtbot, window)
    missed = [label(w) for w in window.findChildren(QWidget) if takes_tab(w) and w not in visited]
    assert not missed, f"Tab never reaches {missed}; it visits {[label(w) for w in visited]}"


def test_chat_tab_order_reads_like_the_window(qtbot, window):
    chat = show_tab(qtbot, window, "chat")
    visited = tab_walk(qtbot, window)
    wanted = [
        chat.sidebar.new_button,
        chat.search.query,
        chat.sidebar.list,
        chat.deployment,
        chat.empty.suggestions[0],  # a new chat: "Ask anything" in the conversation's place
        chat.empty.suggestions[-1],
        chat.compose.edit,
        chat.compose.send,
    ]
    positions = [visited.index(w) for w in wanted]  # ValueError names one that Tab never reached
    assert positions == sorted(positions), [label(visited[p]) for p in sorted(positions)]


def ask_then_delete_the_chat(qtbot, window):
    """One question asked from the box, then its chat deleted from the list with Del: Undo is offered."""
    chat = show_tab(qtbot, window, "chat")
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is chat.compose.edit)
    chat.compose.set_text("first question")
    qtbot.keyClick(chat.compose.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: chat.turns.job is None and len(chat.sidebar.conversations) == 1, timeout=20000)
    window.activateWindow()  # offscreen Qt loses the active window while the answer streams
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    chat.sidebar.list.setFocus()
    chat.sidebar.list.setCurrentRow(0)
    qtbot.keyClick(chat.sidebar.list, Qt.Key.Key_Delete)
    qtbot.waitUntil(
        lambda: chat.sidebar.undo_bar.isVisible() and not chat.sidebar.conversations, timeout=5000
    )
    return chat


def test_undo_of_a_deleted_chat_puts_the_focus_back_in_the_message_box(qtbot, window):
    chat = ask_then_delete_the_chat(qtbot, window)
    chat.sidebar.undo_button.setFocus()
    qtbot.keyClick(chat.sidebar.undo_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: len(chat.sidebar.conversations) == 1, timeout=5000)
    qtbot.wait(100)
    assert QApplication.focusWidget() is chat.compose.edit, label(QApplication.focusWidget())
    assert not chat.deployment.lineEdit().hasSelectedText()


def every_shortcut(window) -> set[str]:
    keys = set()
    for shortcut in window.findChildren(QShortcut):
        keys.add(shortcut.key().toString())
    for action in window.findChildren(QAction):
        for sequence in action.shortcuts():
            keys.add(sequence.toString())
    return {k for k in keys if k}


def test_help_lists_every_keyboard_shortcut(qtbot, window):
    for name in TAB_NAMES:
        show_tab(qtbot, window, name)
    keys = every_shortcut(window)
    assert {"Ctrl+N", "Ctrl+F", "Ctrl+1", "Ctrl+Return", "Esc"} <= keys, keys
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    entry = next(a for a in help_menu.actions() if a.text() == "&Keyboard shortcuts")
    assert entry.shortcut().toString()
    entry.trigger()
    dialog = next(w for w in QApplication.topLevelWidgets() if w.windowTitle() == "Keyboard shortcuts")
    qtbot.waitUntil(dialog.isVisible)
    shown = dialog.text.toPlainText()
    for key in keys | {"Return", "Shift+Return", "Space", "Del", "Down", "F2"}:
        native = QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)
        assert native in shown, f"{key} is not listed"
    dialog.close()


def accessible_name(widget: QWidget) -> str:
    if widget.accessibleName():
        return widget.accessibleName()
    if isinstance(widget, QComboBox):
        return ""  # a combo's own "name" is its current text: that does not say what it is for
    interface = QAccessible.queryAccessibleInterface(widget)
    return interface.text(QAccessible.Text.Name) if interface is not None else ""


def unnamed(window: QWidget) -> list[str]:
    out = []
    for widget in window.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE) or not widget.isVisible() or widget.window() is not window:
            continue
        if widget.focusPolicy() == Qt.FocusPolicy.NoFocus and not isinstance(widget, QAbstractButton):
            continue  # a scroll bar or a combo's inner list: part of another control
        if isinstance(widget.parent(), QComboBox | QAbstractSpinBox) or widget.objectName().startswith("qt_"):
            continue  # Qt's own parts of a control (a spin box's field, a table's corner button)
        if not accessible_name(widget).strip():
            out.append(f"{label(widget)} in {type(widget.parent()).__name__}")
    return out


def test_every_interactive_widget_has_a_name(qtbot, window):
    missing = []
    for name in TAB_NAMES:
        show_tab(qtbot, window, name)
        missing += unnamed(window)
    dialog = window.tab("settings").profiles.open_add()
    qtbot.waitUntil(lambda: not dialog.auth.busy, timeout=10000)
    missing += unnamed(dialog)
    dialog.reject()
    assert not missing, missing


def test_a_finished_answer_is_announced(qtbot, window, monkeypatch):
    said = []

    def record(event):
        said.append((type(event).__name__, getattr(event, "message", lambda: "")(), event.object()))

    monkeypatch.setattr(QAccessible, "updateAccessibility", staticmethod(record))
    chat = show_tab(qtbot, window, "chat")
    chat.compose.set_text("hello")
    qtbot.keyClick(chat.compose.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(chat.sidebar.conversations) == 1 and chat.turns.job is None, timeout=20000)
    assert chat.view.widgets[-1].status == "complete"
    announcements = [(msg, obj) for kind, msg, obj in said if kind == "QAccessibleAnnouncementEvent"]
    assert announcements and announcements[-1][0] == "Answer finished.", said


def words_on(widget: QWidget) -> list[str]:
    """Every text a user reads or hears on `widget`: its text, placeholder, tooltip and accessible description."""
    texts = [widget.toolTip(), widget.accessibleDescription(), widget.accessibleName()]
    for getter in ("text", "placeholderText", "title"):
        value = getattr(widget, getter, None)
        if callable(value):
            try:
                texts.append(str(value()))
            except TypeError:  # a getter with arguments (QTabBar.text(i))
                pass
    return texts


def test_every_text_names_the_return_key_as_the_shortcuts_list_does(qtbot, window):
    # Help → Keyboard shortcuts writes it as Qt does ("Return", "Ctrl+Return"); a placeholder saying "Ctrl+Enter"
    # beside an empty state saying "Ctrl+Return" made the user wonder whether they were two keys.
    for name in TAB_NAMES:
        show_tab(qtbot, window, name)
    import re

    enter = re.compile(r"\bEnter\b(?! your)")
    said = {
        f"{label(w)}: {text}"
        for w in window.findChildren(QWidget)
        for text in words_on(w)
        if enter.search(text)
    }
    assert not said, sorted(said)


def test_ctrl_z_brings_back_a_deleted_chat_but_undoes_typing_in_the_box(qtbot, window):
    chat = ask_then_delete_the_chat(qtbot, window)
    assert (
        QApplication.focusWidget() is chat.sidebar.list
    )  # where Del was pressed, not the box (which keeps Ctrl+Z)
    # In the message box Ctrl+Z is the box's own: it takes back what was typed, the chat stays deleted.
    chat.compose.edit.setFocus()
    qtbot.keyClicks(chat.compose.edit, "draft")
    qtbot.keyClick(chat.compose.edit, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert chat.compose.text() == ""
    qtbot.wait(300)
    assert not chat.sidebar.conversations and chat.sidebar.undo_bar.isVisible()
    # Anywhere else in the tab (here, the list the chat was deleted from) Ctrl+Z is the sidebar's Undo.
    chat.sidebar.list.setFocus()
    qtbot.keyClick(chat.sidebar.list, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: [c.title for c in chat.sidebar.conversations] == ["first question"], timeout=5000)
    assert not chat.sidebar.undo_bar.isVisible()
    # Once nothing is offered, Ctrl+Z brings nothing back.
    chat.sidebar.list.setFocus()
    chat.sidebar.list.setCurrentRow(0)
    qtbot.keyClick(chat.sidebar.list, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: not chat.sidebar.conversations, timeout=5000)
    chat.sidebar._undo_timer.timeout.emit()  # the offer runs out
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.wait(300)
    assert not chat.sidebar.conversations


def test_the_shortcuts_list_says_ctrl_z_brings_a_deleted_chat_back(qtbot, window):
    from app.ui.shortcuts import SHORTCUTS

    chat_keys = {keys: what for where, keys, what in SHORTCUTS if where == "Chat"}
    assert "Ctrl+Z" in chat_keys["Del"]
    assert "deleted" in chat_keys["Ctrl+Z"]
