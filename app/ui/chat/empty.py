"""The chat before its first message: "Ask anything", one line of guidance and suggestions that fill the box."""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QGridLayout, QPushButton, QWidget

from app.ui.chat.compose import send_keys
from app.ui.common.empty_state import EmptyState

# (the button, what it puts in the box): a start the user finishes, never sent by itself.
SUGGESTIONS = (
    ("Explain a topic simply", "Explain in simple words, with an example: "),
    ("Summarise a text", "Summarise the key points of this text in five bullets:\n\n"),
    ("Write code", "Write a Python function that "),
    ("Draft an email", "Draft a short, friendly email to "),
)


class ChatEmpty(EmptyState):
    chosen = Signal(str)  # a suggestion's start of a question, for the box

    def __init__(self, view: QWidget, compose: Any, parent: QWidget | None = None):
        """Shown in `view`'s place (`show_for`); a suggestion goes into `compose`, the chat's ComposeBox."""
        self.view, self.compose = view, compose
        super().__init__("Ask anything", "", parent)
        compose.edit.send_key_changed.connect(self._tell_keys)
        self._tell_keys()
        self.setAccessibleName("New chat")
        grid = QGridLayout()
        grid.setSpacing(8)
        self.suggestions: list[QPushButton] = []
        for i, (label, start) in enumerate(SUGGESTIONS):
            button = QPushButton(label)
            button.setAccessibleName(f"Suggestion: {label}")
            button.setAccessibleDescription(f"Puts “{start.strip()}” in the message box, for you to finish")
            button.setToolTip(start.strip())
            button.clicked.connect(partial(self.chosen.emit, start))
            grid.addWidget(button, i // 2, i % 2)
            self.suggestions.append(button)
        self.column.insertLayout(self.column.count() - 1, grid)
        self.column.setAlignment(grid, Qt.AlignmentFlag.AlignHCenter)
        self.chosen.connect(self._fill_box)
        self.hide()

    def show_for(self, empty: bool) -> None:
        """In the conversation's place while it has no messages; the conversation's again once it has one."""
        self.setVisible(empty)
        self.view.setVisible(not empty)

    @Slot()
    def _tell_keys(self) -> None:
        """The guidance names the key that sends now (Settings' choice)."""
        guidance = (
            f"Type your question in the box below ({send_keys(self.compose.edit.send_key)[0]} sends it), or start "
            "from a suggestion. Your chats are kept on the left."
        )
        self.guidance.setText(guidance)
        self.setAccessibleDescription(guidance)

    @Slot(str)
    def _fill_box(self, start: str) -> None:
        self.compose.set_text(start)
        self.compose.edit.setFocus(Qt.FocusReason.OtherFocusReason)
