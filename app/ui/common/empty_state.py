"""What a place says before it has anything in it: a title, one line of guidance and the main action as a button,
centred where the content will be (chat, the images gallery, jobs, voice)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget


class EmptyState(QFrame):
    def __init__(self, title: str, guidance: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("emptyState")
        self.setAccessibleName(title)
        self.setAccessibleDescription(guidance)
        self.title = QLabel(title)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.title.setFont(font)
        self.guidance = QLabel(guidance)
        self.guidance.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.guidance.setWordWrap(True)
        self.guidance.setStyleSheet("color: palette(placeholder-text);")
        self.guidance.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.action_row = QHBoxLayout()
        self.action_row.setSpacing(8)
        self.action_row.addStretch(1)
        self.action_row.addStretch(1)
        # A readable measure on wide windows: the text column is at most 560 px, centred. (No alignment flag on the
        # label itself: that would give a word-wrapped label its one-line height and cut it off.)
        inner = QWidget()
        inner.setMaximumWidth(560)
        self.outer = outer = QHBoxLayout(self)
        outer.setContentsMargins(16, 16, 16, 16)
        outer.addStretch(0)
        outer.addWidget(inner, 1)
        outer.addStretch(0)
        self.column = column = QVBoxLayout(inner)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(10)
        column.addStretch(1)
        column.addWidget(self.title)
        column.addWidget(self.guidance)
        column.addLayout(self.action_row)
        column.addStretch(1)
        self.buttons: list[QPushButton] = []

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt name
        """Room for the title, two lines of guidance and the buttons, so a splitter never squeezes it unreadable
        (a word-wrapped label reports a one-line minimum)."""
        margins = self.outer.contentsMargins()
        buttons = max((b.sizeHint().height() for b in self.buttons), default=0)
        height = (
            self.title.sizeHint().height()
            + 2 * self.guidance.fontMetrics().lineSpacing()
            + buttons
            + 2 * self.column.spacing()
            + margins.top()
            + margins.bottom()
        )
        return QSize(super().minimumSizeHint().width(), height)

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt name
        # Layouts ask a word-wrapped label's height for its width and skip the hint above: say it as a minimum.
        self.setMinimumHeight(self.minimumSizeHint().height())
        super().showEvent(event)  # type: ignore[arg-type]

    def add_action(self, text: str, slot: Callable[[], object], description: str) -> QPushButton:
        """A button under the guidance (in the order added); `description` is what a screen reader adds to it."""
        button = QPushButton(text)
        button.setAccessibleName(text.replace("&", ""))
        button.setAccessibleDescription(description)
        button.setToolTip(description)
        button.clicked.connect(slot)
        self.action_row.insertWidget(self.action_row.count() - 1, button)
        self.buttons.append(button)
        return button
