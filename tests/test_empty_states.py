"""Empty states: chat, the images gallery and jobs say what goes there and offer the main action; each goes away when
there is content and comes back when it is gone."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.ui.chat.tab import ChatTab
from app.ui.images.tab import ImagesTab
from app.ui.tools.jobs_tab import JobsTab


def test_chat_asks_anything_until_the_first_message_and_again_for_a_new_chat(qtbot, services):
    tab = ChatTab(services)
    qtbot.addWidget(tab)
    tab.resize(900, 600)
    tab.show()
    qtbot.waitUntil(lambda: tab.history is not None, timeout=10000)
    tab.on_connection(services.connection)
    qtbot.waitUntil(tab.empty.isVisible)
    assert tab.empty.title.text() == "Ask anything" and not tab.view.isVisible()
    code = next(b for b in tab.empty.suggestions if b.text() == "Write code")
    qtbot.mouseClick(code, Qt.MouseButton.LeftButton)
    assert tab.compose.text() == "Write a Python function that "
    assert QApplication.focusWidget() is tab.compose.edit or not tab.isActiveWindow()
    tab.compose.set_text("Write a Python function that adds two numbers")
    qtbot.keyClick(tab.compose.edit, Qt.Key.Key_Return)
    assert not tab.empty.isVisible() and tab.view.isVisible()  # at once, with the question
    qtbot.waitUntil(lambda: tab.turns.job is None and len(tab.sidebar.conversations) == 1, timeout=20000)
    first = tab.conversation_id
    qtbot.mouseClick(tab.sidebar.new_button, Qt.MouseButton.LeftButton)
    assert tab.empty.isVisible() and not tab.view.isVisible()
    tab.open_conversation(first)
    qtbot.waitUntil(lambda: len(tab.view.widgets) == 2, timeout=5000)
    assert not tab.empty.isVisible() and tab.view.isVisible()
    tab.shutdown()


def test_the_gallery_invites_a_description_until_there_is_an_image_and_after_the_last_is_deleted(
    qtbot, services
):
    tab = ImagesTab(services)
    qtbot.addWidget(tab)
    tab.resize(900, 700)
    with qtbot.waitSignal(tab.gallery.loaded, timeout=10000):
        tab.show()
    empty = tab.gallery.empty
    assert empty is not None and empty.isVisible() and not tab.gallery.isVisible()
    assert empty.title.text() == "No images yet"
    describe = empty.buttons[0]
    assert describe.text() == "Describe an image…"
    tab.activateWindow()
    qtbot.mouseClick(describe, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is tab.prompt)
    tab.prompt.setPlainText("A lighthouse at dawn")
    tab.generate()
    qtbot.waitUntil(lambda: len(tab.gallery.records()) == 1, timeout=30000)
    qtbot.waitUntil(lambda: tab._job.job is None or tab._job.job.result is not None, timeout=10000)
    assert not empty.isVisible() and tab.gallery.isVisible()
    tab.delete_record(tab.gallery.records()[0])
    assert empty.isVisible() and not tab.gallery.isVisible()
    qtbot.mouseClick(tab.undo_button, Qt.MouseButton.LeftButton)
    assert not empty.isVisible() and tab.gallery.isVisible()
    qtbot.waitUntil(lambda: not tab._side_jobs.running, timeout=5000)
    tab.shutdown()


def list_requests(services, kind: str) -> int:
    path = "/fine_tuning/jobs" if kind == "fine-tune" else "/batches"
    return sum(
        1 for r in services.connection.emulator.requests if r.method == "GET" and r.path.endswith(path)
    )


def test_jobs_say_what_jobs_are_and_refresh_until_one_is_listed(qtbot, services, tmp_path):
    import json

    tab = JobsTab(services)
    qtbot.addWidget(tab)
    tab.resize(900, 600)
    tab.show()
    qtbot.waitUntil(tab.empty.isVisible, timeout=10000)
    assert tab.empty.title.text() == "No jobs on this resource yet" and not tab.table.isVisible()
    assert "Fine-tuning" in tab.empty.guidance.text() and "batch" in tab.empty.guidance.text()
    refresh = next(b for b in tab.empty.buttons if b.text() == "Refresh the list")
    before = list_requests(services, "fine-tune")
    qtbot.mouseClick(refresh, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: list_requests(services, "fine-tune") > before, timeout=10000)
    line = {
        "custom_id": "r1",
        "method": "POST",
        "url": "/chat/completions",
        "body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    }
    batch = tmp_path / "batch.jsonl"
    batch.write_text(json.dumps(line) + "\n")
    tab.kind.setCurrentIndex(tab.kind.findData("batch"))
    tab.upload(str(batch), create_batch=True)
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=15000)
    assert not tab.empty.isVisible() and tab.table.isVisible()
    tab.kind.setCurrentIndex(tab.kind.findData("fine-tune"))  # none of those: the empty state again
    qtbot.waitUntil(tab.empty.isVisible, timeout=10000)
    assert not tab.table.isVisible()
    tab.shutdown()
