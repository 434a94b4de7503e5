"""The Voice tab's defects found by a new user (issue #15), without sound hardware: the session is a scripted job
and the device list a fixed one, so what is checked is what the tab shows and what it asks of the session."""

from __future__ import annotations

import queue
import time
from typing import Any

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

import app.ui.voice.devices as devices_ui
import app.ui.voice.tab as voice_tab
from app.audio.devices import Device
from app.core.turns import FinishReason
from app.ui.voice.tab import VoiceTab
from app.voice.events import (
    ConversationStarted,
    InputLevel,
    Notice,
    ReplyDelta,
    ReplyDone,
    StateChanged,
    UserSaid,
    VoiceState,
)

MIC = Device(0, "Built-in Microphone", "server", 1, 0, 48000.0, is_default_input=True)
SPEAKER = Device(1, "Built-in Speakers", "server", 0, 2, 48000.0, is_default_output=True)


class ScriptedSession:
    """Stands in for `chained_job`: yields what the test puts in `events`, notes the commands it is given."""

    def __init__(self) -> None:
        self.events: queue.Queue = queue.Queue()
        self.commands: list[str] = []
        self.runs = 0
        self.ended = 0

    def job(self, connection: Any, config: Any, controls: Any, on_level: Any, cancel: Any, **_live: Any):
        self.runs += 1
        yield StateChanged(VoiceState.LISTENING)
        while not cancel.cancelled:
            self.commands.extend(controls.take())
            try:
                yield self.events.get(timeout=0.01)
            except queue.Empty:
                pass
        self.ended += 1


@pytest.fixture
def session(monkeypatch):
    scripted = ScriptedSession()
    monkeypatch.setattr(voice_tab, "chained_job", scripted.job)
    monkeypatch.setattr(voice_tab, "live_job", scripted.job)  # either engine: the tab's side is the same
    monkeypatch.setattr(devices_ui, "_list_devices", lambda rescan, cancel: [MIC, SPEAKER])
    monkeypatch.setattr(devices_ui, "_idle_levels", lambda device, on_level, cancel: iter(()))
    return scripted


@pytest.fixture
def tab(qtbot, services, session):
    tab = VoiceTab(services)
    qtbot.addWidget(tab)
    tab.on_connection(services.connection)
    tab.resize(800, 500)
    tab.show()
    qtbot.waitUntil(lambda: tab.start_button.isEnabled(), timeout=10000)
    yield tab
    tab.shutdown()
    qtbot.waitUntil(lambda: session.ended == session.runs, timeout=5000)


def say(session: ScriptedSession, *events: Any) -> None:
    for event in events:
        session.events.put(event)


def space(widget: Any, kind: QEvent.Type, autorep: bool) -> None:
    QApplication.sendEvent(
        widget, QKeyEvent(kind, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier, " ", autorep)
    )


@pytest.mark.parametrize("marked", [True, False], ids=["autorepeat-marked", "autorepeat-unmarked"])
def test_holding_space_is_one_turn_through_keyboard_auto_repeat(qtbot, tab, session, marked):
    # Held keys repeat: release/press pairs every ~30 ms after ~0.6 s. Qt marks them autorepeat, except when it
    # cannot pair them (X11 without detectable auto-repeat, a busy event loop): both must stay one turn.
    tab.push_to_talk.setChecked(True)
    tab.start()
    qtbot.waitUntil(lambda: tab.badge.state is VoiceState.LISTENING, timeout=5000)
    tab.start_button.setFocus()
    space(tab.start_button, QEvent.Type.KeyPress, False)
    for _ in range(8):
        qtbot.wait(30)
        space(tab.start_button, QEvent.Type.KeyRelease, marked)
        space(tab.start_button, QEvent.Type.KeyPress, marked)
    qtbot.wait(200)
    assert session.commands == ["press"], "the held key was let go at the first auto-repeat"
    space(tab.start_button, QEvent.Type.KeyRelease, False)
    qtbot.waitUntil(lambda: session.commands == ["press", "release"], timeout=2000)
    assert tab.running, "Space clicked the focused Stop button"


def test_a_voice_conversation_shows_in_the_chat_sidebar_at_once(qtbot, tab, session, services):
    from app.core.history import History
    from app.ui.chat.tab import ChatTab

    chat = ChatTab(services)
    qtbot.addWidget(chat)
    qtbot.waitUntil(lambda: chat.conversations.history is not None, timeout=10000)
    tab.start()
    conversation = History.open().create_conversation(title="Voice conversation")
    say(session, ConversationStarted(conversation.id))
    qtbot.waitUntil(lambda: "Voice conversation" in chat.sidebar.titles(), timeout=5000)
    chat.shutdown()


