"""Background indexing for meaning search: embeds saved messages that have no vector yet, one job at a time.

One `SemanticIndexer` per main window. It starts when a connection with an embeddings deployment arrives and when
told `schedule()` (after a message is saved); repeated calls coalesce into one run. A run is resumable: it stops on
cancel or failure and the next run picks up the messages still without a vector. A failure becomes one status text
and indexing rests until the next `schedule()` after a pause, or a new connection.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from app.core import errors
from app.core.cancel import CancelToken
from app.core.events import Failed, Retrying
from app.core.semantic import IndexProgress
from app.ui.common.services import AppServices
from app.ui.common.workers import SLOW_MS, JobResult, JobSlot

log = logging.getLogger(__name__)

SCHEDULE_DELAY_MS = 1000  # a user message and its reply are saved close together: index them in one run
FAILURE_PAUSE_MS = 60_000  # after a failure, schedule() waits this long (a new connection does not)


def _index(connection: Any, deployment: str, batch_size: int, *, cancel: CancelToken):
    """Runs on the job's thread: IndexProgress(indexed this run, left) first and after every batch, then
    IndexProgress(n, 0) when nothing is left; Retrying while Azure asks to wait; Failed(problem) to stop."""
    from app.core import semantic
    from app.core.history import History

    history = History.open()
    state = semantic.index_state(history, deployment)
    yield IndexProgress(0, state.pending)
    if not state.pending:
        return
    client = connection.client()
    ctx = replace(connection.context("embeddings"), deployment=deployment)
    dimensions, pending, before, last = state.dimensions, state.pending, 0, 0
    while True:
        failed = None
        for event in semantic.index_pending(
            history,
            client,
            cancel=cancel,
            ctx=ctx,
            deployment=deployment,
            dimensions=dimensions,
            batch_size=batch_size,
            max_retries=connection.profile.max_retries,
        ):
            if cancel.cancelled:
                return
            if isinstance(event, IndexProgress):
                indexed = before + event.indexed
                if indexed != last:  # index_pending repeats its count at the end
                    last = indexed
                    yield IndexProgress(indexed, max(pending - indexed, event.remaining))
            elif isinstance(event, Failed):
                failed = event
            else:
                yield event
        if failed is None:
            break
        if dimensions is not None and last == 0 and semantic.rejects_dimensions(failed.problem):
            # This model cannot shorten its vectors (e.g. text-embedding-ada-002): index them at full size.
            dimensions = None
            pending = history.count_without_vectors(semantic.model_key(deployment, None))
            continue
        yield failed
        return
    if not cancel.cancelled:
        yield IndexProgress(last, 0)


class SemanticIndexer(QObject):
    """Keeps the meaning-search index of the history up to date, off the GUI thread.

    Signals: `progress(indexed, remaining)` (indexed = in the current run; remaining 0 = all done),
    `status(text)` ("" when idle) and `idle()` when a run ends (done, failed or cancelled).
    """

    progress = Signal(int, int)
    status = Signal(str)
    idle = Signal()

    def __init__(
        self,
        services: AppServices,
        parent: QObject | None = None,
        *,
        delay_ms: int = SCHEDULE_DELAY_MS,
        failure_pause_ms: int = FAILURE_PAUSE_MS,
        batch_size: int = 64,
    ):
        super().__init__(parent)
        self.services = services
        self.batch_size = batch_size
        self.failure_pause_ms = failure_pause_ms
        self.problem: errors.Problem | None = None  # why the last run stopped, until the next one succeeds
        self.remaining: int | None = None  # left to index as last known (None: not counted yet)
        self._job = JobSlot(self, "semantic-index")
        self._again = False  # a schedule() arrived while a run was going: run once more after it
        self._closed = False
        self._failed_at = 0.0
        self._status = ""
        self._logged: tuple[str, str] | None = None
        self.delay_ms = delay_ms
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._start)
        services.connection_changed.connect(self._on_connection)
        if services.connection is not None:
            self.schedule()

    # -- public ---------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._job.running

    def deployment(self) -> str | None:
        """The embeddings deployment of the current connection, or None when there is none."""
        connection = self.services.connection
        if connection is None:
            return None
        try:
            return connection.deployment("embeddings")
        except errors.ParleyError:
            return None

    @Slot()
    def schedule(self) -> None:
        """Index what is new, soon. Calls while a run is pending or going coalesce into one more run."""
        if self._closed:
            return
        if self.running:
            self._again = True
            return
        if self._timer.isActive():
            return
        delay = self.delay_ms
        if self.problem is not None:
            rest = self.failure_pause_ms - (time.monotonic() - self._failed_at) * 1000
            delay = max(delay, int(rest))
        self._timer.start(max(0, delay))

    def shutdown(self) -> None:
        """Stop for good (at quit): cancel a run and wait for its thread."""
        self._closed = True
        self._timer.stop()
        self._job.close()
        if self._job.job is not None:
            self._job.job.wait(3000)

    # -- running --------------------------------------------------------------------------------------------
    @Slot(object)
    def _on_connection(self, connection: Any) -> None:
        self.problem = None  # a new connection deserves a fresh try at once
        self.remaining = None
        if self.running:
            self._again = True
            self._job.cancel()  # it talks to the old connection
            return
        self._timer.stop()
        self.schedule()

    @Slot()
    def _start(self) -> None:
        if self._closed or self.running:
            return
        self._again = False
        self.problem = None  # its pause is over; a failure again sets it again
        connection = self.services.connection
        deployment = self.deployment()
        if connection is None or deployment is None:
            self._set_status("")
            return
        self._job.start(
            partial(_index, connection, deployment, self.batch_size), self._on_finished, event=self._on_event
        )

    @Slot(object)
    def _on_event(self, event: Any) -> None:
        if isinstance(event, IndexProgress):
            self.remaining = event.remaining
            self.progress.emit(event.indexed, event.remaining)
            self._set_status(
                f"Indexing for meaning search: {event.remaining} left" if event.remaining else ""
            )
        elif isinstance(event, Retrying):
            left = f"{self.remaining} left — " if self.remaining else ""
            self._set_status(
                f"Indexing for meaning search: {left}{event.problem.title.lower()}, "
                f"retrying in {errors.format_seconds(event.wait)}"
            )
        elif isinstance(event, Failed):
            self._fail(event.problem)

    @Slot(object)
    def _on_finished(self, result: JobResult) -> None:
        if result.problem is not None:
            self._fail(result.problem)
        elif self.problem is None:
            self._set_status("")
        if self._again and not self._closed:
            self._again = False
            self.schedule()
        self.idle.emit()

    def _fail(self, problem: errors.Problem) -> None:
        self.problem = problem
        self._failed_at = time.monotonic()
        if self._logged != (
            problem.kind,
            problem.title,
        ):  # once per kind of failure, not once per message saved
            self._logged = (problem.kind, problem.title)
            log.warning("semantic indexing stopped: %s", problem.one_line())
        self._set_status(f"Meaning search indexing stopped: {problem.title} — {problem.action}")
        if not self._closed:
            # Try again by itself after the pause: an outage that ends must not leave its message behind until
            # the next chat turn happens to schedule a run.
            self._timer.start(max(0, self.failure_pause_ms))

    def _set_status(self, text: str) -> None:
        if text != self._status:
            self._status = text
            self.status.emit(text)


class IndexStatus(QLabel):
    """A status-bar label: "Indexing for meaning search: 340 left", or why indexing stopped; hidden when idle.
    Short runs (a message or two after each chat turn) never show."""

    def __init__(self, indexer: SemanticIndexer, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAccessibleName("Meaning search indexing")
        self.hide()
        self._pending = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SLOW_MS)  # the status-bar text appears only for runs that take a while
        self._timer.timeout.connect(self._reveal)
        # Takes the room the status bar has and elides the rest (full text in the tooltip), instead of being cut
        # off mid-word and running into the connection label beside it.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(80)
        indexer.status.connect(self._on_status)

    @Slot(str)
    def _on_status(self, text: str) -> None:
        self._pending = text
        self.setToolTip(text)
        self.setAccessibleDescription(text)
        if not text:
            self._timer.stop()
            self.hide()
            self.clear()
        elif not self.isHidden():
            self.setText(text)
        elif not self._timer.isActive():
            self._timer.start()

    @Slot()
    def _reveal(self) -> None:
        if self._pending:
            self.setText(self._pending)
            self.show()

    def shown_text(self) -> str:
        """What is painted: the text, elided to the room the label has."""
        return self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideRight, max(0, self.contentsRect().width())
        )

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        from PySide6.QtGui import QPainter

        painter = QPainter(self)
        self.style().drawItemText(
            painter,
            self.contentsRect(),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            self.palette(),
            self.isEnabled(),
            self.shown_text(),
            self.foregroundRole(),
        )
