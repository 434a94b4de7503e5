"""The Chat tab: the conversation list, the conversation with its deployment and system prompt, and the compose box.

History is read and written only on workers (`_db`); the turn in progress is run by `TurnRunner`.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QVBoxLayout,
    QWidget,
)

from app.core import errors
from app.core.conversation import Turn, TurnEnded
from app.core.history import History
from app.ui import style
from app.ui.chat.actions import MessageActions
from app.ui.chat.compose import ComposeBox, font_points, image_sources
from app.ui.chat.conversations import Conversations
from app.ui.chat.empty import ChatEmpty
from app.ui.chat.header import ConversationHeader
from app.ui.chat.message_widget import MessageWidget
from app.ui.chat.model_bits import ModelBits
from app.ui.chat.sidebar import ChatSidebar
from app.ui.chat.skeleton import lay_out
from app.ui.chat.turns import TurnRunner
from app.ui.chat.view import ChatView
from app.ui.common import a11y, icons, prefs
from app.ui.common.problem_card import Card
from app.ui.common.services import AppServices
from app.ui.common.workers import JobGroup
from app.ui.shortcuts import UNDO_KEYS

log = logging.getLogger(__name__)


class ChatTab(MessageActions, QWidget):
    conversation_shown = Signal(int)  # after a conversation's messages are on screen (tests, e2e log)

    def __init__(
        self, services: AppServices, parent: QWidget | None = None, *, compose: ComposeBox | None = None
    ):
        """`compose`: the box the window's first frame showed (skeleton.py), with whatever was typed in it."""
        super().__init__(parent)
        self.services = services
        self._jobs = JobGroup(self, "chat")
        self._queued: list[tuple[str, bool]] = []  # (text, as a new chat): --send questions waiting to go
        self._editing: int | None = None  # the user message being edited in the box
        self._jump_to: int | None = None  # a message to scroll to once its conversation is shown
        self._build(compose)
        self.turns = TurnRunner(self.view, self)
        self.turns.restore_to = self.compose.restore
        self.turns.conversation_known.connect(self._on_conversation_known)
        self.turns.ended.connect(self._on_turn_ended)
        self.turns.unsent.connect(self.notice.show_problem)
        self.turns.reached.connect(services.report_reach)
        self.bits = ModelBits(services, self.header, self.turns, self.view, self.notice, self)
        services.pref_changed.connect(self._on_pref)
        services.connection_failed.connect(self._drain_queue)
        services.history_cleared.connect(self._on_history_cleared)
        self._apply_font_size(services.pref(prefs.CHAT_FONT_SIZE))
        self.compose.edit.send_key = services.pref(prefs.CHAT_SEND_KEY)  # the box's hint names the key
        self.conversations.open()
        from app.ui.common.markdown_render import warm_up

        # The first Markdown parse and code highlight import their libraries: do that now, not mid-answer.
        self._jobs.start(warm_up, name="markdown-warm-up")

    # -- layout --------------------------------------------------------------------------------------------------
    def _build(self, compose: ComposeBox | None) -> None:
        self.sidebar = ChatSidebar()
        self.sidebar.new_chat.connect(self.new_chat)
        self.sidebar.new_button.setIcon(icons.icon("square-pen"))
        self.sidebar.open_conversation.connect(self.open_conversation)
        self.sidebar.delete.connect(self._delete)
        self.sidebar.restore.connect(self._focus_box)  # Undo's button hides: the focus goes back to the box
        self.header = ConversationHeader()
        self.title, self.deployment = self.header.title, self.header.deployment
        self.system_toggle, self.system_edit = self.header.system_toggle, self.header.system_edit
        self.notice = Card()
        self.notice.action.connect(self._on_notice_action)
        self.view = ChatView()
        self.view.action.connect(self._on_message_action)
        self.compose = compose if compose is not None else ComposeBox()
        self.compose.send_requested.connect(self.send)
        self.compose.stop_requested.connect(self.stop)
        self.compose.edit.textChanged.connect(self._on_typing)
        self.empty = ChatEmpty(self.view, self.compose)  # in the conversation's place until its first message
        self.view.grew.connect(partial(self.empty.show_for, False))
        self.conversations = Conversations(self.services, self.sidebar, self.notice, self)
        self.header.system_prompt_edited.connect(self.conversations.save_system_prompt)
        self.header.deployment_chosen.connect(self.conversations.save_deployment)
        self.conversations.opened.connect(self._on_history_opened)
        self.conversations.loaded.connect(self._on_loaded)
        self.conversations.listed.connect(self._on_listed)
        self.edit_bar = Card()
        self.edit_bar.action.connect(self._on_edit_bar)
        pane = QWidget()
        column = QVBoxLayout(pane)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.header)
        column.addWidget(self.system_edit)
        column.addWidget(self.notice)
        column.addWidget(self.view, 1)
        column.addWidget(self.empty, 1)
        column.addWidget(self.edit_bar)
        column.addWidget(self.compose)
        for bar in (self.notice, self.edit_bar):
            bar.setContentsMargins(12, 0, 12, 0)
        lay_out(self, self.sidebar, pane)
        for part in (self.sidebar, self.header):  # the compose box styles its own buttons
            style.apply(part)  # never the conversation: style.py says why
        from app.ui.chat.search import HistorySearch

        self.search = HistorySearch(self.services, indexer=self.services.indexer)
        self.search.open_message.connect(self.open_message)
        self.sidebar.set_search_widget(self.search)
        for keys, slot in (
            ("Ctrl+N", self.new_chat),
            ("F2", self.sidebar.start_rename),
            ("Ctrl+F", self.search.focus_search),
            (UNDO_KEYS, self.sidebar.undo_delete),  # a text box with the focus keeps Ctrl+Z for its own text
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        # Tab walks it as it reads (sidebar, header, conversation, box); a focus proxy made Tab skip to the box.
        sidebar = (self.sidebar.new_button, self.search, self.sidebar.list, self.sidebar.undo_button)
        middle = (self.header, self.system_edit, self.notice, self.view, self.empty)
        a11y.chain_tab_order([*sidebar, *middle, self.compose])
        self.setAcceptDrops(True)

    @Slot(str, object)
    def _on_pref(self, key: str, value: object) -> None:
        if key == prefs.CHAT_SEND_KEY.key:
            self.compose.edit.send_key = str(value)
        elif key == prefs.CHAT_FONT_SIZE.key:
            self._apply_font_size(value)

    def _apply_font_size(self, value: object) -> None:
        """Settings' chat font size, for the conversation and the box (the rest of the window keeps the system's)."""
        size = font_points(value)
        if size is None:
            return
        self.view.set_font_size(size)
        self.compose.set_font_size(size)

    @Slot()
    def _on_history_cleared(self) -> None:
        """Settings deleted every conversation: nothing of them stays on screen."""
        self.turns.stop()
        self.new_chat()
        self.refresh_list()

    # Images dropped anywhere on the chat (not only on the box) are attached.
    def dragEnterEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        if image_sources(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        sources = image_sources(event.mimeData())
        if sources:
            event.acceptProposedAction()
            self.compose.add_sources(sources)

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        self.compose.edit.send_key = self.services.pref(prefs.CHAT_SEND_KEY)
        super().showEvent(event)
        self.compose.edit.setFocus()

    # -- connection and history ---------------------------------------------------------------------------------------
    @property
    def connection(self) -> Any:
        return self.services.connection

    @property
    def history(self) -> History | None:
        return self.conversations.history

    @property
    def conversation(self) -> Any:
        return self.conversations.conversation

    @property
    def conversation_id(self) -> int | None:
        return self.conversations.conversation_id

    def on_connection(self, connection: Any) -> None:
        if self.notice.problem is not None and self.notice.problem.kind != errors.Kind.OTHER:
            self.notice.clear()
        self._fill_deployments()
        self._drain_queue()

    def _fill_deployments(self) -> None:
        connection = self.connection
        profile_deployment = connection.profile.deployments.chat if connection is not None else None
        self.header.fill_deployments(self.conversation, profile_deployment)
        self.bits.refresh()

    @Slot(object)
    def _on_history_opened(self, current: int | None) -> None:
        self.empty.show_for(current is None)  # no conversation yet: "Ask anything"
        if current is not None and not self._queued:
            self.open_conversation(current)
        self._drain_queue()

    def refresh_list(self) -> None:
        self.conversations.refresh()

    @Slot()
    def _on_listed(self) -> None:
        if self.conversation is not None:
            self.title.setText(self.conversation.title)

    @Slot(int)
    def open_conversation(self, conversation_id: int, then_message: int | None = None) -> None:
        if self.turns.running or self.history is None:
            return
        self._jump_to = then_message
        self.conversations.load(conversation_id)

    @Slot(object, object, object)
    def _on_loaded(self, conversation: Any, messages: list[Any], thumbs: dict[int, Any]) -> None:
        self.header.set_system_text(conversation.system_prompt)
        self.title.setText(conversation.title)
        self._fill_deployments()
        self.view.show_conversation(messages, conversation.deployment, thumbs)
        self.empty.show_for(not messages)
        self.bits.reprice()
        self._end_edit()
        if self._jump_to is not None:
            self.view.scroll_to_message(self._jump_to)
        log.info(
            "conversation shown",
            extra={
                "event": "chat.shown",
                "conversation": conversation.id,
                "messages": len(messages),
                "statuses": ",".join(m.status for m in messages[-4:]),
            },
        )
        self.conversation_shown.emit(conversation.id)

    @Slot(int, int)
    def open_message(self, conversation_id: int, message_id: int) -> None:
        """A search result: open its conversation and scroll to the message."""
        if conversation_id == self.conversation_id:
            self.view.scroll_to_message(message_id)
        else:
            self.open_conversation(conversation_id, message_id)

    @Slot()
    def _focus_box(self) -> None:
        self.compose.edit.setFocus(Qt.FocusReason.OtherFocusReason)

    @Slot()
    def new_chat(self) -> None:
        if self.turns.running:
            return
        self.conversations.forget_current()
        self.title.setText("New chat")
        self.header.set_system_text("")
        self.view.clear()
        self.empty.show_for(True)
        self._fill_deployments()
        self._end_edit()
        self.compose.edit.setFocus()

    # -- sending ------------------------------------------------------------------------------------------------------
    def receive(self, text: str, images: list[tuple[bytes, str, str]]) -> None:
        """From another tab (Images: 'send to chat'): fill the box with the text and attach the images."""
        if text and not self.compose.text().strip():
            self.compose.set_text(text)
        if images:
            self.compose.add_sources([("bytes", (data, name or "image.png")) for data, _mime, name in images])
        self.compose.edit.setFocus()

    def send_text(self, text: str, *, new_chat: bool = False) -> None:
        """Send `text` as soon as history and the connection are ready (`parley --send`, also handed over by a
        second launch). Several wait their turn; none touches what the user is typing in the box."""
        self._queued.append((text, new_chat))
        self._drain_queue()

    def _drain_queue(self, *_failed: object) -> None:
        """Send the next waiting question, or, when it cannot go (the connection failed, no deployment), show why
        and put the waiting questions in the box if it is empty."""
        if not self._queued or self.history is None or self.turns.running:
            return
        if self.connection is None and (self.services.last_problem is None or self.services.connecting_now):
            return  # still connecting: `on_connection` or `connection_failed` comes back here
        text, new_chat = self._queued[0]
        problem = self._not_ready()
        if problem is not None:
            self.notice.show_problem(problem)
            if self.compose.text().strip():
                return  # they stay queued: the box holds the user's own words
            # All of them, in the order asked: one left waiting would go out by itself once connected, first.
            if any(new for _, new in self._queued):
                self.new_chat()
            self.compose.set_text("\n\n".join(t for t, _ in self._queued))
            self._queued.clear()
            return
        self._queued.pop(0)
        if new_chat:
            self.new_chat()
        self._send_new(text, [])

    def _chat_deployment(self) -> str:
        name = self.deployment.currentText().strip()
        if name:
            return name
        return self.connection.deployment("chat")  # raises CONFIG naming the Settings field

    @Slot()
    def send(self) -> None:
        if self.turns.running:
            return
        text = self.compose.text()
        if not text.strip() and not self.compose.pending:
            return
        if self.compose.preparing():
            self.notice.show_message("info", "Image still being prepared", "Send again in a moment.")
            return
        problem = self._not_ready()
        if problem is not None:
            self.notice.show_problem(problem)
            return
        text, images = self.compose.take()
        if self._editing is not None:
            editing, self._editing = self._editing, None
            self._end_edit()
            self._resend(editing, text)
            return
        self._send_new(text, images)

    def _send_new(self, text: str, images: list[Any]) -> None:
        """A new question at the end of the conversation (the caller checked `_not_ready`)."""
        deployment = self._chat_deployment()
        self.notice.clear()
        user = MessageWidget("user", text)
        if images:
            user.set_images([(i.thumb, i.name) for i in images])
        self.view.add(user)
        answer = self.view.add(MessageWidget("assistant", model=deployment))
        turn = Turn(
            self.conversation_id or 0,
            deployment,
            text,
            tuple(i.part() for i in images),
            system_prompt=self.header.system_prompt(),
        )
        self.turns.sent_text, self.turns.sent_images = text, images
        self._start(turn, user, answer)

    def _not_ready(self) -> errors.Problem | None:
        if self.history is None:
            return errors.Problem(
                errors.Kind.OTHER,
                "History not open yet",
                "Parley is still opening your chat history.",
                "Send again in a moment.",
            )
        if self.connection is None:
            last = self.services.last_problem
            if last is not None:
                return last
            return errors.Problem(
                errors.Kind.CONFIG,
                "Not connected yet",
                "Parley is still connecting to Azure OpenAI.",
                "Send again in a moment, or check the connection in Settings.",
            )
        try:
            self._chat_deployment()
        except errors.ParleyError as exc:
            return exc.problem
        return None

    def _start(self, turn: Turn, user: MessageWidget, answer: MessageWidget) -> None:
        self.compose.set_busy(True)
        turn = replace(turn, **self.bits.turn_options(turn.deployment))  # the family's traits and the effort
        self.turns.start(self.connection, self.history, turn, user, answer)

    @Slot()
    def _on_typing(self) -> None:
        if self.connection is not None and self.compose.text():
            self.services.warm_up_client()  # does nothing once the client exists

    @Slot()
    def stop(self) -> None:
        self.turns.stop()

    @Slot(int)
    def _on_conversation_known(self, conversation_id: int) -> None:
        self.conversations.set_current(conversation_id)

    @Slot(object)
    def _on_turn_ended(self, ended: TurnEnded | None) -> None:
        self.compose.set_busy(False)
        if ended is not None and ended.answer_message_id is not None:
            a11y.announce(self.view, a11y.ENDINGS.get(str(ended.status), f"Answer {ended.status}."))
        self.refresh_list()
        if self.services.indexer is not None:
            self.services.indexer.schedule()
        QTimer.singleShot(0, self, self._drain_queue)

    @Slot(str)
    def _on_notice_action(self, what: str) -> None:
        if what == "settings":
            self.services.open_settings.emit()
        elif what == "reopen":
            self.notice.clear()
            self.conversations.open()

    # -- sidebar operations ------------------------------------------------------------------------------------------------
    @Slot(int)
    def _delete(self, cid: int) -> None:
        if cid == self.conversation_id:
            if self.turns.running:
                self.turns.stop()
            in_list = self.sidebar.list.hasFocus()
            self.new_chat()
            if in_list:  # Del in the list keeps the focus there, where Ctrl+Z is Undo, not the box's own
                self.sidebar.list.setFocus(Qt.FocusReason.OtherFocusReason)
        self.conversations.delete(cid)

    def export_to(self, cid: int, fmt: str, path: str) -> None:
        self.conversations.export_to(cid, fmt, path)

    def shutdown(self) -> None:
        self.search.shutdown()
        self.bits.shutdown()
        self.turns.shutdown()
        self.compose.shutdown()
        self.conversations.shutdown()
        self._jobs.close()
