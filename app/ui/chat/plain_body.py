"""Your message's text as you typed it: plain, selectable, as tall as its lines, wrapped at word boundaries and,
for a word longer than the column (a long identifier, a URL), inside the word.

A word-wrapped QLabel cannot break a word: one 60-character identifier made the label, and with it the whole
conversation, wider than the window (a sideways scroll bar, the answers' right edge cut off)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSizeF, Qt, Slot
from PySide6.QtGui import QPalette, QTextOption
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextEdit, QWidget


class PlainBody(QTextEdit):
    """Read-only plain text whose height follows its document (the conversation scrolls, not the message)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._text = ""  # as given: toPlainText() would turn a non-breaking space into a space
        self.setAccessibleName("Message text")
        self.setAccessibleDescription("The message as you typed it; select to copy")
        self.setReadOnly(True)
        self.setAcceptRichText(False)
        self.setTabChangesFocus(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.viewport().setAutoFillBackground(False)  # the bubble shows through
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Base, Qt.GlobalColor.transparent)
        self.setPalette(palette)  # a palette, not a style sheet (style.py: the conversation's font follows)
        self.viewport().setCursor(Qt.CursorShape.IBeamCursor)
        self.document().setDocumentMargin(0)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self.setFixedHeight(0)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 - QLabel's name, which this replaces
        self._text = text
        self.setPlainText(text)

    @Slot(QSizeF)
    def _fit(self, size: QSizeF) -> None:
        self.setFixedHeight(int(size.height()) + 2)

    def wheelEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        event.ignore()  # the conversation scrolls, not the message
