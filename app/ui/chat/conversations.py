"""The chat tab's history side: opens the history file, keeps the sidebar's conversation list, loads a conversation,
and runs each change to one (rename, pin, delete, restore, system prompt, deployment, export) on the history pool."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QFileDialog

from app.core.history import History
from app.ui.chat.sidebar import ChatSidebar
from app.ui.common import prefs
from app.ui.common.problem_card import Card
from app.ui.common.services import AppServices
from app.ui.common.workers import JobGroup, JobResult, JobSlot, history_pool, plain


def _open_history() -> tuple[History, list[Any]]:
    history = History.open()
    history.purge_deleted()  # deleted in an earlier run: their Undo is long gone
    return history, history.list_conversations()


def _load_conversation(history: History, conversation_id: int) -> tuple[Any, list[Any], dict[int, Any]]:
    """A conversation, its messages, and thumbnails of their images (decoded here, on the worker)."""
    from app.ui.chat.message_widget import thumbnail

    messages = history.messages(conversation_id)
    thumbs = {a.id: thumbnail(a.data) for m in messages for a in m.attachments if a.data}
    return history.get_conversation(conversation_id), messages, thumbs


def _export(history: History, conversation_id: int, fmt: str, path: str) -> str:
    data = (
        history.export_markdown(conversation_id)
        if fmt == "markdown"
        else json.dumps(history.export_json(conversation_id), indent=2, ensure_ascii=False)
    )
    # Whole or not at all: through a temporary file beside it, so a reader (or a crash) never sees half an export.
    target = Path(path)
    part = target.with_name(f".{target.name}.part")
    try:
        part.write_text(data, encoding="utf-8")
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return path


class Conversations(QObject):
    """Which conversation is open and what the sidebar lists. History calls run on `history_pool()`; their
    problems go to the tab's notice card."""

    opened = Signal(object)  # the history is open: the conversation to show first (id), or None
    loaded = Signal(
        object, object, object
    )  # a conversation, its messages, their thumbnails {attachment id: image}
    listed = Signal()  # the sidebar shows the list again (titles may have changed)

    def __init__(self, services: AppServices, sidebar: ChatSidebar, notice: Card, parent: QObject):
        super().__init__(parent)
        self.services, self.sidebar, self.notice = services, sidebar, notice
        self.history: History | None = None
        self.conversation: Any = None
        self.conversation_id: int | None = None
        self._jobs = JobGroup(self, "history")
        self._load_job = JobSlot(
            self, "history-load"
        )  # a newer choice wins over a conversation still loading
        sidebar.rename.connect(self.rename)
        sidebar.pin.connect(self.pin)
        sidebar.restore.connect(self.restore)
        sidebar.export.connect(self.choose_export)
        services.conversations_changed.connect(self.refresh)  # a voice conversation began or ended

    def open(self) -> None:
        self._jobs.start(plain(_open_history), self._on_opened, name="history-open", pool=history_pool())

    def shutdown(self) -> None:
        self._jobs.close()
        self._load_job.close()

    def _run(self, fn: Any, *args: Any, done: Any = None, name: str = "history") -> None:
        """`fn(history, *args)` (e.g. `History.rename`) on the history pool; `done` gets the JobResult."""
        if self.history is not None:
            self._jobs.start(
                plain(fn, self.history, *args), done or self._show_problem, name=name, pool=history_pool()
            )

    def _show_problem(self, result: JobResult) -> None:
        if result.problem is not None:
            self.notice.show_problem(result.problem)

    def _on_opened(self, result: JobResult) -> None:
        if result.problem is not None:
            self.notice.show_problem(result.problem, (("reopen", "Try again"),))
        if not result.ok:
            return
        self.history, conversations = result.value
        if self.history.recovery_note:
            self.notice.show_message("info", "Chat history recovered", self.history.recovery_note)
        current = self.services.pref(prefs.CHAT_CONVERSATION)
        ids = [c.id for c in conversations]
        if current not in ids:
            current = ids[0] if ids else None
        self.sidebar.show_conversations(conversations, current)
        self.opened.emit(current)

    # -- the list and the open conversation ---------------------------------------------------------------------
    def refresh(self) -> None:
        self._run(History.list_conversations, done=self._on_list)

    def _on_list(self, result: JobResult) -> None:
        if result.ok:
            self.sidebar.show_conversations(result.value, self.conversation_id)
            if self.conversation_id:
                self.conversation = self.sidebar.conversation(self.conversation_id)
            self.listed.emit()

    def load(self, conversation_id: int) -> None:
        if self.history is not None:
            self._load_job.start(
                plain(_load_conversation, self.history, conversation_id), self._on_loaded, pool=history_pool()
            )

    def _on_loaded(self, result: JobResult) -> None:
        if not result.ok or result.value[0] is None:
            self._show_problem(result)
            return
        conversation, messages, thumbs = result.value
        self.conversation, self.conversation_id = conversation, conversation.id
        self.services.set_pref(prefs.CHAT_CONVERSATION, conversation.id)
        self.sidebar.select(conversation.id)
        self.loaded.emit(conversation, messages, thumbs)

    def forget_current(self) -> None:
        """A new chat: no conversation until its first question is stored."""
        self.conversation, self.conversation_id = None, None
        self.sidebar.select(None)

    def set_current(self, conversation_id: int) -> None:
        """A new chat's first turn stored its question: that conversation is now the open one."""
        if self.conversation_id != conversation_id:
            self.conversation_id = conversation_id
            self.services.set_pref(prefs.CHAT_CONVERSATION, conversation_id)
            self.refresh()

    # -- changes -------------------------------------------------------------------------------------------------
    def save_system_prompt(self, text: str) -> None:
        if self.conversation_id:
            self._run(History.set_system_prompt, self.conversation_id, text)

    def save_deployment(self, name: str) -> None:
        if self.conversation_id and name:
            self._run(History.set_deployment, self.conversation_id, name)

    @Slot(int, str)
    def rename(self, cid: int, title: str) -> None:
        self._run(History.rename, cid, title, done=self._after_change)

    @Slot(int, bool)
    def pin(self, cid: int, pinned: bool) -> None:
        self._run(History.set_pinned, cid, pinned, done=self._after_change)

    def delete(self, cid: int) -> None:
        self._run(History.delete_conversation, cid, done=self._after_change)

    @Slot(int)
    def restore(self, cid: int) -> None:
        self._run(History.restore_conversation, cid, done=self._after_change)

    def _after_change(self, result: JobResult) -> None:
        self._show_problem(result)
        self.refresh()

    @Slot(int, str)
    def choose_export(self, cid: int, fmt: str) -> None:
        conversation = self.sidebar.conversation(cid)
        stem = (
            "".join(
                ch if ch.isalnum() or ch in " -_" else "_"
                for ch in (conversation.title if conversation else "chat")
            ).strip()
            or "chat"
        )
        suffix, label = (".md", "Markdown (*.md)") if fmt == "markdown" else (".json", "JSON (*.json)")
        path, _ = QFileDialog.getSaveFileName(
            self.sidebar.window(), "Export conversation", str(Path.home() / f"{stem}{suffix}"), label
        )
        if path:
            self.export_to(cid, fmt, path)

    def export_to(self, cid: int, fmt: str, path: str) -> None:
        self._run(_export, cid, fmt, path, done=self._on_exported, name="export")

    def _on_exported(self, result: JobResult) -> None:
        if result.ok:
            self.notice.show_message("info", "Conversation exported", f"Saved to {result.value}.")
            QTimer.singleShot(6000, self.notice, self.notice.clear)
        else:
            self._show_problem(result)
