"""Keyboard and screen-reader helpers: announcements to assistive technology and a tab order that reads as laid out."""

from __future__ import annotations

from PySide6 import QtCore
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

# What a turn's status says when it ends (`MessageStatus` values; anything else reads as the status itself).
ENDINGS = {
    "complete": "Answer finished.",
    "stopped": "Answer stopped.",
    "filtered": "The answer was filtered by Azure's content filter.",
    "failed": "The answer failed; the message says why.",
}


def announce(source: QObject, message: str, *, assertive: bool = False) -> None:
    """Say `message` through the screen reader (a polite announcement waits for what it is reading to end)."""
    from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent  # not for the first frame: ~3 ms

    event = QAccessibleAnnouncementEvent(source, message)
    event.setPoliteness(
        QAccessible.AnnouncementPoliteness.Assertive
        if assertive
        else QAccessible.AnnouncementPoliteness.Polite
    )
    QAccessible.updateAccessibility(event)


def focusable_in(widget: QWidget) -> list[QWidget]:
    """The widget and its descendants that take focus, in their current focus-chain order."""
    found = (
        [widget]
        if widget.focusPolicy() != QtCore.Qt.FocusPolicy.NoFocus and widget.focusProxy() is None
        else []
    )
    current = widget.nextInFocusChain()
    while current is not None and current is not widget and widget.isAncestorOf(current):
        if current.focusPolicy() != QtCore.Qt.FocusPolicy.NoFocus and current.focusProxy() is None:
            found.append(current)
        current = current.nextInFocusChain()
    return found


def describe(widget: QWidget, text: str) -> QWidget:
    """What a screen reader says after the control's name: what it does or holds, in a short sentence (Qt falls back
    to the tooltip, so a control with a tooltip that says this needs none)."""
    widget.setAccessibleDescription(text)
    return widget


def description(widget: QWidget) -> str:
    """The description Qt hands to assistive technology: the accessible description, else the tooltip."""
    from PySide6.QtGui import QAccessible

    interface = QAccessible.queryAccessibleInterface(widget)
    return interface.text(QAccessible.Text.Description) if interface is not None else ""


def chain_tab_order(parts: list[QWidget]) -> None:
    """Tab visits `parts` (and whatever in them takes focus) in this order, whenever each was created."""
    order = [w for part in parts for w in focusable_in(part)]
    for first, second in zip(order, order[1:], strict=False):
        QWidget.setTabOrder(first, second)
