"""Fine-tuning and batch jobs of the resource: list, details and events, JSONL upload with line checks, create, cancel."""

from __future__ import annotations

import html
import time
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core import errors
from app.core.cancel import CancelToken
from app.ui.common.a11y import describe
from app.ui.common.empty_state import EmptyState
from app.ui.common.problem_card import Card
from app.ui.common.services import AppServices
from app.ui.common.workers import Job, JobGroup, JobResult

TERMINAL = {"succeeded", "failed", "cancelled", "completed", "expired"}
EMPTY_GUIDANCE = (
    "Fine-tuning trains your own copy of a model on example conversations; a batch runs many requests at once, "
    "at a lower price, within 24 hours. Both start from a JSONL file."
)
DOCS = (
    "<a href='https://learn.microsoft.com/azure/ai-services/openai/how-to/fine-tuning'>Fine-tuning how-to</a> · "
    "<a href='https://learn.microsoft.com/azure/ai-services/openai/how-to/batch'>Batch how-to</a>"
)


def _list(connection: Any, kind: str, *, cancel: CancelToken) -> list:
    from app.core import jobs

    client = connection.client()
    return jobs.list_fine_tuning_jobs(client) if kind == "fine-tune" else jobs.list_batches(client)


def _detail(connection: Any, kind: str, job_id: str, *, cancel: CancelToken) -> tuple[Any, list]:
    from app.core import jobs

    client = connection.client()
    if kind == "fine-tune":
        return jobs.get_fine_tuning_job(client, job_id), jobs.fine_tuning_events(client, job_id)
    return jobs.get_batch(client, job_id), []


def _cancel(connection: Any, kind: str, job_id: str, *, cancel: CancelToken) -> Any:
    from app.core import jobs

    client = connection.client()
    return (
        jobs.cancel_fine_tuning_job(client, job_id)
        if kind == "fine-tune"
        else jobs.cancel_batch(client, job_id)
    )


def _validate(path: str, kind: str, *, cancel: CancelToken) -> list:
    from app.core import jobs

    return jobs.validate_jsonl(Path(path).read_text(encoding="utf-8"), kind)


def _upload(connection: Any, kind: str, path: str, create_batch: bool, *, cancel: CancelToken) -> Any:
    from app.core import jobs

    client = connection.client()
    uploaded = jobs.upload_file(client, Path(path), "fine-tune" if kind == "fine-tune" else "batch")
    if create_batch:
        return jobs.create_batch(client, uploaded.id)
    return uploaded


def _field(obj: Any, name: str, default: Any = "") -> Any:
    return getattr(obj, name, default) if obj is not None else default


def _when(ts: Any) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(float(ts)))
    except (TypeError, ValueError):
        return ""


def _value(name: str, value: Any) -> str:
    """A job's field in words: times in local time, request counts as progress, lists joined."""
    if name.endswith("_at"):
        return _when(value) or str(value)
    if name == "request_counts":
        failed = f", {value.failed} failed" if _field(value, "failed", 0) else ""
        return f"{_field(value, 'completed', 0)} of {_field(value, 'total', 0)} done{failed}"
    if isinstance(value, tuple | list):
        return "; ".join(str(v) for v in value)
    return str(value)


def details_text(job: Any, events: list) -> str:
    fields = getattr(job, "__dataclass_fields__", {})
    lines = [
        f"{name}: {_value(name, getattr(job, name))}"
        for name in fields
        if getattr(job, name) not in (None, "", ())
    ]
    if events:
        lines += ["", "Events:"] + [
            f"  {_when(_field(e, 'created_at', None))}  {_field(e, 'level', '')}  {_field(e, 'message', '')}"
            for e in events
        ]
    return "\n".join(lines)


