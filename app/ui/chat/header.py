"""The row above a conversation: its title, the deployment it talks to, and its system prompt (shown on demand)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from app.ui import design
from app.ui.common import icons
from app.ui.common.a11y import describe
from app.ui.common.elided import ElidedLabel

SAVE_AFTER_MS = 600  # the system prompt is saved once typing pauses, not on every key


class ConversationHeader(QWidget):
    system_prompt_edited = Signal(str)  # after typing pauses
    deployment_chosen = Signal(str)
    effort_chosen = Signal(str)  # "" : the model's default
    prices_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        # In a narrow window the labels' words give way first (`_fit_row`), then the title (elided, whole in its
        # tooltip); the controls never do.
        self.title = ElidedLabel("New chat")
        self.title.setStyleSheet("font-weight: bold;")
        self.title.setAccessibleName("Conversation title")
        self.deployment = QComboBox()
        self.deployment.setEditable(True)
        self.deployment.setMinimumContentsLength(8)  # then as wide as its longest name
        self.deployment.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.deployment.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.deployment.setAccessibleName("Chat deployment")
        self.deployment.setToolTip("The Azure deployment this conversation talks to")
        self.deployment.activated.connect(self._on_deployment_chosen)
        self.system_toggle = QToolButton()  # icon buttons: a narrow header has no room for words
        self.system_toggle.setText("System prompt")
        self.system_toggle.setCheckable(True)
        self.system_toggle.setAccessibleName("Show the system prompt")
        self.system_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
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
        self._show_system_state(False)
        # Reasoning effort: only the values this deployment's family takes; hidden for chat models.
        self.effort_label = QLabel("&Reasoning:")
        self.effort = QComboBox()
        self.effort.setAccessibleName("Reasoning effort")
        self.effort.setToolTip(
            "How much the reasoning model thinks before it answers (more: slower, more tokens)"
        )
        self.effort_label.setBuddy(self.effort)
        # Alt+R reaches the box while its label, whose mnemonic it is, has given way (`_fit_row`).
        self._effort_key = QShortcut(QKeySequence("Alt+R"), self, self._focus_effort)
        self._effort_key.setEnabled(False)
        self.effort.activated.connect(self._on_effort_chosen)
        self.cost = QLabel()  # the conversation's cost so far, when its deployment has prices
        self.cost.setAccessibleName("Cost of this conversation")
        self.prices = QToolButton()
        self.prices.setText("Prices…")
        self.prices.setIcon(icons.icon("receipt"))
        self.prices.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.prices.setAccessibleName("Edit token prices")
        self.prices.setToolTip(
            "Prices…: your price per 1M tokens for each deployment, to see what answers cost"
        )
        describe(self.prices, "Opens your price per 1M tokens for each deployment, to see what answers cost")
        self.prices.clicked.connect(self.prices_requested)
        self.deployment_label = deployment_label = QLabel("Deployment:")
        deployment_label.setBuddy(self.deployment)
        head = QHBoxLayout(self)
        head.setContentsMargins(design.M, design.S, design.M, 0)
        head.setSpacing(design.S)
        head.addWidget(self.title, 1)
        head.addWidget(self.cost)
        head.addWidget(deployment_label)
        head.addWidget(self.deployment)
        head.addWidget(self.effort_label)
        head.addWidget(self.effort)
        head.addWidget(self.system_toggle)
        head.addWidget(self.prices)
        self.set_efforts((), "")

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
        self._show_system_state(bool(text))

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
        self._show_system_state(bool(text))
        self.system_prompt_edited.emit(text)

    def _show_system_state(self, has_text: bool) -> None:
        """The button says whether this conversation has a system prompt: its icon, tooltip and description."""
        self.system_toggle.setText("System prompt ✓" if has_text else "System prompt")
        self.system_toggle.setIcon(icons.icon("file-check" if has_text else "scroll-text"))
        state = "this conversation has one" if has_text else "none yet"
        self.system_toggle.setToolTip(f"System prompt ({state}): the instructions the assistant gets first")
        describe(
            self.system_toggle,
            f"Shows or hides the instructions the assistant gets before this conversation; {state}",
        )

    def set_efforts(self, efforts: tuple[str, ...], chosen: str) -> None:
        """Offer `efforts` (the family's) with "default" first; none: the row hides (a chat model)."""
        self.effort.clear()
        self.effort.addItem("default", "")
        for value in efforts:
            self.effort.addItem(value, value)
        index = self.effort.findData(chosen) if chosen in efforts else 0
        self.effort.setCurrentIndex(max(0, index))
        self.effort.setVisible(bool(efforts))
        self._fit_row()

    def chosen_effort(self) -> str | None:
        if self.effort.isHidden():
            return None
        return str(self.effort.currentData() or "") or None

    def set_cost(self, text: str) -> None:
        self.cost.setText(text)
        self.cost.setVisible(bool(text))

    def event(self, event: QEvent) -> bool:
        # A new title, deployment name or cost asks the row to lay out again: the labels are placed first.
        if event.type() in (QEvent.Type.LayoutRequest, QEvent.Type.Resize):
            self._fit_row()
        return super().event(event)

    def _fit_row(self) -> None:
        """The labels ("Deployment:", then "Reasoning:") show only while the whole title fits beside them: their
        words are in the controls' tooltips and names, and the title is what tells the chats apart."""
        layout = self.layout()
        if layout is None:  # still being built
            return
        margins, gap = layout.contentsMargins(), layout.spacing()
        controls = (self.cost, self.deployment, self.effort, self.system_toggle, self.prices)
        room = self.width() - margins.left() - margins.right()
        room -= sum(w.sizeHint().width() + gap for w in controls if not w.isHidden())
        room -= self.title.fontMetrics().horizontalAdvance(self.title.text())
        labels = [self.deployment_label]  # the first to give way
        if self.effort.isHidden():  # a chat model: no effort to choose
            self.effort_label.hide()
        else:
            labels.append(self.effort_label)  # "default" says little without its label: it stays longer
        for label in reversed(labels):
            room -= label.sizeHint().width() + gap
            label.setVisible(room >= 0)
        self._effort_key.setEnabled(self.effort_label.isHidden() and not self.effort.isHidden())

    @Slot()
    def _focus_effort(self) -> None:
        self.effort.setFocus(Qt.FocusReason.ShortcutFocusReason)

    @Slot(int)
    def _on_effort_chosen(self, _index: int) -> None:
        self.effort_chosen.emit(str(self.effort.currentData() or ""))

    @Slot(int)
    def _on_deployment_chosen(self, _index: int) -> None:
        self.deployment_chosen.emit(self.deployment.currentText().strip())
