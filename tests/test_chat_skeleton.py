"""The window's first frame already has the chat box, focused (chat/skeleton.py, #17): what the user types before
the rest of the chat tab is built stays in the box, with the focus, once the tab is built around it."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.ui.common.services import AppServices
from app.ui.main_window import MainWindow


def test_what_is_typed_before_the_chat_tab_is_built_stays_in_its_box(qtbot):
    win = MainWindow(AppServices(demo=True))
    qtbot.addWidget(win)
    holder = win._tab_widgets["chat"]
    box = holder.skeleton.compose
    painted = []
    win.first_painted.connect(lambda: painted.append(holder.widget is None))
    win.show()
    # Typed before the loop has run once: the first frame is not even painted, the tab not built.
    assert holder.widget is None and box.edit.isVisible() and box.send.isVisible()
    qtbot.keyClicks(box.edit, "Hello before")
    with qtbot.waitSignal(win.settled, timeout=10000):
        pass
    tab = holder.widget
    assert painted == [True]  # the first frame went out before the tab was built
    assert tab is not None and tab.compose is box  # the same box, moved into the tab
    assert holder.skeleton is None and box.isVisible() and box.window() is win
    qtbot.waitUntil(box.edit.hasFocus, timeout=5000)
    qtbot.keyClicks(box.edit, " and after")
    assert box.text() == "Hello before and after"
    # The box sits where the built tab keeps it: the conversation column, below the view.
    assert box.mapTo(tab, box.rect().topLeft()).y() > tab.view.mapTo(tab, tab.view.rect().topLeft()).y()
    qtbot.keyClick(box.edit, Qt.Key.Key_End)
    win.close()


def test_the_window_settles_when_another_tab_is_chosen_while_the_chat_tab_imports(qtbot):
    """Settling (connecting, the status bar) waits for the chat tab's build; a switch to Voice meanwhile must not
    leave the window waiting for a chat tab nobody looks at."""
    win = MainWindow(AppServices(demo=True))
    qtbot.addWidget(win)
    win.first_painted.connect(lambda: win.select_tab("settings"))
    with qtbot.waitSignal(win.settled, timeout=10000):
        win.show()
    assert win.current_tab_name() == "settings" and win.profile_switcher is not None
    assert win._tab_widgets["chat"].widget is None  # built when it is first shown, not before
    win.select_tab("chat")
    qtbot.waitUntil(win.tab("chat").compose.edit.hasFocus, timeout=5000)
    win.close()


def test_the_chat_box_does_not_move_when_the_window_settles(qtbot):
    """What the user is typing into stays put: the status bar gets its profile switcher (a taller combo box) once
    the window settles, and the box above it must not jump up by the difference."""
    win = MainWindow(AppServices(demo=True))
    qtbot.addWidget(win)
    win.resize(1100, 760)
    box = win._tab_widgets["chat"].skeleton.compose
    first: list = []
    win.first_painted.connect(lambda: first.append(box.mapTo(win, box.rect().topLeft())))
    with qtbot.waitSignal(win.settled, timeout=10000):
        win.show()
    qtbot.wait(200)  # the status bar's new widgets laid out
    assert win.profile_switcher is not None and win.profile_switcher.isVisible()
    assert box.mapTo(win, box.rect().topLeft()) == first[0]
    win.close()
