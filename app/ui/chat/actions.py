"""The Chat tab's actions on a shown message: Copy is the widget's own (but for an answer longer than the window
keeps, read back from history here); Edit, Regenerate, Retry, Continue and the filter details act on the
conversation and live here, mixed into `ChatTab`."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from app.core.conversation import Turn
from app.ui.chat.message_widget import MessageWidget
from app.ui.chat.view import verdict_rows
from app.ui.common.problem_card import VerdictDialog

if TYPE_CHECKING:
    from app.core import errors
    from app.core.history import History
    from app.ui.chat.compose import ComposeBox
    from app.ui.chat.turns import TurnRunner
    from app.ui.chat.view import ChatView
    from app.ui.common.problem_card import Card
    from app.ui.common.services import AppServices
    from app.ui.common.workers import JobGroup, JobResult


class MessageActions:
    """Mixin for `ChatTab` (a QWidget): what the buttons on a message do."""

    if TYPE_CHECKING:
        services: AppServices
        view: ChatView
        turns: TurnRunner
        compose: ComposeBox
        edit_bar: Card
        _editing: int | None
        _jobs: JobGroup

        @property
        def conversation_id(self) -> int | None: ...
        @property
        def history(self) -> History | None: ...
        def _chat_deployment(self) -> str: ...
        def _not_ready(self) -> errors.Problem | None: ...
        def _start(self, turn: Turn, user: MessageWidget, answer: MessageWidget) -> None: ...

    @Slot(str, int)
    def _on_message_action(self, what: str, message_id: int) -> None:
        widget = self.view.widget(message_id)
        if widget is None or self.turns.running and what not in ("copy", "filters"):
            return
        if what == "copy" and not widget.has_all_text:
            self._copy_from_history(widget)
        elif what == "filters":
            self._show_verdicts(widget)
        elif what == "settings":
            self.services.open_settings.emit()
        elif what == "edit":
            self._editing = message_id
            self.compose.set_text(widget.text)
            self.edit_bar.show_message(
                "info",
                "Editing your message",
                "Send replaces it and everything after it with a new answer.",
                (("cancel", "Cancel edit"),),
            )
            self.compose.edit.setFocus()
        elif what in ("regenerate", "retry") and widget.role == "assistant":
            question = self._question_before(widget)
            if question is not None:
                self._resend(question.message_id, None)
        elif what == "retry" and widget.role == "user":
            self._resend(message_id, None)
        elif what == "continue" and widget.role == "assistant":
            widget.card.clear()
            question = self._question_before(widget) or widget
            turn = Turn(self.conversation_id or 0, self._chat_deployment(), continue_id=message_id)
            self.turns.sent_text, self.turns.sent_images = "", []
            self._start(turn, question, widget)

    def _question_before(self, widget: MessageWidget) -> MessageWidget | None:
        index = self.view.widgets.index(widget)
        return next((w for w in reversed(self.view.widgets[:index]) if w.role == "user"), None)

    def _resend(self, user_id: int, new_text: str | None) -> None:
        user = self.view.widget(user_id)
        if user is None or self._not_ready() is not None:
            return
        self.view.remove_after(user)
        user.card.clear()
        user.set_state("complete")
        user.set_verdicts([])
        if new_text is not None:
            user.set_text(new_text)
        elif self.compose.text() == user.text:
            # The failed question was put back in the box; Retry sends it, so Enter must not send it again.
            self.compose.take()
        deployment = self._chat_deployment()
        answer = self.view.add(MessageWidget("assistant", model=deployment))
        self.turns.sent_text, self.turns.sent_images = "", []
        self._start(Turn(self.conversation_id or 0, deployment, new_text, resend_id=user_id), user, answer)

    def _copy_from_history(self, widget: MessageWidget) -> None:
        """An answer longer than the window keeps: all of it, as saved (while it streams, up to its last save)."""
        history = self.history
        if history is None or not widget.message_id:
            QGuiApplication.clipboard().setText(widget.text)  # what is shown, rather than nothing
            return
        self._jobs.start(partial(_saved_text, history, widget.message_id, widget.text), self._on_copy_read)

    @Slot(object)
    def _on_copy_read(self, result: JobResult) -> None:
        if result.problem is None and isinstance(result.value, str):
            QGuiApplication.clipboard().setText(result.value)

    def _show_verdicts(self, widget: MessageWidget) -> None:
        question = self._question_before(widget) if widget.role == "assistant" else None
        VerdictDialog(verdict_rows(widget, question), cast(QWidget, self)).exec()

    @Slot(str)
    def _on_edit_bar(self, what: str) -> None:
        self._editing = None
        self._end_edit()
        self.compose.set_text("")

    def _end_edit(self) -> None:
        self._editing = None
        self.edit_bar.clear()


def _saved_text(history: History, message_id: int, shown: str, cancel: object = None) -> str:
    message = history.get_message(message_id)
    return message.text if message is not None and len(message.text) >= len(shown) else shown
