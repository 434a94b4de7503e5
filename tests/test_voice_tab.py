"""The Voice tab as a user meets it: a spoken question through the private PulseAudio's virtual microphone, the
demo emulator answering, Parley's voice on the virtual speaker; what the tab says when the mic is silent, when
PortAudio is missing and when there is no microphone; and the window never freezing meanwhile."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from PySide6.QtCore import Qt

from app.ui.voice.tab import VoiceTab
from app.voice.events import VoiceState
from devtools.audio_rig import SpeakerTap, require_audio, say_into_mic, spoken_wav
from devtools.stall_probe import StallProbe

WORDS = "What is the capital of France?"
STALL_CEILING_MS = 250.0  # generous: two shared CPU cores; a blocking device or HTTP call would be seconds


@pytest.fixture
def tab(qtbot, services):
    require_audio()
    tab = VoiceTab(services)
    qtbot.addWidget(tab)
    tab.on_connection(services.connection)
    combo = (
        tab.engine.engine_combo
    )  # these are the chained engine's turns (the Live ones: test_voice_tab_live.py)
    combo.setCurrentIndex(combo.findData("chained"))
    tab.resize(960, 640)
    tab.show()
    qtbot.waitUntil(lambda: tab.start_button.isEnabled(), timeout=15000)
    yield tab
    tab.shutdown()
    qtbot.waitUntil(lambda: not tab.running, timeout=10000)


def mic_delivering(tab: VoiceTab, frames: int = 8000) -> bool:
    """The level the meter got says the microphone has delivered this much since the recording began."""
    level = tab.devices.last_level
    return level is not None and level.frames > frames


@pytest.mark.audio
def test_hands_free_conversation_in_the_tab(qtbot, tab, services, tmp_path):
    question = spoken_wav(WORDS, tmp_path / "question.wav")
    emulator = services.connection.emulator
    emulator.hear(WORDS)
    emulator.token_rate = 100
    tab.hands_free.setChecked(True)
    tab.speed.setValue(3.0)
    states: list[VoiceState] = []
    tab.state_changed.connect(states.append)
    probe = StallProbe()
    with SpeakerTap() as speaker:
        qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: mic_delivering(tab), timeout=15000)
        assert tab.badge.state is VoiceState.LISTENING and tab.start_button.text() == "&Stop (Esc)"
        player = say_into_mic(question)
        probe.start()
        qtbot.waitUntil(lambda: f"You: {WORDS}" in tab.transcript_text(), timeout=15000)
        qtbot.waitUntil(lambda: states[-2:] == [VoiceState.SPEAKING, VoiceState.LISTENING], timeout=40000)
        probe.stop()
        player.wait(5)
        shot = tmp_path / "voice-tab.png"
        assert tab.grab().save(str(shot))
        qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)  # Stop
        qtbot.waitUntil(lambda: not tab.running, timeout=10000)

    text = tab.transcript_text()
    assert "Parley:" in text and "ask a follow-up question" in text
    assert "Here is a short overview about capital france." in text and "**" not in text  # Markdown rendered
    assert states == [
        VoiceState.LISTENING,
        VoiceState.TRANSCRIBING,
        VoiceState.THINKING,
        VoiceState.SPEAKING,
        VoiceState.LISTENING,
        VoiceState.IDLE,
    ]
    assert tab.badge.state is VoiceState.IDLE and tab.start_button.text() == "Start &conversation"
    assert not tab.card.isVisible(), tab.card.text.text()
    assert speaker.loudest_rms() > 0.05, "nothing audible reached the speaker"
    assert [t for t, _ in emulator.transcripts] == [WORDS]
    print(
        f"longest GUI stall during the turn: {probe.longest_ms:.0f} ms; timings: "
        + ", ".join(f"{k}={v:.0f} ms" for k, v in tab.timings.items())
    )
    assert probe.longest_ms < STALL_CEILING_MS

    # A normal conversation: the chat tab can reopen it.
    from app.core.history import History

    messages = History.open().messages(tab.conversation_id)
    assert [(m.role, m.status) for m in messages] == [("user", "complete"), ("assistant", "complete")]
    assert messages[0].text == WORDS and "ask a follow-up question" in messages[1].text


@pytest.mark.audio
def test_a_live_conversation_end_to_end_on_the_sound_server(qtbot, tab, services, tmp_path):
    """The Live engine: a spoken question into the virtual microphone goes over the Realtime socket, Parley's voice
    reaches the speaker sink and both sides' words are in history."""
    from app.core.history import History
    from app.emulator.realtime import client_events

    question = spoken_wav(WORDS, tmp_path / "question.wav")
    emulator = services.connection.emulator
    emulator.hear(WORDS)
    emulator.token_rate = None  # answer audio paced as Azure sends it
    combo = tab.engine.engine_combo
    combo.setCurrentIndex(combo.findData("live"))
    tab.hands_free.setChecked(True)
    states: list[VoiceState] = []
    tab.state_changed.connect(states.append)
    with SpeakerTap() as speaker:
        qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: tab.badge.state is VoiceState.LISTENING, timeout=15000)
        qtbot.waitUntil(lambda: mic_delivering(tab), timeout=15000)
        say_into_mic(question)
        qtbot.waitUntil(lambda: f"You: {WORDS}" in tab.transcript_text(), timeout=20000)
        qtbot.waitUntil(lambda: states[-2:] == [VoiceState.SPEAKING, VoiceState.LISTENING], timeout=40000)
        assert tab.grab().save(str(tmp_path / "voice-tab-live.png"))
        tab.stop()
        qtbot.waitUntil(lambda: not tab.running, timeout=10000)
    assert speaker.loudest_rms() > 0.05, "nothing audible reached the speaker"
    assert any(e["type"] == "input_audio_buffer.append" for e in client_events(emulator))
    assert f"You asked: {WORDS}" in tab.transcript_text()
    messages = History.open().messages(tab.conversation_id)
    assert [(m.role, m.status) for m in messages] == [("user", "complete"), ("assistant", "complete")]
    assert messages[0].text == WORDS and messages[1].text.startswith(f"You asked: {WORDS}")
    assert not tab.card.isVisible(), tab.card.text.text()


