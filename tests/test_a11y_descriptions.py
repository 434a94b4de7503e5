"""Every interactive control has an accessible name and an accessible description, as Qt hands them to a screen
reader, on every tab (each shown once so lazy tabs build), with a chat answered (so its messages' controls exist) and
in the connection dialog.

What counts, exactly as `QAccessible` exposes it:
- interactive: buttons (push, tool, radio, check), line and text edits, combo boxes, spin boxes, sliders, list / tree
  / table views and tab bars that are shown and take focus (a button counts even without focus); Qt's own parts of
  another control (a combo's list, a spin box's field, a scroll bar, a table's corner button) do not;
- name: the accessible name, else what Qt reads as the name (a button's visible text without its "&"); a combo box
  needs an explicit accessible name, because its text is only its current choice;
- description: the accessible description, else the tooltip (Qt reads the tooltip when there is no description).
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QTabBar, QWidget
from test_window_a11y import INTERACTIVE, accessible_name, label, show_tab, window  # noqa: F401 - the fixture

from app.ui.common.a11y import description
from app.ui.main_window import TAB_NAMES


def owner(widget: QWidget) -> str:
    """The module of the nearest Parley class holding the widget (a plain QPushButton belongs to the tab it is in)."""
    current: QWidget | None = widget
    while current is not None:
        module = type(current).__module__
        if module.startswith("app."):
            return module
        current = current.parentWidget()
    return "?"


def gaps(root: QWidget) -> list[tuple[str, str]]:
    """(owner module, what is missing) for every interactive control under `root` without a name or description."""
    out = []
    for widget in root.findChildren(QWidget):
        if (
            not isinstance(widget, (*INTERACTIVE, QTabBar))
            or not widget.isVisible()
            or widget.window() is not root
        ):
            continue
        if widget.focusPolicy() == Qt.FocusPolicy.NoFocus and not isinstance(widget, QAbstractButton):
            continue  # a scroll bar or a combo's inner list: part of another control
        if isinstance(widget.parent(), QComboBox | QAbstractSpinBox) or widget.objectName().startswith("qt_"):
            continue  # Qt's own parts of a control
        lacks = [
            what
            for what, text in (("name", accessible_name(widget)), ("description", description(widget)))
            if not text.strip()
        ]
        if lacks:
            text = widget.text() if isinstance(widget, QAbstractButton) else ""
            shown = f" “{text}”" if text else ""
            out.append(
                (owner(widget), f"{label(widget)}{shown} in {owner(widget)}: no {' and no '.join(lacks)}")
            )
    return out


@pytest.fixture
def every_gap(qtbot, window):  # noqa: F811 - the window fixture
    found: list[tuple[str, str]] = []
    chat = show_tab(qtbot, window, "chat")
    chat.compose.set_text("hello")
    qtbot.keyClick(chat.compose.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: chat.turns.job is None and len(chat.sidebar.conversations) == 1, timeout=20000)
    found += gaps(window)
    for name in TAB_NAMES:
        show_tab(qtbot, window, name)
        found += gaps(window)
    dialog = window.tab("settings").profiles.open_add()
    qtbot.waitUntil(lambda: not dialog.auth.busy, timeout=10000)
    found += gaps(dialog)
    dialog.reject()
    return sorted(set(found))


def test_every_interactive_control_has_a_name_and_a_description(every_gap):
    assert not every_gap, "left to describe:\n" + "\n".join(text for _module, text in every_gap)
