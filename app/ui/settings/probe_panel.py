"""The dialog's "Test connection": runs `core.probe` on a Job and lists each capability as ✓ with its latency, or
as the Problem's card (wrong key, deployment not found, api-version, network)."""

from __future__ import annotations

import html
from collections.abc import Callable
from functools import partial
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core import probe
from app.core.probe import LABELS, ProbeResult
from app.ui.common.problem_card import Card
from app.ui.common.workers import JobResult, JobSlot

# What to test: (profile, typed key, name of the stored key to use when none is typed), or None when the form
# cannot be tested yet (the dialog shows why).
ProbeRequest = Callable[[], Any]


def card_text(card: Card) -> str:
    """A card's words as plain text (what a screen reader says; tests read it)."""
    return _plain(f"{card.title.text()}<br>{card.text.text()}<br>{card.request_id.text()}")


def _plain(rich: str) -> str:
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setHtml(rich)
    return doc.toPlainText().strip()


class ProbePanel(QWidget):
    finished = Signal(bool)  # True when every tested capability answered
    result_shown = Signal(object)  # each ProbeResult, as it is shown (the form keeps the family it showed)

    def __init__(self, request: ProbeRequest, parent: QWidget | None = None):
        super().__init__(parent)
        self._request = request
        self._job = JobSlot(self, "connection-test")
        self.results: list[ProbeResult] = []
        self.button = QPushButton("&Test connection")
        self.button.setAccessibleName("Test connection")
        self.button.setToolTip("One tiny real request per filled deployment")
        self.button.clicked.connect(self._on_button)
        self.status = QLabel()
        self.status.setAccessibleName("Connection test status")
        self.status.setWordWrap(True)
        self.card = Card(in_settings=True)
        self._rows = QVBoxLayout()
        self._rows.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.button)
        top.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.card)
        layout.addLayout(self._rows)

    @property
    def running(self) -> bool:
        return self._job.running

    @property
    def failures(self) -> list[ProbeResult]:
        """What was tried and did not work (a deployment not tried after an earlier failure is not one)."""
        return [r for r in self.results if not r.ok and not r.skipped]

    def row_texts(self) -> list[str]:
        """Every result line as shown (for tests and screen readers)."""
        out = []
        for i in range(self._rows.count()):
            widget = self._rows.itemAt(i).widget()
            if isinstance(widget, Card):
                if not widget.isHidden():
                    out.append(card_text(widget))
            elif isinstance(widget, QLabel):
                out.append(_plain(widget.text()))
        return out

    def start(self) -> None:
        request = self._request()
        if request is None:
            return
        profile, typed_key, stored_name = request
        self.reset()
        self.status.setText("Testing…")
        self.button.setText("Cancel &test")
        self.button.setAccessibleName("Cancel the connection test")
        fn = partial(probe.probe_profile, profile, typed_key=typed_key, stored_name=stored_name)
        self._job.start(fn, self._on_finished, event=self._on_result)

    def cancel(self) -> None:
        self._job.cancel()

    def reset(self) -> None:
        """Forget shown results (the form changed, so they no longer describe it)."""
        self.results = []
        self.card.clear()
        self.status.clear()
        while self._rows.count():
            widget = self._rows.takeAt(0).widget()
            if widget is not None:
                widget.hide()
                widget.deleteLater()

    @Slot()
    def _on_button(self) -> None:
        if self.running:
            self.cancel()
        else:
            self.start()

    @Slot(object)
    def _on_result(self, result: ProbeResult) -> None:
        self.results.append(result)
        name = f"{LABELS.get(result.capability, result.capability)} ({html.escape(result.deployment)})"
        if result.ok:
            text = f"✓ {name}: OK, {result.seconds * 1000:.0f} ms"
            if result.note:
                text += f" — {html.escape(result.note)}"
        elif result.skipped:
            text = f"– {name}: {html.escape(result.note)}"
        else:
            text = f"✗ {name}: {html.escape(result.problem.title) if result.problem else 'failed'}"
        label = QLabel(text)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setWordWrap(True)
        label.setAccessibleName(f"{LABELS.get(result.capability, result.capability)} test result")
        if result.family is not None:  # the family also shows beside the deployment's field (`result_shown`)
            served = result.family.label + (f", {result.model}" if result.model else "")
            label.setToolTip(f"Serves: {served}")
            label.setAccessibleDescription(f"Serves: {served}")
        self._rows.addWidget(label)
        if result.problem is not None:
            card = Card(in_settings=True)
            self._rows.addWidget(card)  # parented first: shown in place, never as a window of its own
            card.show_problem(result.problem)
        self.result_shown.emit(result)

    @Slot(object)
    def _on_finished(self, result: JobResult) -> None:
        self.button.setText("&Test connection")
        self.button.setAccessibleName("Test connection")
        if result.cancelled:
            self.status.setText("Test stopped.")
            return
        if result.problem is not None:
            self.status.setText("The test could not run.")
            self.card.show_problem(result.problem)
            self.finished.emit(False)
            return
        bad = len(self.failures)
        skipped = sum(1 for r in self.results if r.skipped)
        tried = len(self.results) - skipped
        ok = bad == 0 and tried > 0 and not skipped
        not_tried = f" {skipped} not tried;" if skipped else ""
        self.status.setText(
            f"All {tried} deployments answered."
            if ok
            else f"{bad} of {tried} did not work;{not_tried} see below."
        )
        self.finished.emit(ok)
