"""The row above a conversation: its title, the deployment it talks to, and its system prompt (shown on demand)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QToolButton, QWidget

SAVE_AFTER_MS = 600  # the system prompt is saved once typing pauses, not on every key


class ConversationHeader(QWidget):
    system_prompt_edited = Signal(str)  # after typing pauses
    deployment_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel("New chat")
        self.title.setStyleSheet("font-weight: bold;")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.deployment = QComboBox()
        self.deployment.setEditable(True)
        self.deployment.setMinimumContentsLength(14)
        self.deployment.setAccessibleName("Chat deployment")
        self.deployment.setToolTip("The Azure deployment this conversation talks to")
        self.deployment.activated.connect(self._on_deployment_chosen)
        self.system_toggle = QToolButton()
        self.system_toggle.setText("System prompt")
        self.system_toggle.setCheckable(True)
        self.system_toggle.setAccessibleName("Show the system prompt")
        self.system_toggle.toggled.connect(self._toggle_system)
        # Not in this row: the tab places it below, full width.
        self.system_edit = QPlainTextEdit()
        self.system_edit.setPlaceholderText(
            "Instructions for the assistant in this conversation, e.g. “Answer in French.”"
        )
        self.system_edit.setAccessibleName("System prompt")
        self.system_edit.setMaximumHeight(90)
        self.system_edit.setTabChangesFocus(True)
        self.system_edit.hide()
        self._system_timer = QTimer(self)
        self._system_timer.setSingleShot(True)
        self._system_timer.setInterval(SAVE_AFTER_MS)
        self._system_timer.timeout.connect(self._save_system_prompt)
        self.system_edit.textChanged.connect(self._system_timer.start)
        head = QHBoxLayout(self)
        head.setContentsMargins(12, 6, 12, 0)
        head.addWidget(self.title, 1)
        head.addWidget(QLabel("Deployment:"))
        head.addWidget(self.deployment)
        head.addWidget(self.system_toggle)

    def show_conversation(self, conversation: Any, profile_deployment: str | None) -> None:
        """`conversation` None: a new chat. The deployment list offers the profile's and the conversation's."""
        self.title.setText(conversation.title if conversation is not None else "New chat")
        self.set_system_text(conversation.system_prompt if conversation is not None else "")
        self.fill_deployments(conversation, profile_deployment)

    def fill_deployments(self, conversation: Any, profile_deployment: str | None) -> None:
        names: list[str] = [profile_deployment] if profile_deployment else []
        if conversation is not None and conversation.deployment and conversation.deployment not in names:
            names.append(conversation.deployment)
        current = (
            conversation.deployment
            if conversation is not None and conversation.deployment
            else (names[0] if names else "")
        )
        self.deployment.clear()
        self.deployment.addItems(names)
        self.deployment.setCurrentText(current)

    def set_system_text(self, text: str) -> None:
        self.system_edit.blockSignals(True)
        self.system_edit.setPlainText(text)
        self.system_edit.blockSignals(False)
        self.system_toggle.setText("System prompt ✓" if text else "System prompt")

    def system_prompt(self) -> str:
        return self.system_edit.toPlainText().strip()

    @Slot(bool)
    def _toggle_system(self, shown: bool) -> None:
        self.system_edit.setVisible(shown)
        if shown:
            self.system_edit.setFocus()

    @Slot()
    def _save_system_prompt(self) -> None:
        text = self.system_prompt()
        self.system_toggle.setText("System prompt ✓" if text else "System prompt")
        self.system_prompt_edited.emit(text)

    @Slot(int)
    def _on_deployment_chosen(self, _index: int) -> None:
        self.deployment_chosen.emit(self.deployment.currentText().strip())
