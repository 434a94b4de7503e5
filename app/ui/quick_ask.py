"""The small "Ask Parley" window (tray icon, `parley --quick`): one question, a streamed answer stored like any chat,
and "Continue in Parley" to open that conversation in the main window."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QIcon, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from app.core import errors
from app.core.cancel import CancelToken
from app.core.conversation import Turn, TurnEnded, UserSaved, run_turn
from app.core.events import Delta, Done, Failed
from app.ui.chat.markdown_body import MarkdownBody
from app.ui.common.problem_card import Card
from app.ui.common.services import AppServices
from app.ui.common.workers import JobResult, JobSlot


def _ask(connection: Any, turn: Turn, *, cancel: CancelToken):
    """The job: the shared history file (History.open gives this process's one instance) and the chat core."""
    from app.core.history import History

    history = History.open()
    client = connection.client()
    ctx = replace(connection.context("chat"), deployment=turn.deployment)
    yield from run_turn(
        history, client, turn, cancel=cancel, ctx=ctx, max_retries=connection.profile.max_retries
    )


class _Question(QPlainTextEdit):
    """Return asks, Shift+Return is a new line (as in the chat box); Escape closes the window."""

    submitted = Signal()

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
            event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        ):
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class QuickAsk(QWidget):
    continue_requested = Signal(int)  # conversation id: open it in the main window's Chat tab
    answered = Signal(int)  # a conversation was stored (the chat sidebar lists it)

    def __init__(self, services: AppServices, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.services = services
        self.setWindowTitle("Ask Parley")
        self.setObjectName("quickAsk")
        self.resize(520, 360)
        self.conversation_id: int | None = None
        self._job = JobSlot(self, "quick-ask")

        self.question = _Question()
        self.question.setPlaceholderText("Ask anything — Return to ask, Shift+Return for a new line")
        self.question.setAccessibleName("Question")
        self.question.setAccessibleDescription("Type a question and press Return")
        self.question.setTabChangesFocus(True)
        self.question.setFixedHeight(72)
        self.question.submitted.connect(self.ask)
        self.ask_button = QPushButton("Ask")
        self.ask_button.setAccessibleName("Ask")
        self.ask_button.setDefault(True)
        self.ask_button.clicked.connect(self.ask_or_stop)
        # The answer is rendered as the chat renders one (`MarkdownBody`: streamed at a cost that does not grow with
        # its length, code blocks with their language and Copy), in a scroll area that follows it while it grows.
        self.body = MarkdownBody()
        self.body.setAccessibleName("Answer")
        self.placeholder = QLabel("The answer appears here.")
        self.placeholder.setEnabled(False)  # drawn in the muted colour
        inner = QWidget()
        inner.setBackgroundRole(QPalette.ColorRole.Base)  # the surface answers sit on, as in the chat
        inner.setAutoFillBackground(True)
        column = QVBoxLayout(inner)
        column.setContentsMargins(8, 8, 8, 8)
        column.addWidget(self.placeholder)
        column.addWidget(self.body)
        column.addStretch(1)
        self.answer = QScrollArea()
        self.answer.setWidgetResizable(True)
        self.answer.setFrameShape(QFrame.Shape.StyledPanel)
        self.answer.setWidget(inner)
        self.answer.setAccessibleName("Answer")
        self._follow = True  # keep the end of a growing answer in view until the user scrolls up
        bar = self.answer.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range)
        self.card = Card(self)
        self.status = QLabel("")
        self.status.setAccessibleName("Quick ask status")
        self.continue_button = QPushButton("Continue in Parley")
        self.continue_button.setAccessibleName("Continue in Parley")
        self.continue_button.setToolTip("Open this conversation in the main window's Chat tab")
        self.continue_button.setEnabled(False)
        self.continue_button.clicked.connect(self._continue)

        top = QHBoxLayout()
        top.addWidget(self.question, 1)
        top.addWidget(self.ask_button, 0, Qt.AlignmentFlag.AlignTop)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.continue_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        layout.addLayout(top)
        layout.addWidget(self.card)
        layout.addWidget(self.answer, 1)
        layout.addLayout(bottom)

        close = QAction(self)
        close.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        close.triggered.connect(self.close)
        self.addAction(close)

    @property
    def running(self) -> bool:
        return self._job.running

    @property
    def answer_text(self) -> str:
        return self.body.text

    @Slot(int)
    def _on_scrolled(self, value: int) -> None:
        self._follow = value >= self.answer.verticalScrollBar().maximum() - 4

    @Slot(int, int)
    def _on_range(self, _minimum: int, maximum: int) -> None:
        if self._follow:
            self.answer.verticalScrollBar().setValue(maximum)

    def present(self) -> None:
        """Show, raise and put the cursor in the question (a desktop shortcut's `parley --quick`)."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()
        self.question.setFocus()
        self.question.selectAll()

    @Slot()
    def ask_or_stop(self) -> None:
        if self.running:
            self._job.cancel()
        else:
            self.ask()

    @Slot()
    def ask(self) -> None:
        text = self.question.toPlainText().strip()
        if not text or self.running:
            return
        self.card.clear()
        connection = self.services.connection
        if connection is None:
            self.status.setText("Parley is still connecting; ask again in a moment.")
            return
        try:
            deployment = connection.deployment("chat")
        except errors.ParleyError as exc:
            self.card.show_problem(exc.problem)
            return
        self.body.set_text("")
        self.placeholder.show()
        self._follow = True
        self.conversation_id = None
        self.continue_button.setEnabled(False)
        self.status.setText("Asking…")
        self.ask_button.setText("Stop")
        self.ask_button.setAccessibleName("Stop")
        turn = Turn(0, deployment, text)
        from functools import partial

        self._job.start(partial(_ask, connection, turn), self._on_finished, event=self._on_event, drain=True)

    @Slot(object)
    def _on_event(self, event: object) -> None:
        if isinstance(event, UserSaved):
            self.conversation_id = event.message.conversation_id
            self.continue_button.setEnabled(True)
        elif isinstance(event, Delta):
            self.placeholder.hide()
            self.body.append(
                event.text
            )  # rendered at most ~30 times a second, only its unfinished tail again
        elif isinstance(event, Failed):
            self.card.show_problem(event.problem)
        elif isinstance(event, Done):
            if event.finish_reason == "content_filter":
                self.status.setText("Azure's content filter stopped this answer.")
            elif event.finish_reason == "length":
                self.status.setText("The answer reached its length limit; continue in Parley for more.")
            elif event.finish_reason == "cancelled":
                self.status.setText("Stopped.")
            else:
                self.status.setText("Done.")
        elif isinstance(event, TurnEnded):
            pass

    @Slot(object)
    def _on_finished(self, result: JobResult) -> None:
        self.body.render_now()
        self.ask_button.setText("Ask")
        self.ask_button.setAccessibleName("Ask")
        if result.problem is not None:
            self.card.show_problem(result.problem)
            self.status.setText("")
        elif self.status.text() == "Asking…":
            self.status.setText("Done.")
        if self.conversation_id is not None:
            self.answered.emit(self.conversation_id)

    @Slot()
    def _continue(self) -> None:
        if self.conversation_id is not None:
            self.continue_requested.emit(self.conversation_id)
            self.hide()

    def shutdown(self) -> None:
        self._job.close()


class Tray(QObject):
    """The tray icon (where the platform has one): left click or "Ask Parley…" opens quick ask."""

    ask = Signal()
    show_window = Signal()
    quit = Signal()

    def __init__(self, icon: QIcon, parent: QObject | None = None):
        super().__init__(parent)
        self.icon = QSystemTrayIcon(icon, self)
        self.icon.setToolTip("Parley")
        self.menu = QMenu()
        self.menu.addAction("Ask Parley…").triggered.connect(self.ask)
        self.menu.addAction("Show Parley").triggered.connect(self.show_window)
        self.menu.addSeparator()
        self.menu.addAction("Quit").triggered.connect(self.quit)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.icon.show()

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    @Slot(object)
    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.ask.emit()
