"""The window's defects listed in issue 17, each reproduced against the emulator first: Jobs, the connection dialog,
the status bar after an outage, the chat font size and the small ones."""

from __future__ import annotations

import json
import re
import time

import pytest
from PySide6.QtCore import Qt

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
    qtbot.waitUntil(lambda: not tab.empty.isHidden() and tab.splitter.isHidden(), timeout=10000)
    assert tab.empty.title.text() == "No jobs on this resource yet"
    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps({**BATCH_LINE, "custom_id": f"r{i}"}) + "\n" for i in range(3)))
    tab.upload(str(good), create_batch=True)
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=15000)
    assert tab.empty.isHidden() and not tab.splitter.isHidden()
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


# -- connection dialog --------------------------------------------------------------------------------------------


@pytest.fixture
def plain_services(qtbot):
    services = AppServices()
    yield services
    services.shutdown()


def open_dialog(qtbot, services, existing=()):
    from app.ui.settings.connection_dialog import ConnectionDialog

    dialog = ConnectionDialog(services, None, existing=list(existing))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: not dialog.auth.busy, timeout=10000)
    return dialog


def type_endpoint(qtbot, dialog, text):
    dialog.endpoint_edit.clear()
    qtbot.keyClicks(dialog.endpoint_edit, text)


def test_dialog_names_a_local_endpoint_as_its_placeholder_promises(qtbot, plain_services, dict_keyring):
    dialog = open_dialog(qtbot, plain_services)
    assert "filled from the endpoint" in dialog.name_edit.placeholderText()
    type_endpoint(qtbot, dialog, "http://127.0.0.1:8080/")
    assert dialog.name_edit.text().strip(), "no name was filled for a local endpoint"
    assert not dialog.name_note.isVisible()
    dialog.reject()


def test_dialog_auto_name_follows_the_endpoint_and_drops_its_error(qtbot, plain_services, dict_keyring):
    dialog = open_dialog(qtbot, plain_services, existing=["contoso"])
    type_endpoint(qtbot, dialog, "https://contoso.openai.azure.com/")
    assert dialog.name_edit.text() == "contoso"
    dialog.problems()  # what Save or Test shows: the duplicate name
    assert dialog.name_note.isVisible() and "already" in dialog.name_note.text()
    type_endpoint(qtbot, dialog, "https://fabrikam.openai.azure.com/")
    assert dialog.name_edit.text() == "fabrikam"
    assert not dialog.name_note.isVisible()
    dialog.name_edit.clear()
    qtbot.keyClicks(dialog.name_edit, "Mine")  # a typed name is the user's: the endpoint never replaces it
    type_endpoint(qtbot, dialog, "https://northwind.openai.azure.com/")
    assert dialog.name_edit.text() == "Mine"
    dialog.reject()


def test_dialog_forgets_test_results_when_the_form_changes(qtbot, plain_services, dict_keyring, emulator):
    dialog = open_dialog(qtbot, plain_services)
    type_endpoint(qtbot, dialog, emulator.endpoint)
    dialog.auth.key_edit.setText("any-key")
    dialog.deployment_edits["chat"].setText("gpt-4o")
    with qtbot.waitSignal(dialog.probe.finished, timeout=20000):
        dialog.probe.start()
    assert dialog.probe.row_texts() and dialog.probe.status.text()
    for edit, text in (
        (dialog.deployment_edits["chat"], "gpt-4o-mini"),
        (dialog.auth.key_edit, "another-key"),
        (dialog.endpoint_edit, emulator.endpoint + "x"),
    ):
        with qtbot.waitSignal(dialog.probe.finished, timeout=20000):
            dialog.probe.start()
        assert dialog.probe.row_texts()
        edit.setText(text)
        assert not dialog.probe.row_texts() and not dialog.probe.status.text(), edit.accessibleName()
    dialog.reject()


def test_dialog_layout_stays_put_when_the_local_address_warning_appears(qtbot, plain_services, dict_keyring):
    dialog = open_dialog(qtbot, plain_services)
    type_endpoint(qtbot, dialog, "https://contoso.openai.azure.com/")
    qtbot.wait(50)
    before = dialog.auth.mapTo(dialog, dialog.auth.rect().topLeft()).y()
    type_endpoint(qtbot, dialog, "http://localhost:8080/")
    assert dialog.endpoint_note.isVisible() and "local address" in dialog.endpoint_note.text()
    qtbot.wait(50)
    after = dialog.auth.mapTo(dialog, dialog.auth.rect().topLeft()).y()
    assert after == before, (before, after)
    dialog.reject()


