"""A plain panel for a tab whose feature has not landed: it says so, it does not pretend."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class PlaceholderTab(QWidget):
    def __init__(self, title: str, text: str, parent: QWidget | None = None):
        super().__init__(parent)
        label = QLabel(f"<h3>{title}</h3><p>{text}</p>")
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setAccessibleName(f"{title} (not available yet)")
        layout = QVBoxLayout(self)
        layout.addWidget(label)
