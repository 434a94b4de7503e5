"""Search all chats: exact words (FTS5), meaning (embeddings) or both, with results that open the message.

Self-contained: the chat tab mounts it in its sidebar and connects `open_message(conversation_id, message_id)`.
Searches run on a Job, debounced; a newer query cancels the older.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.core import errors
from app.core.cancel import CancelToken
from app.ui.chat.search_results import HIT_ROLE, RESULT_LIMIT, ResultDelegate, result_text
from app.ui.common import prefs
from app.ui.common.services import AppServices
from app.ui.common.workers import JobResult, JobSlot

DEBOUNCE_MS = 200
MODES = ("exact", "meaning", "both")

NO_DEPLOYMENT = "Meaning search needs an embeddings deployment — set it in Settings"
NOT_CONNECTED = "Meaning search needs a connection — not connected yet"
EMPTY_INDEX = "Meaning search has nothing indexed yet — messages are indexed in the background"


@dataclass(frozen=True)
class SearchOutcome:
    hits: list
    problem: errors.Problem | None = None  # meaning search failed; `hits` are the exact ones (mode "both")


def _search(
    connection: Any, deployment: str | None, query: str, mode: str, *, cancel: CancelToken
) -> SearchOutcome:
    from app.core import semantic
    from app.core.history import History

    history = History.open()
    if mode == "exact" or not deployment or connection is None:
        return SearchOutcome(
            semantic.search(
                history,
                None,
                query,
                cancel=cancel,
                ctx=errors.Context("search"),
                deployment=None,
                mode="exact",
                limit=RESULT_LIMIT,
            )
        )
    ctx = replace(connection.context("embeddings"), deployment=deployment)
    try:
        return SearchOutcome(
            semantic.search(
                history,
                connection.client(),
                query,
                cancel=cancel,
                ctx=ctx,
                deployment=deployment,
                mode=mode,
                limit=RESULT_LIMIT,
                dimensions=semantic.dimensions_for(history, deployment),
            )
        )
    except errors.ParleyError as exc:
        if mode != "both" or cancel.cancelled:
            raise
        exact = semantic.search(
            history, None, query, cancel=cancel, ctx=ctx, deployment=None, mode="exact", limit=RESULT_LIMIT
        )
        return SearchOutcome(exact, exc.problem)


def _indexed_count(deployment: str, *, cancel: CancelToken) -> int:
    from app.core import semantic
    from app.core.history import History

    return semantic.index_state(History.open(), deployment).indexed


class HistorySearch(QWidget):
    """Search box, mode (Exact / Meaning / Both), results and a status line.

    `open_message(conversation_id, message_id)` is emitted when a result is activated (click, double-click, Enter).
    Pass the window's `SemanticIndexer` (or call `set_indexer`) so Meaning becomes available as indexing fills in.
    """

    open_message = Signal(int, int)

    def __init__(self, services: AppServices, parent: QWidget | None = None, *, indexer: Any = None):
        super().__init__(parent)
        self.services = services
        self.indexer: Any = None
        self.meaning_reason: str | None = (
            NOT_CONNECTED  # why Meaning/Both are off; None when they are available
        )
        self._deployment: str | None = None
        self._job = JobSlot(self, "history-search")  # a newer query cancels the older; its result is dropped
        self._count_job = JobSlot(self, "semantic-count")
        self._recount = False
        self._last_open: tuple[int, int, float] | None = None

        self.query = QLineEdit()
        self.query.setPlaceholderText("Search all chats")
        self.query.setAccessibleName("Search all chats")
        self.query.setClearButtonEnabled(True)
        self.query.installEventFilter(self)
        self.buttons = QButtonGroup(self)
        self.mode_buttons: dict[str, QRadioButton] = {}
        modes = QHBoxLayout()
        modes.setContentsMargins(0, 0, 0, 0)
        for i, (mode, label, name) in enumerate(
            (
                ("exact", "Exact", "Exact words"),
                ("meaning", "Meaning", "By meaning"),
                ("both", "Both", "Exact words and by meaning"),
            )
        ):
            button = QRadioButton(label)
            button.setAccessibleName(f"Search mode: {name}")
            button.setSizePolicy(
                QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed
            )  # whole words, never "Meani"
            self.buttons.addButton(button, i)
            self.mode_buttons[mode] = button
            modes.addWidget(button)
        modes.addStretch(1)
        self.results = QListWidget()
        self.results.setAccessibleName("Search results")
        self.results.setWordWrap(True)
        self.results.setResizeMode(QListView.ResizeMode.Adjust)
        self.results.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.results.setLayoutMode(
            QListView.LayoutMode.Batched
        )  # results appear in steps, never one long stall
        self.results.setBatchSize(8)
        self.delegate = ResultDelegate(self.results)
        self.results.setItemDelegate(self.delegate)
        self.results.hide()  # shown while there is a query
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Search status")
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.status.hide()  # an empty line takes room above the conversation list: shown with something to say
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.query)
        layout.addLayout(modes)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.status)

        preferred = str(services.pref(prefs.SEARCH_MODE))
        self.preferred_mode = preferred if preferred in MODES else "both"
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.search_now)

        self.query.textChanged.connect(self._on_text)
        self.query.returnPressed.connect(self._on_return)
        self.buttons.idClicked.connect(self._on_mode_clicked)
        self.results.itemClicked.connect(self._on_item)
        self.results.itemActivated.connect(self._on_item)
        self.status.linkActivated.connect(self._on_link)
        services.connection_changed.connect(self._on_connection)
        self._apply_meaning(NOT_CONNECTED)
        if indexer is not None:
            self.set_indexer(indexer)
        if services.connection is not None:
            self._on_connection(services.connection)

    # -- public ---------------------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return MODES[max(0, self.buttons.checkedId())]

    def set_mode(self, mode: str) -> None:
        """Choose a mode as the user would (remembered); Meaning/Both fall back to Exact while unavailable."""
        self.preferred_mode = mode
        self.services.set_pref(prefs.SEARCH_MODE, mode)
        self._check_mode()
        self.search_now()

    @Slot()
    def focus_search(self) -> None:
        """For the window's Ctrl+F: focus the box with its text selected."""
        self.query.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.query.selectAll()

    def set_indexer(self, indexer: Any) -> None:
        self.indexer = indexer
        indexer.progress.connect(self._on_index_progress)
        indexer.idle.connect(self._on_index_idle)

    @property
    def searching(self) -> bool:
        return self._job.running or self._debounce.isActive()

    def shutdown(self) -> None:
        self._debounce.stop()
        for slot in (self._job, self._count_job):
            slot.close()
            if slot.job is not None:
                slot.job.wait(3000)

    # -- searching ------------------------------------------------------------------------------------------
    @Slot(str)
    def _on_text(self, text: str) -> None:
        if text.strip():
            self._debounce.start()
        else:
            self.search_now()

    @Slot()
    def search_now(self) -> None:
        self._debounce.stop()
        text = self.query.text().strip()
        if not text:
            self._job.cancel()
            self.results.clear()
            self.results.hide()  # the conversation list below gets the room back
            self.delegate.forget()
            self._idle_status()
            return
        mode = self.mode
        connection = self.services.connection
        self._job.start(
            partial(_search, connection, self._deployment, text, mode), self._on_found, slow=self._show_busy
        )

    @Slot()
    def _show_busy(self) -> None:
        self._say("Searching…")

    @Slot(object)
    def _on_found(self, result: JobResult) -> None:
        if result.cancelled:
            return
        if result.problem is not None:
            self.results.clear()
            self.delegate.forget()
            self._set_problem(result.problem)
            return
        outcome: SearchOutcome = result.value
        self.results.show()
        self.results.clear()
        self.delegate.forget()
        for hit in outcome.hits:
            item = QListWidgetItem(result_text(hit))
            item.setData(HIT_ROLE, hit)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, result_text(hit))
            self.results.addItem(item)
        n = len(outcome.hits)
        text = "No results" if n == 0 else f"{n} result{'s' if n != 1 else ''}"
        if outcome.problem is not None:
            text += f" (exact words only — {_problem_text(outcome.problem)})"
        elif self.mode != "exact" and self.indexer is not None and self.indexer.remaining:
            text += f" · {self.indexer.remaining} messages not yet indexed for meaning"
        self._say(html.escape(text))

    def _say(self, rich_text: str) -> None:
        self.status.setText(rich_text)
        self.status.setVisible(bool(rich_text))

    def _set_problem(self, problem: errors.Problem) -> None:
        self._say(html.escape(_problem_text(problem)))

    def _idle_status(self) -> None:
        if self.meaning_reason == NO_DEPLOYMENT and self.preferred_mode != "exact":
            self._say(html.escape(NO_DEPLOYMENT.removesuffix("Settings")) + "<a href='settings'>Settings</a>")
        else:
            self._say("")

    @Slot(str)
    def _on_link(self, link: str) -> None:
        if link == "settings":
            self.services.open_settings.emit()

    # -- opening results ------------------------------------------------------------------------------------
    @Slot(QListWidgetItem)
    def _on_item(self, item: QListWidgetItem) -> None:
        hit = item.data(HIT_ROLE) if item is not None else None
        if hit is None:
            return
        now = time.monotonic()
        last = self._last_open
        # A double-click (or a style that activates on click) reports click and activation: open once.
        if (
            last
            and last[:2] == (hit.conversation_id, hit.message_id)
            and now - last[2] < QApplication.doubleClickInterval() / 1000
        ):
            return
        self._open(hit)

    def _open(self, hit: Any) -> None:
        self._last_open = (hit.conversation_id, hit.message_id, time.monotonic())
        self.open_message.emit(hit.conversation_id, hit.message_id)

    @Slot()
    def _on_return(self) -> None:
        if self._debounce.isActive():
            self.search_now()
            return
        item = self.results.currentItem() or self.results.item(0)
        if item is not None and item.data(HIT_ROLE) is not None:
            self._open(item.data(HIT_ROLE))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        if watched is self.query and event.type() == QEvent.Type.KeyPress:
            key = event.key() if isinstance(event, QKeyEvent) else None
            if key == Qt.Key.Key_Down and self.results.count():
                self.results.setFocus(Qt.FocusReason.TabFocusReason)
                if self.results.currentRow() < 0:
                    self.results.setCurrentRow(0)
                return True
            if key == Qt.Key.Key_Escape and self.query.text():
                self.query.clear()
                return True
        return super().eventFilter(watched, event)

    # -- modes ----------------------------------------------------------------------------------------------
    @Slot(int)
    def _on_mode_clicked(self, index: int) -> None:
        self.set_mode(MODES[index])

    def _check_mode(self) -> None:
        mode = self.preferred_mode if self.meaning_reason is None else "exact"
        self.mode_buttons[mode].setChecked(True)

    def _apply_meaning(self, reason: str | None) -> None:
        changed = reason != self.meaning_reason or self.buttons.checkedId() < 0
        self.meaning_reason = reason
        tips = {
            "exact": "Messages containing these words",
            "meaning": "Messages close in meaning, even without the same words",
            "both": "Messages with these words first, then those close in meaning",
        }
        for mode, button in self.mode_buttons.items():
            available = mode == "exact" or reason is None
            button.setEnabled(available)
            button.setToolTip(tips[mode] if available else reason)
        if changed:
            before = self.mode
            self._check_mode()
            if self.query.text().strip() and self.mode != before:
                self.search_now()
            elif not self.query.text().strip():
                self._idle_status()

    @Slot(object)
    def _on_connection(self, connection: Any) -> None:
        try:
            self._deployment = connection.deployment("embeddings") if connection is not None else None
        except errors.ParleyError:
            self._deployment = None
        if connection is None:
            self._apply_meaning(NOT_CONNECTED)
        elif self._deployment is None:
            self._apply_meaning(NO_DEPLOYMENT)
        else:
            self._refresh_count()

    def _refresh_count(self) -> None:
        if self._deployment is None:
            return
        if self._count_job.running:
            self._recount = True
            return
        self._recount = False
        self._count_job.start(partial(_indexed_count, self._deployment), self._on_counted)

    @Slot(object)
    def _on_counted(self, result: JobResult) -> None:
        if self._recount:
            self._refresh_count()
            return
        if self._deployment is None:
            return
        self._apply_meaning(None if result.ok and result.value else EMPTY_INDEX)

    @Slot(int, int)
    def _on_index_progress(self, indexed: int, remaining: int) -> None:
        if indexed and self.meaning_reason == EMPTY_INDEX:
            self._refresh_count()

    @Slot()
    def _on_index_idle(self) -> None:
        if self.meaning_reason == EMPTY_INDEX:
            self._refresh_count()


def _problem_text(problem: errors.Problem) -> str:
    return f"{problem.title} — {problem.action}"
