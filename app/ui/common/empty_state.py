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
        self.inner = inner = QWidget()
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
        """Room for the title and the buttons: where a small window needs the height for something that matters
        now (the Images tab's card at 800×500), the guidance steps aside (`resizeEvent`) rather than being cut."""
        return QSize(super().minimumSizeHint().width(), self._height(0))

    def _height(self, guidance: int) -> int:
        """The height the title, `guidance` px of guidance (0: none) and the buttons take with the margins."""
        margins = self.outer.contentsMargins()
        buttons = max((b.sizeHint().height() for b in self.buttons), default=0)
        gaps = (2 if guidance else 1) * self.column.spacing()
        return self.title.sizeHint().height() + guidance + buttons + gaps + margins.top() + margins.bottom()

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt name
        # Layouts ask a word-wrapped label's height for its width and skip the hint above: say it as a minimum.
        self.setMinimumHeight(self.minimumSizeHint().height())
        super().showEvent(event)  # type: ignore[arg-type]

    def resizeEvent(self, event: object) -> None:  # noqa: N802 - Qt name
        """The guidance shows when all of its lines fit (at least two, as a splitter squeezing it would leave)."""
        super().resizeEvent(event)  # type: ignore[arg-type]
        width = self.inner.width() or self.guidance.width()
        lines = max(self.guidance.heightForWidth(width), 2 * self.guidance.fontMetrics().lineSpacing())
        self.guidance.setVisible(self.height() >= self._height(lines))

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
