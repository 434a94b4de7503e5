"""Completions and Jobs tabs against the demo emulator with the real client."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from app.ui.common.services import AppServices
from app.ui.tools.completions_tab import CompletionsTab
from app.ui.tools.jobs_tab import JobsTab


@pytest.fixture
def services(qtbot):
    services = AppServices(demo=True)
    with qtbot.waitSignal(services.connection_changed, timeout=30000):
        services.reconnect()
    services.connection.emulator.job_seconds = 0.6
    yield services
    services.shutdown()


def run_completion(qtbot, tab, prompt):
    tab.prompt.setPlainText(prompt)
    previous = tab._job.job
    qtbot.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab._job.job is not previous and tab._job.job.result is not None, timeout=30000)


def test_completion_streams_text_and_reports_usage(qtbot, services):
    tab = CompletionsTab(services)
    qtbot.addWidget(tab)
    tab.on_connection(services.connection)
    assert tab.deployment.text() == "gpt-35-turbo-instruct"
    tab.max_tokens.setValue(60)
    run_completion(qtbot, tab, "Hello World!")
    assert tab.output.toPlainText().strip()
    assert "tokens" in tab.status.text() and "request id" in tab.status.text()
    sent = [
        r
        for r in services.connection.emulator.requests
        if r.path.endswith("/completions") and "chat" not in r.path
    ][-1]
    assert (
        sent.json["prompt"] == "Hello World!"
        and sent.json["max_tokens"] == 60
        and sent.json["stream"] is True
    )


def test_completion_filtered_answer_keeps_text_and_names_category(qtbot, services):
    tab = CompletionsTab(services)
    qtbot.addWidget(tab)
    tab.on_connection(services.connection)
    tab.max_tokens.setValue(400)
    run_completion(qtbot, tab, "Tell me a story filter:answer")
    assert tab.output.toPlainText().strip()
    assert "content filter" in tab.status.text().lower() and "Violence" in tab.status.text()


def test_completion_unknown_deployment_explained(qtbot, services):
    tab = CompletionsTab(services)
    qtbot.addWidget(tab)
    tab.deployment.setText("nope")
    run_completion(qtbot, tab, "Hi")
    assert "Deployment not found" in tab.card.plain_text() and "nope" in tab.card.plain_text()
    assert "settings" in tab.card.buttons() and "Request id" in tab.card.plain_text()
    assert tab.prompt.toPlainText() == "Hi"


def wait_rows(qtbot, tab, n):
    qtbot.waitUntil(lambda: tab.table.rowCount() >= n and not tab._jobs.running, timeout=15000)


def test_jobs_upload_checks_lines_then_creates_and_cancels_a_batch(qtbot, services, tmp_path):
    tab = JobsTab(services)
    qtbot.addWidget(tab)
    tab.kind.setCurrentIndex(tab.kind.findData("batch"))
    bad = tmp_path / "bad.jsonl"
    good_line = {
        "custom_id": "r1",
        "method": "POST",
        "url": "/chat/completions",
        "body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    }
    bad.write_text(json.dumps(good_line) + "\n{not json\n")
    uploads_before = sum(
        1 for r in services.connection.emulator.requests if r.path.endswith("/files") and r.method == "POST"
    )
    tab.upload(str(bad), create_batch=True)
    qtbot.waitUntil(lambda: "was not uploaded" in tab.message.text(), timeout=10000)
    assert "line 2" in tab.message.text()
    uploads_after = sum(
        1 for r in services.connection.emulator.requests if r.path.endswith("/files") and r.method == "POST"
    )
    assert uploads_after == uploads_before  # nothing was sent

    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(good_line) + "\n" + json.dumps({**good_line, "custom_id": "r2"}) + "\n")
    tab.upload(str(good), create_batch=True)
    qtbot.waitUntil(lambda: tab.message.text().startswith("Done: batch"), timeout=15000)
    wait_rows(qtbot, tab, 1)
    assert tab.table.item(0, 0).text().startswith("batch")
    tab.table.selectRow(0)
    qtbot.waitUntil(lambda: "input_file_id" in tab.detail.toPlainText(), timeout=10000)
    from PySide6.QtWidgets import QMessageBox

    QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes)
    if tab.cancel_button.isEnabled():
        tab._on_cancel()
        qtbot.waitUntil(
            lambda: any(
                tab.table.item(r, 1).text() in ("cancelling", "cancelled", "completed")
                for r in range(tab.table.rowCount())
            ),
            timeout=15000,
        )
    tab.shutdown()


def test_fine_tuning_list_and_events(qtbot, services, tmp_path):
    from app.core import jobs

    client = services.connection.client()
    training = tmp_path / "train.jsonl"
    line = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    training.write_text("\n".join(json.dumps(line) for _ in range(10)) + "\n")
    uploaded = jobs.upload_file(client, training, "fine-tune")
    job = jobs.create_fine_tuning_job(client, uploaded.id, "gpt-4o-mini")
    tab = JobsTab(services)
    qtbot.addWidget(tab)
    tab.refresh()
    wait_rows(qtbot, tab, 1)
    assert tab.table.item(0, 0).text() == job.id
    tab.table.selectRow(0)
    qtbot.waitUntil(lambda: "Events:" in tab.detail.toPlainText(), timeout=10000)
    tab.shutdown()
