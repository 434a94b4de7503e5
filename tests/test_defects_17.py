"""The window's defects listed in issue 17, each reproduced against the emulator first: Jobs, the connection dialog,
the status bar after an outage, the chat font size and the small ones."""

from __future__ import annotations

import json
import re
import time

import pytest

from app.ui.common.services import AppServices


@pytest.fixture
def demo(qtbot):
    services = AppServices(demo=True)
    with qtbot.waitSignal(services.connection_changed, timeout=30000):
        services.reconnect()
    services.connection.emulator.job_seconds = 1.0
    yield services
    services.shutdown()


BATCH_LINE = {
    "custom_id": "r1",
    "method": "POST",
    "url": "/chat/completions",
    "body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
}


def test_jobs_empty_note_status_line_and_details_follow_the_batch(qtbot, demo, tmp_path):
    from app.ui.tools.jobs_tab import JobsTab

    tab = JobsTab(demo)
    qtbot.addWidget(tab)
    tab.active_poll_ms = 200
    tab.kind.setCurrentIndex(tab.kind.findData("batch"))
    qtbot.waitUntil(lambda: "No jobs on this resource yet." in tab.detail.toPlainText(), timeout=10000)
    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps({**BATCH_LINE, "custom_id": f"r{i}"}) + "\n" for i in range(3)))
    tab.upload(str(good), create_batch=True)
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=15000)
    assert "No jobs on this resource yet." not in tab.detail.toPlainText()
    assert "(validating)" in tab.message.text()
    qtbot.waitUntil(lambda: tab.table.item(0, 1).text() == "completed", timeout=15000)
    assert "(validating)" not in tab.message.text() and "completed" in tab.message.text()

    tab.table.selectRow(0)
    qtbot.waitUntil(lambda: "input_file_id" in tab.detail.toPlainText(), timeout=10000)
    detail = tab.detail.toPlainText()
    assert "RequestCounts(" not in detail and "3 of 3 done" in detail, detail
    assert not re.search(r"\b1\d{9}\b", detail), detail  # no Unix timestamps
    assert time.strftime("%Y-%m-%d", time.localtime()) in detail
    tab.shutdown()
