"""Empty states: chat, the images gallery, jobs and voice say what goes there and offer the main action; each goes
away when there is content and comes back when it is gone."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.ui.chat.tab import ChatTab
from app.ui.images.tab import ImagesTab
from app.ui.tools.jobs_tab import JobsTab
from app.ui.voice.tab import VoiceTab


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


def voice_tab(qtbot, services, monkeypatch, devices: list) -> VoiceTab:
    """The Voice tab with `devices` listed (no sound hardware) and a session that listens, says what the test put
    in `tab.said` and ends when stopped."""
    import app.ui.voice.devices as devices_ui
    import app.ui.voice.tab as tab_module
    from app.voice.events import StateChanged, VoiceState

    said: list = []

    def session(connection, config, controls, on_level, cancel, **_live):
        yield StateChanged(VoiceState.LISTENING)
        while not cancel.cancelled:
            while said:
                yield said.pop(0)
            cancel.wait(0.01)

    for engine in ("chained_job", "live_job"):
        monkeypatch.setattr(tab_module, engine, session)
    monkeypatch.setattr(devices_ui, "_list_devices", lambda rescan, cancel: devices)
    monkeypatch.setattr(devices_ui, "_idle_levels", lambda device, on_level, cancel: iter(()))
    tab = VoiceTab(services)
    tab.said = said  # type: ignore[attr-defined]
    qtbot.addWidget(tab)
    tab.on_connection(services.connection)
    tab.resize(900, 600)
    tab.show()
    qtbot.waitUntil(lambda: not tab.devices.listing and tab.devices._devices_job.job is None, timeout=10000)
    return tab


def test_voice_says_how_to_talk_until_the_first_conversation(qtbot, services, monkeypatch):
    from app.audio.devices import Device
    from app.voice.events import ReplyDelta, ReplyDone, UserSaid

    mic = Device(0, "Built-in Microphone", "server", 1, 0, 48000.0, is_default_input=True)
    speaker = Device(1, "Built-in Speakers", "server", 0, 2, 48000.0, is_default_output=True)
    tab = voice_tab(qtbot, services, monkeypatch, [mic, speaker])
    empty = tab.empty
    qtbot.waitUntil(lambda: empty.buttons[0].isVisible(), timeout=5000)
    assert empty.isVisible() and not tab.transcript.isVisible()
    assert empty.title.text() == "Talk with Parley"
    assert tab.start_button.objectName() == "primary"  # the tab's one accent-coloured button
    start = empty.buttons[0]
    assert start.text() == "Start talking"
    tab.hands_free.setChecked(True)
    assert "Hands-free" in empty.guidance.text() and "Realtime API" in empty.guidance.text()  # demo: Live
    tab.push_to_talk.setChecked(True)
    assert "hold Space" in empty.guidance.text()
    tab.engine.engine_combo.setCurrentIndex(tab.engine.engine_combo.findData("chained"))
    assert "transcribed" in empty.guidance.text() and "Realtime API" not in empty.guidance.text()
    assert empty.accessibleDescription() == empty.guidance.text()
    tab.hands_free.setChecked(True)
    qtbot.mouseClick(start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.running, timeout=5000)
    assert not empty.isVisible() and tab.transcript.isVisible()  # the conversation's place from the start
    tab.said.extend([UserSaid("Hello there", 1.0), ReplyDelta("Hi!"), ReplyDone("Hi!", None)])
    qtbot.waitUntil(lambda: "Hi!" in tab.transcript_text(), timeout=5000)
    tab.stop()
    qtbot.waitUntil(lambda: not tab.running, timeout=5000)
    assert not empty.isVisible() and tab.transcript.isVisible()  # the transcript stays
    tab.shutdown()


def test_voice_after_a_silent_session_invites_again(qtbot, services, monkeypatch):
    from app.audio.devices import Device

    mic = Device(0, "Built-in Microphone", "server", 1, 0, 48000.0, is_default_input=True)
    tab = voice_tab(qtbot, services, monkeypatch, [mic])
    qtbot.waitUntil(lambda: tab.start_button.isEnabled(), timeout=5000)
    tab.start()
    qtbot.waitUntil(lambda: tab.running, timeout=5000)
    assert not tab.empty.isVisible()
    tab.stop()
    qtbot.waitUntil(lambda: not tab.running, timeout=5000)
    assert tab.empty.isVisible() and not tab.transcript.isVisible()  # nothing was said: nothing to show
    tab.shutdown()


def test_voice_without_a_microphone_leaves_the_problem_as_the_message(qtbot, services, monkeypatch):
    from app.audio.devices import Device

    speaker = Device(1, "Built-in Speakers", "server", 0, 2, 48000.0, is_default_output=True)
    tab = voice_tab(qtbot, services, monkeypatch, [speaker])
    qtbot.waitUntil(lambda: tab.card.isVisible(), timeout=5000)
    assert "No microphone found" in tab.card.title.text()
    assert not tab.start_button.isEnabled()
    from PySide6.QtGui import QColor

    from app.ui import style, theme

    style.apply(tab)  # as the window styles a tab
    image = tab.start_button.grab().toImage()
    fill = QColor(image.pixel(6, image.height() // 2)).name()
    assert fill != QColor(theme.colours().accent).name(), (
        "a Start that cannot work looks like the one to press"
    )
    assert not tab.empty.isVisible()  # no "Talk with Parley" and no Start that cannot work under the card
    assert tab.transcript.isVisible()
    tab.shutdown()