class JobsTab(QWidget):
    def __init__(self, services: AppServices, parent: QWidget | None = None):
        super().__init__(parent)
        self.services = services
        self._jobs = JobGroup(self, "jobs")
        self.rows: list[Any] = []
        self.poll_interval_ms = 5000
        self.active_poll_ms = 5000  # while a job runs
        self._changed: Any = None  # the job the status line last reported (its status follows the list)
        self.kind = QComboBox()
        self.kind.addItem("Fine-tuning jobs", "fine-tune")
        self.kind.addItem("Batch jobs", "batch")
        self.kind.setAccessibleName("Job type")
        describe(self.kind, "Which jobs the list shows: fine-tuning or batch")
        self.kind.currentIndexChanged.connect(self.refresh)
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        describe(self.refresh_button, "Asks the resource for its jobs again")
        self.upload_button = QPushButton("&Upload JSONL…")
        self.upload_button.setToolTip("Checks every line first, then uploads the file to the resource")
        self.upload_button.clicked.connect(self._on_upload)
        self.batch_button = QPushButton("Create &batch from JSONL…")
        self.batch_button.clicked.connect(self._on_create_batch)
        describe(self.batch_button, "Checks a JSONL file of requests, uploads it and starts a batch")
        self.cancel_button = QPushButton("&Cancel job")
        self.cancel_button.clicked.connect(self._on_cancel)
        self.cancel_button.setEnabled(False)
        describe(self.cancel_button, "Cancels the selected job, after asking")
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["ID", "Status", "Model / endpoint", "Created", "Progress"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setAccessibleName("Jobs")
        describe(self.table, "The resource's jobs, newest first; select one to see its details")
        self.table.itemSelectionChanged.connect(self._on_selected)
        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setAccessibleName("Job details")
        describe(self.detail, "The selected job's fields and events, in local time")
        self.message = QLabel(DOCS)
        self.message.setOpenExternalLinks(True)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.message.setAccessibleName("Jobs message")
        self.card = Card()
        self.card.action.connect(self._on_card_action)

        bar = QHBoxLayout()
        bar.addWidget(self.kind)
        bar.addWidget(self.refresh_button)
        bar.addStretch(1)
        for b in (self.upload_button, self.batch_button, self.cancel_button):
            bar.addWidget(b)
        # Until the list has a job: what jobs are and how to start one, in the list's place.
        self.empty = EmptyState("No jobs on this resource yet", EMPTY_GUIDANCE)
        self.empty.add_action("Refresh the list", self.refresh, "Ask the resource for its jobs again")
        self.empty.add_action(
            "Create a batch from JSONL…",
            self._on_create_batch,
            "Checks a JSONL file, uploads it and starts a batch",
        )
        self.empty.hide()
        self.splitter = splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.card)

        self.poll = QTimer(self)
        self.poll.setSingleShot(True)
        self.poll.timeout.connect(self.refresh)

    @property
    def current_kind(self) -> str:
        return str(self.kind.currentData())

    def on_connection(self, _connection: Any) -> None:
        if self.isVisible():
            self.refresh()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        super().showEvent(event)
        if self.services.connection is not None and not self.rows:
            self.refresh()

    def _start(self, fn: Any, done: Any, name: str) -> Job | None:
        if self.services.connection is None:
            self.message.setText("Not connected yet.")
            return None
        return self._jobs.start(fn, done, name=name)

    # -- list and poll ------------------------------------------------------------------------------
    @Slot()
    def refresh(self) -> None:
        self._start(partial(_list, self.services.connection, self.current_kind), self._on_listed, "jobs-list")

    @Slot(object)
    def _on_listed(self, result: JobResult) -> None:
        if result.problem is not None:
            self.show_problem(result.problem)
            self.poll_interval_ms = min(60000, self.poll_interval_ms * 2)  # back off while failing
            self.poll.start(self.poll_interval_ms)
            return
        self.rows = list(result.value or [])
        selected = self._selected_id()
        self.table.setRowCount(len(self.rows))
        for r, job in enumerate(self.rows):
            counts = _field(job, "request_counts", None)
            progress = (
                f"{_field(counts, 'completed', 0)}/{_field(counts, 'total', 0)} requests"
                if counts is not None
                else (
                    f"{_field(job, 'trained_tokens', '') or ''} tokens"
                    if _field(job, "trained_tokens", None)
                    else ""
                )
            )
            values = [
                _field(job, "id"),
                _field(job, "status"),
                _field(job, "model", "") or _field(job, "endpoint", ""),
                _when(_field(job, "created_at", None)),
                progress,
            ]
            for c, value in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(str(value)))
            if _field(job, "id") == selected:
                self.table.selectRow(r)
        self.empty.setVisible(not self.rows)
        self.splitter.setVisible(bool(self.rows))
        if self.rows and selected is None:
            self.detail.setPlainText("Select a job to see its details.")
        reported = next((j for j in self.rows if _field(j, "id") == _field(self._changed, "id", None)), None)
        if reported is not None:
            self._report(reported)
        active = any(str(_field(j, "status")) not in TERMINAL for j in self.rows)
        self.poll_interval_ms = self.active_poll_ms if active else min(60000, self.poll_interval_ms * 2)
        if active:
            self.poll.start(self.poll_interval_ms)

    def _selected_id(self) -> str | None:
        items = self.table.selectedItems()
        return self.table.item(items[0].row(), 0).text() if items else None

    @Slot()
    def _on_selected(self) -> None:
        job_id = self._selected_id()
        row = next((j for j in self.rows if _field(j, "id") == job_id), None)
        self.cancel_button.setEnabled(row is not None and str(_field(row, "status")) not in TERMINAL)
        if job_id:
            self._start(
                partial(_detail, self.services.connection, self.current_kind, job_id),
                self._on_detail,
                "job-detail",
            )

    @Slot(object)
    def _on_detail(self, result: JobResult) -> None:
        if result.problem is not None:
            self.show_problem(result.problem)
            return
        job, events = result.value
        self.detail.setPlainText(details_text(job, events))

    # -- actions --------------------------------------------------------------------------------------
    @Slot()
    def _on_cancel(self) -> None:
        job_id = self._selected_id()
        if (
            job_id
            and QMessageBox.question(self, "Cancel job", f"Cancel {job_id}?")
            == QMessageBox.StandardButton.Yes
        ):
            self._start(
                partial(_cancel, self.services.connection, self.current_kind, job_id),
                self._on_changed,
                "job-cancel",
            )

    @Slot()
    def _on_upload(self) -> None:
        self._pick_and_upload(create_batch=False)

    @Slot()
    def _on_create_batch(self) -> None:
        self.kind.setCurrentIndex(self.kind.findData("batch"))
        self._pick_and_upload(create_batch=True)

    def _pick_and_upload(self, create_batch: bool) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a JSONL file", "", "JSON Lines (*.jsonl);;All files (*)"
        )
        if path:
            self.upload(path, create_batch=create_batch)

    def upload(self, path: str, *, create_batch: bool = False) -> None:
        """Validate every line off the GUI thread, show problems by line number, upload only a clean file."""
        self.message.setText(f"Checking {html.escape(Path(path).name)}…")
        self._pending_upload = (path, create_batch)
        self._start(partial(_validate, path, self.current_kind), self._on_validated, "jsonl-check")

    @Slot(object)
    def _on_validated(self, result: JobResult) -> None:
        if result.problem is not None:
            self.show_problem(result.problem)
            return
        line_errors = result.value or []
        path, create_batch = self._pending_upload
        if line_errors:
            shown = "".join(f"<li>line {e.line}: {html.escape(e.message)}</li>" for e in line_errors[:10])
            more = f"<p>…and {len(line_errors) - 10} more.</p>" if len(line_errors) > 10 else ""
            self.message.setText(
                f"<b>{html.escape(Path(path).name)} was not uploaded</b> — fix these lines:<ul>{shown}</ul>{more}"
            )
            return
        self.message.setText("Uploading…")
        self._start(
            partial(_upload, self.services.connection, self.current_kind, path, create_batch),
            self._on_changed,
            "jsonl-upload",
        )

    @Slot(object)
    def _on_changed(self, result: JobResult) -> None:
        if result.problem is not None:
            self.show_problem(result.problem)
            return
        self._changed = result.value
        self._report(result.value)
        self.refresh()

    def _report(self, value: Any) -> None:
        """The status line about the job just created or cancelled, with its status as the list last showed it."""
        self._changed = value
        status = str(_field(value, "status", "") or "uploaded")
        self.message.setText(
            f"Done: {html.escape(str(_field(value, 'id', '')))} ({html.escape(status)}). " + DOCS
        )

    def show_problem(self, problem: errors.Problem) -> None:
        """The shared inline card (what happened, what to do, the request id)."""
        self.card.show_problem(problem)  # with Open Settings where the fix is there

    @Slot(str)
    def _on_card_action(self, what: str) -> None:
        if what == "settings":
            self.services.open_settings.emit()

    def shutdown(self) -> None:
        self.poll.stop()
        self._jobs.close()
