"""What the Chat tab shows in its first frame: the real compose box, in the place it keeps once the tab is built.

Building the whole tab (the conversation list, the view, history, Markdown) takes 100-150 ms; the box is ready in a
few. So the window's first frame already has the box, focused and taking typing; the tab is built right after that
frame, adopts this same box (what was typed stays, with its cursor), and this skeleton goes away.
"""

from __future__ import annotations

from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from app.ui.chat.compose import ComposeBox, font_points

SIDEBAR_WIDTH = 240  # the chat tab's splitter sizes: the box keeps its x and width when the tab replaces this
PANE_WIDTH = 760


def lay_out(owner: QWidget, sidebar: QWidget, pane: QWidget) -> None:
    """The chat tab's frame, the skeleton's and the built tab's alike: the conversation list beside the pane."""
    split = QSplitter()
    split.addWidget(sidebar)
    split.addWidget(pane)
    split.setStretchFactor(1, 1)
    split.setSizes([SIDEBAR_WIDTH, PANE_WIDTH])
    split.setChildrenCollapsible(False)
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(split)


class ChatSkeleton(QWidget):
    def __init__(self, font_size: object = None, send_key: object = None, parent: QWidget | None = None):
        """`font_size`, `send_key`: Settings' chat font size and send key, so the box's text does not change size
        when the tab is built, and its hint names the key that sends from the first frame."""
        super().__init__(parent)
        self.compose = ComposeBox()
        self.compose.edit.send_key = send_key
        points = font_points(font_size)
        if points is not None:
            self.compose.set_font_size(points)
        pane = QWidget()
        column = QVBoxLayout(pane)
        column.setContentsMargins(0, 0, 0, 0)
        column.addStretch(1)
        column.addWidget(self.compose)
        lay_out(self, QWidget(), pane)  # an empty place where the conversation list comes

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt name
        super().showEvent(event)  # type: ignore[arg-type]
        self.compose.edit.setFocus()

    def take_compose(self) -> ComposeBox:
        """The box, for the built tab to place in its own layout."""
        return self.compose
