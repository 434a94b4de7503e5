"""The scrolling conversation: message widgets for the newest messages, older ones shown on request.

A 5,000-message conversation opens fast because only the last PAGE messages get widgets; "Show earlier messages"
(or jumping to a search hit) builds more. The view sticks to the bottom while an answer streams, unless the user
scrolled up to read.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.core import errors, filters
from app.core.history import StoredMessage
from app.ui import design
from app.ui.chat.message_widget import MessageWidget

PAGE = 40  # messages with widgets after opening; older ones on request
FIRST = 8  # built at once when a conversation opens (a screenful); the rest of the page follows in batches
BATCH = 4
EMPTY_TEXT = (
    "<h3>Start a conversation</h3><p>Type below and press Return. Shift+Return adds a line; Esc stops an "
    "answer. Paste or drop images to ask about them.</p>"
)


def verdicts_of(message: StoredMessage) -> list[filters.Verdict]:
    return list(message.verdicts)


def problem_of(message: StoredMessage) -> errors.Problem | None:
    return message.problem


def card_actions(role: str, problem: errors.Problem) -> tuple[tuple[str, str], ...]:
    """The buttons a failure offers: Retry always; Continue for a dropped stream; Edit for a refused prompt (the
    card adds Open Settings where `Problem.fix_in_settings`)."""
    if problem.kind == errors.Kind.FILTERED:
        return (("edit", "Edit and resend"),) if role == "user" else (("retry", "Retry"),)
    actions: list[tuple[str, str]] = []
    if role == "assistant" and problem.kind in (errors.Kind.NETWORK, errors.Kind.TIMEOUT, errors.Kind.SERVER):
        actions.append(("continue", "Continue"))
    actions.append(("retry", "Retry"))
    return tuple(actions)


def widget_for_stored(
    message: StoredMessage, model: str = "", thumbs: dict[int, Any] | None = None
) -> MessageWidget:
    widget = MessageWidget(
        message.role, message.text, message_id=message.id, model=model if message.role == "assistant" else ""
    )
    images = [(thumbs[a.id], a.name) for a in message.attachments if a.data and thumbs and a.id in thumbs]
    if images:
        widget.set_images(images)
    widget.set_state(message.status, message.finish_reason)
    widget.set_usage(message.usage)
    widget.set_verdicts(verdicts_of(message))
    problem = problem_of(message)
    if problem is not None:
        widget.card.show_problem(problem, card_actions(message.role, problem))
    elif message.status == "filtered" and message.role == "assistant":
        show_filtered_answer(widget)
    return widget


def show_filtered_answer(widget: MessageWidget) -> None:
    summary = (
        "; ".join(v.summary() for v in widget.verdicts if v.filtered)
        or "a category above the allowed severity"
    )
    widget.card.show_message(
        "refusal",
        "Azure's content filter stopped this answer",
        f"The text above is what arrived before the filter stopped it ({summary}). "
        "Rephrase your question, or regenerate.",
        (("retry", "Regenerate"),),
    )


class ChatView(QScrollArea):
    action = Signal(str, int)  # from any message: (what, message id)
    grew = Signal()  # a message was added at the end: the chat's empty state gives way

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAccessibleName("Conversation")
        # The reading column (docs/DESIGN.md): at most COLUMN_CHARS of the chat font wide, centred in the container.
        self.container = QWidget()
        centre = QHBoxLayout(self.container)
        centre.setContentsMargins(design.L, design.M, design.L, design.M)
        centre.setSpacing(0)
        self.page = QWidget()
        self.page.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        centre.addStretch(0)  # the margins left and right once the column is as wide as it may be
        centre.addWidget(self.page, 1)
        centre.addStretch(0)
        self.column = QVBoxLayout(self.page)
        self.column.setContentsMargins(0, 0, 0, 0)
        self.column.setSpacing(design.L)
        self.earlier = QPushButton()
        self.earlier.setAccessibleName("Show earlier messages")
        self.earlier.clicked.connect(self.show_earlier)
        self.earlier.hide()
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: palette(placeholder-text);")
        self.column.addWidget(self.earlier)
        self.column.addWidget(self.empty)
        self.column.addStretch(1)
        self.setWidget(self.container)
        self.widgets: list[MessageWidget] = []
        self._stored: list[StoredMessage] = []  # every message of the conversation, for paging
        self._first_shown = 0  # index into _stored of the oldest message with a widget
        self._to_build = 0  # messages of the first page still to build
        self._target: MessageWidget | None = None  # the message scroll_to_message brings into view
        self.model = ""
        self._thumbs: dict[int, Any] = {}
        self._stick = True
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range)

    def set_font_size(self, points: int) -> None:
        """Settings' chat font size for every message; the column's width follows it."""
        font = self.container.font()
        font.setPointSize(points)
        self.container.setFont(font)
        self.page.setMaximumWidth(QFontMetrics(font).averageCharWidth() * design.COLUMN_CHARS)

    # -- contents -----------------------------------------------------------------------------------------------
    def clear(self) -> None:
        for widget in self.widgets:
            self.column.removeWidget(widget)
            widget.deleteLater()
        self.widgets = []
        self._stored = []
        self._first_shown = 0
        self._to_build = 0
        self.earlier.hide()
        self.empty.show()
        self._stick = True

    def show_conversation(
        self, messages: list[StoredMessage], model: str = "", thumbs: dict[int, Any] | None = None
    ) -> None:
        """The newest messages at once, the rest of the page in small batches so the window never stalls."""
        self.setUpdatesEnabled(False)
        try:
            self.clear()
            self.model = model
            self._thumbs = thumbs or {}
            self._stored = list(messages)
            self._first_shown = len(messages)
            self._build_older(FIRST)
            self.empty.setVisible(not messages)
        finally:
            self.setUpdatesEnabled(True)
        self.update_regenerate()
        self.scroll_to_bottom()
        self._to_build = PAGE - FIRST
        QTimer.singleShot(0, self, self._build_step)

    def _build_older(self, count: int) -> None:
        start = max(0, self._first_shown - count)
        for i, message in enumerate(self._stored[start : self._first_shown]):
            widget = widget_for_stored(message, self.model, self._thumbs)
            widget.offer_retry(message is self._stored[-1])
            self._insert(i, widget)
        self._first_shown = start
        self._update_earlier()

    @Slot()
    def _build_step(self) -> None:
        if self._to_build <= 0 or self._first_shown == 0:
            self._to_build = 0
            return
        count = min(BATCH, self._to_build)
        self._to_build -= count
        self._build_older(count)
        if self._to_build > 0:
            QTimer.singleShot(0, self, self._build_step)

    def _finish_building(self) -> None:
        if self._to_build > 0:
            count, self._to_build = self._to_build, 0
            self._build_older(count)

    def add(self, widget: MessageWidget) -> MessageWidget:
        self.empty.hide()
        self.grew.emit()
        self._insert(len(self.widgets), widget)
        self._stick = True
        self.update_regenerate()
        return widget

    def remove_after(self, widget: MessageWidget) -> None:
        """Drop every message shown below `widget` (regenerate, edit and resend)."""
        index = self.widgets.index(widget)
        for later in self.widgets[index + 1 :]:
            self.column.removeWidget(later)
            later.deleteLater()
        self.widgets = self.widgets[: index + 1]
        self.update_regenerate()

    def remove(self, widget: MessageWidget) -> None:
        if widget in self.widgets:
            self.widgets.remove(widget)
            self.column.removeWidget(widget)
            widget.deleteLater()
        self.update_regenerate()

    def _insert(self, index: int, widget: MessageWidget) -> None:
        widget.action.connect(self.action)
        self.column.insertWidget(2 + index, widget)  # after the "earlier" button and the empty-state label
        self.widgets.insert(index, widget)

    def widget(self, message_id: int) -> MessageWidget | None:  # type: ignore[override]
        return next((w for w in self.widgets if w.message_id == message_id), None)

    def last(self, role: str | None = None) -> MessageWidget | None:
        return next((w for w in reversed(self.widgets) if role is None or w.role == role), None)

    def update_regenerate(self) -> None:
        last_answer = self.last("assistant")
        for w in self.widgets:
            w.set_regenerate(w is last_answer and w is self.widgets[-1] and w.status != "streaming")
            w.offer_retry(w is self.widgets[-1])

    # -- paging ---------------------------------------------------------------------------------------------------
    def _update_earlier(self) -> None:
        self.earlier.setVisible(self._first_shown > 0)
        count = min(PAGE, self._first_shown)
        self.earlier.setText(f"Show {count} earlier messages ({self._first_shown} not shown)")

    @Slot()
    def show_earlier(self, count: int = PAGE) -> None:
        self._finish_building()
        bar = self.verticalScrollBar()
        from_bottom = bar.maximum() - bar.value()
        self.setUpdatesEnabled(False)
        self._build_older(count)
        self.setUpdatesEnabled(True)
        self._stick = False
        QTimer.singleShot(0, self, lambda: bar.setValue(bar.maximum() - from_bottom))

    def scroll_to_message(self, message_id: int) -> MessageWidget | None:
        """Build widgets back to the message if needed, scroll to it and highlight it briefly."""
        self._finish_building()
        index = next((i for i, m in enumerate(self._stored) if m.id == message_id), None)
        if index is not None and index < self._first_shown:
            self.show_earlier(self._first_shown - index)
        widget = self.widget(message_id)
        if widget is None:
            return None
        self._stick = False
        self._target = widget
        QTimer.singleShot(0, self, self._ensure_target_visible)
        widget.flash()
        return widget

    @Slot()
    def _ensure_target_visible(self) -> None:
        if self._target is not None and self._target in self.widgets:
            self.ensureWidgetVisible(self._target, 0, 40)

    # -- scrolling ------------------------------------------------------------------------------------------------
    def scroll_to_bottom(self) -> None:
        self._stick = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    @Slot(int)
    def _on_scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._stick = value >= bar.maximum() - 8

    @Slot(int, int)
    def _on_range(self, _minimum: int, maximum: int) -> None:
        if self._stick:
            self.verticalScrollBar().setValue(maximum)


def verdict_rows(widget: MessageWidget, question: MessageWidget | None) -> list[tuple[str, Any]]:
    """The rows of the filter-results dialog for a message: an answer lists its question's prompt verdicts first."""
    if widget.role != "assistant":
        return [("Prompt", v) for v in widget.verdicts]
    rows: list[tuple[str, Any]] = []
    if question is not None:
        many = len(question.verdicts) > 1
        rows += [(f"Prompt {v.index + 1}" if many else "Prompt", v) for v in question.verdicts]
    return rows + [("Answer", v) for v in widget.verdicts]