@pytest.mark.audio
def test_a_silent_microphone_is_named_in_the_tab_and_nothing_is_sent(qtbot, tab, services, tmp_path):
    tab.hands_free.setChecked(True)
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.card.isVisible(), timeout=10000)
    device = tab.devices.input_name()
    assert tab.card.kind == "warning"
    assert f"No speech heard — check the microphone ({device})." in tab.card.text.text()
    assert (
        tab.running and tab.badge.state is VoiceState.LISTENING
    )  # still listening: the user may fix the mic
    assert tab.grab().save(str(tmp_path / "voice-tab-silent-mic.png"))
    tab.stop()
    qtbot.waitUntil(lambda: not tab.running, timeout=10000)
    assert not [r for r in services.connection.emulator.requests if "/audio/" in r.path]


class _NoPortAudio:
    """An import hook standing in for a machine without libportaudio2: `import sounddevice` raises what the
    sounddevice wheel raises there."""

    def find_spec(self, name, path=None, target=None):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return None


def test_missing_portaudio_is_a_message_in_the_tab_not_a_crash(qtbot, services, monkeypatch):
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_NoPortAudio(), *sys.meta_path])
    tab = VoiceTab(services)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitUntil(lambda: tab.card.isVisible(), timeout=10000)
    assert tab.card.title.text().endswith("Audio is not available</b>")
    assert "libportaudio2" in tab.card.text.text() and "restart Parley" in tab.card.text.text()
    assert not tab.start_button.isEnabled() and not tab.devices.test_button.isEnabled()
    assert "refresh" not in tab.card.buttons()  # a restart helps, a rescan does not
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    assert not tab.running


NO_DEVICE_SCRIPT = textwrap.dedent("""
    from PySide6.QtWidgets import QApplication
    from app.ui.common.services import AppServices
    from app.ui.voice.tab import VoiceTab
    app = QApplication([])
    tab = VoiceTab(AppServices())
    tab.show()
    while tab.devices._devices_job.job is None or tab.devices.listing:
        app.processEvents()
    app.processEvents()
    print(tab.card.title.text(), tab.start_button.isEnabled(), tab.devices.input_combo.count(),
          sorted(tab.card.buttons()), sep="|")
""")


