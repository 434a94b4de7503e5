"""Completion mode: the legacy `completions.create` (e.g. gpt-35-turbo-instruct), streamed, with filter verdicts."""

from __future__ import annotations

import html
from functools import partial
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core import errors
from app.core.cancel import CancelToken
from app.core.events import Delta, Done, Failed, FilterResult, Retrying, Started
from app.ui import design
from app.ui.common.a11y import describe
from app.ui.common.problem_card import Card
from app.ui.common.services import AppServices
from app.ui.common.workers import JobResult, JobSlot


def _complete(
    connection: Any, deployment: str, prompt: str, max_tokens: int, temperature: float, *, cancel: CancelToken
):
    from dataclasses import replace

    from app.core import completions

    request = completions.CompletionRequest(
        deployment=deployment, prompt=prompt, max_tokens=max_tokens, temperature=temperature, stream=True
    )
    yield from completions.stream_completion(
        connection.client(),
        request,
        cancel=cancel,
        ctx=replace(connection.context("completions"), deployment=deployment),
        max_retries=connection.profile.max_retries,
    )


class CompletionsTab(QWidget):
    def __init__(self, services: AppServices, parent: QWidget | None = None):
        super().__init__(parent)
        self.services = services
        self._job = JobSlot(self, "completion")
        self.verdicts: list = []
        self.prompt = QPlainTextEdit()
        self.prompt.textChanged.connect(self.services.warm_up_client)  # openai loads while the user types
        self.prompt.setPlaceholderText("A plain-text prompt for a completions model… (Ctrl+Return to run)")
        self.prompt.setAccessibleName("Completion prompt")
        describe(self.prompt, "The text the model continues; Ctrl+Return runs it")
        self.prompt.setTabChangesFocus(True)  # Tab leaves the prompt instead of typing a tab into it
        self.deployment = QLineEdit()
        self.deployment.setAccessibleName("Completions deployment")
        self.deployment.setPlaceholderText("gpt-35-turbo-instruct")
        # Room for a typical deployment name ("gpt-35-turbo-instruct") and a little more, whatever the font.
        self.deployment.setMinimumWidth(
            self.deployment.fontMetrics().horizontalAdvance("gpt-35-turbo-instruct-01") + 24
        )
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(1, 4096)
        self.max_tokens.setValue(100)
        self.max_tokens.setAccessibleName("Max tokens")
        describe(self.max_tokens, "The longest continuation, in tokens")
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setAccessibleName("Temperature")
        describe(self.temperature, "0 gives the likeliest words; higher values vary more")
        self.run_button = QPushButton("&Run")
        self.run_button.setObjectName("primary")  # the tab's one accent-coloured button (style.py)
        describe(self.run_button, "Sends the prompt to the completions deployment (while it runs: stops it)")
        self.run_button.clicked.connect(self._on_run)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setPlaceholderText("The model's continuation of your prompt appears here.")
        self.output.setAccessibleName("Completion")
        describe(self.output, "What the model wrote after the prompt")
        self.output.setTabChangesFocus(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setAccessibleName("Completion status")
        self.card = Card()
        self.card.action.connect(self._on_card_action)
        # Two lines each at the least (a text box asks for ~5): at 800×500 the card under them needs their height,
        # and a box that scrolls loses less than a card cut through its words.
        lines = self.prompt.fontMetrics().lineSpacing()
        for box in (self.prompt, self.output):
            box.setMinimumHeight(2 * lines + 2 * design.S)

        options = QHBoxLayout()
        for text, widget in (
            ("&Deployment:", self.deployment),
            ("&Max tokens:", self.max_tokens),
            ("&Temperature:", self.temperature),
        ):
            label = QLabel(text)
            label.setBuddy(widget)
            options.addWidget(label)
            options.addWidget(widget, 2 if widget is self.deployment else 0)
        options.addStretch(1)
        options.addWidget(self.run_button)
        options.setSpacing(design.S)
        layout = QVBoxLayout(self)
        layout.setSpacing(design.S)
        intro = QLabel("<b>Completion mode</b> — the legacy completions API, for instruct models.")
        intro.setStyleSheet("color: palette(placeholder-text);")  # a note, muted (DESIGN.md)
        layout.addWidget(intro)
        layout.addWidget(self.prompt, 1)
        layout.addLayout(options)
        layout.addWidget(self.output, 2)
        layout.addWidget(self.status)
        layout.addWidget(self.card)
        QShortcut(QKeySequence("Ctrl+Return"), self.prompt).activated.connect(self._on_run)
        esc = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        esc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        esc.activated.connect(self.stop)

    def on_connection(self, connection: Any) -> None:
        self.deployment.setText(connection.profile.deployments.completions)

    @property
    def running(self) -> bool:
        return self._job.running

    @Slot()
    def _on_run(self) -> None:
        if self.running:
            self.stop()
            return
        connection = self.services.connection
        prompt = self.prompt.toPlainText()
        if connection is None or not prompt.strip():
            self.status.setText("Type a prompt first." if connection else "Not connected yet.")
            return
        deployment = self.deployment.text().strip() or connection.profile.deployments.completions
        if not deployment:
            self.status.setText("Set a completions deployment (here or in Settings).")
            return
        self.output.clear()
        self.verdicts = []
        self.card.clear()
        self.status.setText("Running…")
        fn = partial(
            _complete, connection, deployment, prompt, self.max_tokens.value(), self.temperature.value()
        )
        self._job.start(fn, self._on_finished, event=self._on_event)
        self.run_button.setText("&Stop")

    @Slot()
    def stop(self) -> None:
        if self.running:
            self._job.cancel()

    @Slot(object)
    def _on_event(self, event: Any) -> None:
        if isinstance(event, Delta):
            cursor = self.output.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText(event.text)
        elif isinstance(event, FilterResult):
            self.verdicts.append(event.verdict)
            if event.verdict.filtered or event.verdict.notable:
                self.status.setText(
                    f"Content filter ({event.verdict.source}): {html.escape(event.verdict.summary())}"
                )
        elif isinstance(event, Retrying):
            self.card.show_countdown(event.problem, event.wait, event.attempt, event.max_attempts)
        elif isinstance(event, Done):
            if self.card.kind == "waiting":
                self.card.clear()
            usage = f" · {event.usage.total_tokens} tokens" if event.usage else ""
            reason = {
                "stop": "Done",
                "length": "Stopped at max tokens",
                "content_filter": "Stopped by Azure's content filter",
                "cancelled": "Stopped",
            }.get(event.finish_reason or "", event.finish_reason or "Done")
            rid = f" · request id {event.request_id}" if event.request_id else ""
            extra = ""
            if event.finish_reason == "content_filter":
                last = next((v for v in reversed(self.verdicts) if v.filtered), None)
                extra = f": {last.summary()}" if last else ""
            self.status.setText(f"{reason}{extra}{usage}{rid}")
        elif isinstance(event, Failed):
            self.show_problem(event.problem)
        elif isinstance(event, Started):
            pass

    def show_problem(self, problem: errors.Problem) -> None:
        """The shared inline card; the text received so far stays in the output."""
        self.status.clear()
        self.card.show_problem(problem, () if problem.fix_in_settings else (("retry", "Run again"),))

    @Slot(str)
    def _on_card_action(self, what: str) -> None:
        if what == "settings":
            self.services.open_settings.emit()
        elif what == "retry" and not self.running:
            self._on_run()

    @Slot(object)
    def _on_finished(self, result: JobResult) -> None:
        self.run_button.setText("&Run")
        if result.problem is not None:
            self.show_problem(result.problem)

    def shutdown(self) -> None:
        self._job.close()
