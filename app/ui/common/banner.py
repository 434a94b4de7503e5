"""The line across the top of the window: demo mode, or why the connection failed, with the button that fixes it."""

from __future__ import annotations

from PySide6 import QtCore
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from app.ui.common.a11y import describe


class Banner(QFrame):
    """One line across the top: demo mode, or why the connection failed, with the button that fixes it."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.button = QPushButton()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        self.setAccessibleName("Notice")
        self.hide()

    def show_message(self, text: str, button_text: str, kind: str) -> None:
        # Here, not when made: the banner is part of the first frame, which never builds `Qt` (theme.py says why).
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setText(text)
        self.button.setText(button_text)
        self.button.setAccessibleName(button_text)
        describe(self.button, "Opens Settings, where the connection to Azure OpenAI is set up")
        self.setProperty("kind", kind)
        colour = {"demo": "#2f6fde", "problem": "#c0392b"}.get(kind, "#888")
        self.setStyleSheet(
            f"QFrame#banner {{ border: 1px solid {colour}; border-left: 4px solid {colour}; border-radius: 4px; }}"
        )
        self.show()