def test_a_new_session_keeps_the_transcript_with_a_separator(qtbot, tab, session):
    tab.start()
    say(
        session,
        UserSaid("First question", 1.0),
        ReplyDelta("First answer."),
        ReplyDone("First answer.", None),
    )
    qtbot.waitUntil(lambda: "First answer." in tab.transcript_text(), timeout=5000)
    tab.stop()
    qtbot.waitUntil(lambda: not tab.running, timeout=5000)
    tab.start()
    say(session, UserSaid("Second question", 1.0))
    qtbot.waitUntil(lambda: "Second question" in tab.transcript_text(), timeout=5000)
    text = tab.transcript_text()
    assert "First question" in text and "First answer." in text, "starting again cleared the transcript"
    assert text.index("First answer.") < text.index("New conversation") < text.index("Second question")


def test_the_microphone_warning_goes_with_stop_and_is_not_carried_into_the_next_session(qtbot, tab, session):
    tab.start()
    say(session, Notice("No speech heard — check the microphone (Mic).", "Is the microphone on?"))
    qtbot.waitUntil(lambda: tab.card.isVisible(), timeout=5000)
    tab.stop()
    qtbot.waitUntil(lambda: not tab.running, timeout=5000)
    assert not tab.card.isVisible(), "the microphone warning stayed after Stop"
    tab.start()
    qtbot.wait(200)
    assert not tab.card.isVisible()


def test_the_transcript_follows_the_newest_turn_unless_the_user_scrolled_up(qtbot, tab, session):
    tab.start()
    for n in range(30):
        say(session, UserSaid(f"Question {n}", 1.0), ReplyDone("", FinishReason.STOP))
        say(session, ReplyDelta(f"Answer {n}. " * 6), ReplyDone(f"Answer {n}.", FinishReason.STOP))
    bar = tab.transcript.verticalScrollBar()
    qtbot.waitUntil(lambda: "Answer 29." in tab.transcript_text(), timeout=5000)
    qtbot.wait(300)
    assert bar.maximum() > 0 and bar.value() == bar.maximum(), "the newest turn is out of sight"
    bar.setValue(0)  # the user scrolls up to read: new turns do not pull the view away
    say(session, UserSaid("One more", 1.0))
    qtbot.waitUntil(lambda: "One more" in tab.transcript_text(), timeout=5000)
    qtbot.wait(300)
    assert bar.value() == 0


def test_device_lists_say_they_are_looking_on_first_visit(qtbot, services, monkeypatch):
    gate: queue.Queue = queue.Queue()

    def slow_list(rescan: bool, cancel: Any) -> list[Device]:
        gate.get(timeout=10)
        return [MIC, SPEAKER]

    monkeypatch.setattr(devices_ui, "_list_devices", slow_list)
    monkeypatch.setattr(devices_ui, "_idle_levels", lambda device, on_level, cancel: iter(()))
    tab = VoiceTab(services)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitUntil(lambda: tab.devices.listing, timeout=5000)
    assert tab.devices.input_combo.currentText() == "Looking for microphones…"
    assert tab.devices.output_combo.currentText() == "Looking for speakers…"
    assert not tab.start_button.isEnabled()
    gate.put(None)
    qtbot.waitUntil(lambda: tab.start_button.isEnabled(), timeout=5000)
    assert tab.devices.input_combo.currentText() == "Built-in Microphone"
    tab.shutdown()


def test_the_level_meter_moves_while_the_devices_box_is_shown(qtbot, services, monkeypatch):
    started: list[Any] = []

    def idle(device: Any, on_level: Any, cancel: Any):
        started.append(device)
        while not cancel.cancelled:
            on_level(InputLevel(-20.0, None, 1600))
            time.sleep(0.05)
            yield None

    monkeypatch.setattr(devices_ui, "_list_devices", lambda rescan, cancel: [MIC, SPEAKER])
    monkeypatch.setattr(devices_ui, "_idle_levels", idle)
    tab = VoiceTab(services)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitUntil(lambda: tab.meter.level_db > -30, timeout=5000)
    assert started == [tab.devices.input_device()]
    tab.hide()  # out of sight: the microphone is let go
    qtbot.waitUntil(lambda: not tab.devices.idle_metering, timeout=5000)
    tab.shutdown()
