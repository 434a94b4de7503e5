"""What a place says before it has anything in it: a title, one line of guidance and the main action as a button,
centred where the content will be (chat, the images gallery, jobs)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
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
        self.guidance.setMaximumWidth(560)
        self.guidance.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.action_row = QHBoxLayout()
        self.action_row.setSpacing(8)
        self.action_row.addStretch(1)
        self.action_row.addStretch(1)
        self.column = column = QVBoxLayout(self)
        column.setContentsMargins(16, 16, 16, 16)
        column.setSpacing(10)
        column.addStretch(1)
        column.addWidget(self.title)
        column.addWidget(self.guidance, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addLayout(self.action_row)
        column.addStretch(1)
        self.buttons: list[QPushButton] = []

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