def test_dialog_counts_only_what_was_tried(qtbot, plain_services, dict_keyring):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dialog = open_dialog(qtbot, plain_services)
    type_endpoint(qtbot, dialog, f"http://127.0.0.1:{port}/")
    dialog.auth.key_edit.setText("any-key")
    for capability, edit in dialog.deployment_edits.items():
        edit.setText(f"dep-{capability}")
    with qtbot.waitSignal(dialog.probe.finished, timeout=20000):
        dialog.probe.start()
    rows = dialog.probe.row_texts()
    skipped = sum(1 for r in rows if "Not tried" in r)
    assert skipped >= 1, rows
    status = dialog.probe.status.text()
    assert "1 of" in status and f"{skipped} not tried" in status, status
    assert len(dialog.probe.failures) == 1
    dialog.reject()


# -- the emulator command -----------------------------------------------------------------------------------------


def parley(*args, **kwargs):
    import os
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        **kwargs,
    )


@pytest.mark.e2e
def test_emulator_help_lists_only_its_own_options():
    p = parley("emulator", "--help")
    out, _err = p.communicate(timeout=30)
    assert p.returncode == 0
    assert "--port" in out and "--api-key" in out
    for option in ("--demo", "--profile", "--retries"):
        assert option not in out, f"{option} does not apply to the emulator:\n{out}"


@pytest.mark.e2e
def test_emulator_start_hint_uses_the_key_it_accepts():
    import signal

    p = parley("emulator", "--port", "0", "--api-key", "s3cret-key")
    try:
        lines = []
        while not lines or not lines[-1].startswith("Try:"):
            line = p.stdout.readline()
            assert line, (lines, p.stderr.read())
            lines.append(line.strip())
        # Not "any" (which the emulator would refuse), and never the key itself: every output is redacted.
        assert "AZURE_OPENAI_API_KEY set to your --api-key" in lines[-1] and "=any" not in lines[-1], lines
        assert "s3cret-key" not in "\n".join(lines)
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=10)
    finally:
        p.kill()


# -- cosmetic -----------------------------------------------------------------------------------------------------


def completions_tab(qtbot, services):
    from app.ui.tools.completions_tab import CompletionsTab

    tab = CompletionsTab(services)
    qtbot.addWidget(tab)
    tab.resize(800, 500)  # the smallest window the issue asks to look right
    tab.show()
    tab.on_connection(services.connection)
    return tab


def test_completions_deployment_field_shows_the_whole_name(qtbot, demo):
    tab = completions_tab(qtbot, demo)
    qtbot.waitExposed(tab)
    field = tab.deployment
    assert field.text() == "gpt-35-turbo-instruct"
    needed = field.fontMetrics().horizontalAdvance(field.text())
    room = field.contentsRect().width() - field.textMargins().left() - field.textMargins().right() - 8
    assert needed <= room, (needed, room)


def test_the_429_card_link_is_clickable_and_kept_on_one_line(qtbot, demo):
    tab = completions_tab(qtbot, demo)
    tab.prompt.setPlainText("Hi fault:429")
    previous = tab._job.job
    tab._on_run()
    qtbot.waitUntil(lambda: tab._job.job is not previous and tab._job.job.result is not None, timeout=30000)
    qtbot.waitUntil(lambda: tab.card.kind == "problem", timeout=30000)
    shown = tab.card.text.text()
    assert 'href="https://aka.ms/oai/quotaincrease"' in shown, shown
    assert tab.card.text.openExternalLinks()
    from tests.test_cards_fit import split_links

    assert split_links(tab.card.text) == []  # the address on one line, whole (test_cards_fit: at every width)


def test_the_filtered_row_stands_out_in_the_filter_table(qtbot):
    from app.core import filters
    from app.ui.common.problem_card import VerdictDialog

    verdict = filters.completion_verdict(
        {
            "hate": {"filtered": False, "severity": "safe"},
            "violence": {"filtered": True, "severity": "medium"},
        }
    )
    dialog = VerdictDialog([("Prompt", verdict)])
    qtbot.addWidget(dialog)
    rows = dialog.rows()
    filtered = next(i for i, r in enumerate(rows) if r[3] == "filtered")
    allowed = next(i for i, r in enumerate(rows) if r[3] == "allowed")
    for column in range(4):
        hot, calm = dialog.table.item(filtered, column), dialog.table.item(allowed, column)
        assert hot.font().bold() and not calm.font().bold()
        assert hot.background().style() != calm.background().style() or hot.background() != calm.background()


def test_open_folder_without_a_file_manager_says_where_the_folder_is(qtbot, demo, monkeypatch):
    from PySide6.QtGui import QDesktopServices, QGuiApplication

    from app.core import paths
    from app.ui.settings.tab import SettingsTab

    monkeypatch.setattr(
        QDesktopServices, "openUrl", staticmethod(lambda url: False)
    )  # nothing to open it with
    tab = SettingsTab(demo)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.mouseClick(tab.open_folder, Qt.MouseButton.LeftButton)
    assert tab.data_card.isVisible(), "nothing was said"
    assert str(paths.data_dir()) in tab.data_card.plain_text()
    assert QGuiApplication.clipboard().text() == str(paths.data_dir())