def test_no_microphone_at_all_is_a_message_in_the_tab(tmp_path):
    pytest.importorskip("sounddevice", reason="PortAudio (libportaudio2) is not installed")
    # A fresh process whose ALSA has no sound server and no cards: PortAudio finds no device at all.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env.update(HOME=str(tmp_path), QT_QPA_PLATFORM="offscreen", PARLEY_HOME=str(tmp_path / "parley"))
    out = subprocess.run(
        [sys.executable, "-c", NO_DEVICE_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    assert out.returncode == 0, out.stderr
    title, start_enabled, inputs, buttons = out.stdout.strip().splitlines()[-1].split("|")
    assert "No microphone found" in title
    assert (start_enabled, inputs, buttons) == ("False", "0", "['refresh']")


@pytest.mark.audio
def test_push_to_talk_with_space_and_esc_stops_parley_mid_sentence(qtbot, tab, services, tmp_path):
    question = spoken_wav(WORDS, tmp_path / "question.wav")
    emulator = services.connection.emulator
    emulator.hear(WORDS)
    emulator.token_rate = 30  # a long answer: Esc lands while Parley is still speaking
    tab.push_to_talk.setChecked(True)
    with SpeakerTap() as speaker:
        qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: mic_delivering(tab), timeout=15000)
        assert tab.badge.state is VoiceState.IDLE and tab.talk_button.isEnabled()
        tab.start_button.setFocus()  # a focused button would take Space as a click: Space must still talk
        qtbot.keyPress(tab.start_button, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: tab.badge.state is VoiceState.LISTENING, timeout=5000)
        assert tab.running, "Space clicked the focused Stop button"
        player = say_into_mic(question)
        qtbot.waitUntil(lambda: player.poll() is not None, timeout=10000)
        qtbot.keyRelease(tab.start_button, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: tab.badge.state is VoiceState.SPEAKING, timeout=20000)
        qtbot.wait(500)
        tab.activateWindow()
        tab.transcript.setFocus()
        qtbot.keyClick(tab.transcript, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: not tab.running, timeout=2000)
        stopped = speaker.samples().size
        qtbot.wait(700)
        after = speaker.samples()[stopped + 16000 * 2 // 10 :]  # 200 ms for what was already in the device
    assert [t for t, _ in emulator.transcripts] == [WORDS]
    assert f"You: {WORDS}" in tab.transcript_text()
    assert after.size and float(abs(after).max()) < 0.01, "Parley kept talking after Esc"
    from app.core.history import History

    answer = History.open().messages(tab.conversation_id)[-1]
    assert answer.role == "assistant" and answer.status == "stopped" and answer.text  # kept, marked stopped


@pytest.mark.audio
def test_microphone_test_plays_back_what_it_heard(qtbot, tab, tmp_path):
    question = spoken_wav(WORDS, tmp_path / "question.wav")
    with SpeakerTap() as speaker:
        qtbot.mouseClick(tab.devices.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "Recording" in tab.status.text(), timeout=5000)
        qtbot.waitUntil(lambda: mic_delivering(tab, 1600), timeout=5000)
        say_into_mic(question)
        qtbot.waitUntil(lambda: tab.meter.level_db > -40, timeout=5000)  # the meter moves while it records
        qtbot.waitUntil(lambda: "Playing back" in tab.status.text(), timeout=6000)
        qtbot.waitUntil(lambda: not tab.devices.testing, timeout=8000)
    assert speaker.loudest_rms(0.5) > 0.05, "the recording was not played back"
    assert not tab.card.isVisible() and tab.status.text() == ""
    assert tab.devices.test_button.text() == "&Test microphone"


def test_voice_and_speed_are_remembered(qtbot, services, emulator):
    """Demo mode keeps the choice in preferences; a stored profile keeps it in the profile (Settings shows it too)."""
    from app.core import profile_ops
    from app.core.profiles import ProfileStore, demo_profile

    first = VoiceTab(services)
    qtbot.addWidget(first)
    first.on_connection(services.connection)
    combo = first.engine.engine_combo  # nova is a speech (TTS) voice: the Live engine has its own voices
    combo.setCurrentIndex(combo.findData("chained"))
    first.voice_combo.setCurrentIndex(first.voice_combo.findText("nova"))
    first.voice_combo.activated.emit(first.voice_combo.currentIndex())
    first.speed.setValue(1.5)
    first.speed.editingFinished.emit()
    second = VoiceTab(services)
    qtbot.addWidget(second)
    second.on_connection(services.connection)
    assert (second.voice_combo.currentText(), second.speed.value()) == ("nova", 1.5)
    first.shutdown()
    second.shutdown()

    store = ProfileStore.load()
    store.upsert(demo_profile(emulator.endpoint).with_changes(name="Work", demo=False))
    store.save()
    assert profile_ops.set_voice("Work", "onyx", 0.75) and not profile_ops.set_voice("Nobody", "onyx", 1.0)
    saved = ProfileStore.load().get("Work")
    assert (saved.tts_voice, saved.tts_speed) == ("onyx", 0.75)
