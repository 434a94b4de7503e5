"""The Voice tab's Live engine (Realtime API) as a user meets it, without sound hardware: a scripted 24 kHz
microphone in real time and a player that plays at real-time speed stand in for the devices; the rest is real (the
tab's live job, `LiveVoiceSession`, the openai SDK's realtime client, the emulator's Realtime socket, history)."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

import app.audio.player as player_mod
import app.audio.recorder as recorder_mod
import app.ui.voice.devices as devices_ui
from app.audio.devices import Device
from app.core.connection import Connection
from app.core.history import History
from app.core.turns import MessageStatus
from app.emulator.realtime import client_events
from app.ui.common import prefs
from app.ui.voice.engine import UNHEARD_NOTE
from app.ui.voice.tab import VoiceTab
from app.voice.events import VoiceState
from app.voice.live import UNHEARD

RATE = 24000
BLOCK = 480  # 20 ms
WORDS = "What is the capital of France?"
MIC = Device(0, "Built-in Microphone", "server", 1, 0, 48000.0, is_default_input=True)
SPEAKER = Device(1, "Built-in Speakers", "server", 0, 2, 48000.0, is_default_output=True)


def tone(seconds: float, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    env = 0.6 + 0.4 * np.abs(np.sin(2 * np.pi * 4 * t))
    return (amp * env * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def room(seconds: float) -> np.ndarray:
    return (0.001 * np.random.default_rng(3).standard_normal(int(RATE * seconds))).astype(np.float32)


@dataclasses.dataclass
class _Level:
    rms_db: float = -120.0


class Mic:
    """A microphone in real time: 20 ms blocks of room noise, and what the test `say`s (a voiced tone)."""

    samplerate = RATE
    latency = 0.0

    def __init__(self, *_args: Any, **_kw: Any) -> None:
        self.level = _Level()
        self.frames = 0
        self._lock = threading.Lock()
        self._pending: list[np.ndarray] = []
        self._next = 0.0
        self.starts = 0

    def say(self, seconds: float) -> None:
        sig = np.concatenate([tone(seconds), room(0.2)])
        with self._lock:
            self._pending.extend(sig[i : i + BLOCK] for i in range(0, len(sig), BLOCK))

    def start(self) -> None:
        self.starts += 1
        self._next = time.monotonic()

    def stop(self) -> None: ...

    def read(self, timeout: float = 0.1) -> Any:
        wait = self._next - time.monotonic()
        if wait > timeout:
            time.sleep(timeout)
            return None
        time.sleep(max(0.0, wait))
        with self._lock:
            block = self._pending.pop(0) if self._pending else room(BLOCK / RATE)
        self._next += len(block) / RATE
        self.frames += len(block)
        return block

    def drain(self) -> list:
        return []


class Player:
    """Plays at real-time speed: `frames_played` grows with the clock from the first write, as a device's would."""

    latency = 0.0

    def __init__(self, *_args: Any, **_kw: Any) -> None:
        self.first_audio_at: float | None = None
        self.written = 0
        self.stopped_at: float | None = None
        self.finished = False

    @property
    def frames_played(self) -> int:
        if self.first_audio_at is None:
            return 0
        end = self.stopped_at or time.monotonic()
        return min(self.written // 2, int((end - self.first_audio_at) * RATE))

    @property
    def played_out(self) -> bool:
        return self.finished and self.frames_played >= self.written // 2

    def start(self) -> None: ...

    def write(self, pcm: bytes) -> None:
        if self.first_audio_at is None:
            self.first_audio_at = time.monotonic()
        self.written += len(pcm)

    def finish(self) -> None:
        self.finished = True

    def stop(self) -> None:
        self.stopped_at = self.stopped_at or time.monotonic()


@dataclasses.dataclass
class Devices:
    mic: Mic
    players: list[Player]


@pytest.fixture
def devices(monkeypatch) -> Devices:
    """The tab's device list is fixed and `live_backend_for` opens these instead of sounddevice's streams."""
    mic, players = Mic(), []

    def player(*args: Any, **kw: Any) -> Player:
        players.append(Player())
        return players[-1]

    monkeypatch.setattr(recorder_mod, "Recorder", lambda *a, **kw: mic)
    monkeypatch.setattr(player_mod, "Player", player)
    monkeypatch.setattr(devices_ui, "_list_devices", lambda rescan, cancel: [MIC, SPEAKER])
    monkeypatch.setattr(devices_ui, "_idle_levels", lambda device, on_level, cancel: iter(()))
    return Devices(mic, players)


@pytest.fixture
def tab(qtbot, services, devices):
    services.connection.emulator.token_rate = None  # answer audio paced as Azure sends it
    tab = VoiceTab(services)
    qtbot.addWidget(tab)
    tab.on_connection(services.connection)
    tab.resize(960, 640)
    tab.show()
    qtbot.waitUntil(lambda: tab.start_button.isEnabled(), timeout=10000)
    yield tab
    tab.shutdown()
    qtbot.waitUntil(lambda: not tab.running, timeout=10000)


def without(connection: Connection, **deployments: str) -> Connection:
    profile = connection.profile
    changed = dataclasses.replace(profile.deployments, **deployments)
    return Connection(dataclasses.replace(profile, deployments=changed), api_key="demo")


def visible_rows(tab: VoiceTab) -> dict[str, bool]:
    engine = tab.engine
    return {
        "engine": engine.engine_combo.isVisibleTo(tab),
        "turn detection": engine.turn_combo.isVisibleTo(tab),
        "eagerness": engine.eagerness_combo.isVisibleTo(tab),
        "sensitivity": tab.sensitivity.isVisibleTo(tab),
    }


def choose(combo: Any, key: str) -> None:
    combo.setCurrentIndex(combo.findData(key))


def test_the_engine_is_offered_where_the_profile_has_a_realtime_deployment(qtbot, tab, services, tmp_path):
    # The demo profile has gpt-realtime: Live is the default, with its turn detection; the local VAD's
    # sensitivity does not apply to it.
    assert tab.engine.engine == "live" and tab.engine.engine_combo.currentText() == "Live (Realtime API)"
    assert visible_rows(tab) == {
        "engine": True,
        "turn detection": True,
        "eagerness": False,
        "sensitivity": False,
    }
    assert tab.engine.engine_combo.accessibleName() == "Voice engine"
    assert tab.engine.turn_combo.accessibleName() == "Turn detection"
    voices = [tab.voice_combo.itemText(i) for i in range(tab.voice_combo.count())]
    assert "marin" in voices and "fable" not in voices  # the Realtime API's voices
    choose(tab.engine.turn_combo, "semantic_vad")
    assert visible_rows(tab)["eagerness"]
    choose(tab.engine.eagerness_combo, "high")
    tab.push_to_talk.setChecked(True)  # releasing the key ends the turn: Azure's turn detection is off
    assert not tab.engine.turn_combo.isEnabled() and not tab.engine.eagerness_combo.isEnabled()
    tab.hands_free.setChecked(True)
    assert tab.engine.turn_combo.isEnabled() and tab.engine.eagerness_combo.isEnabled()
    assert tab.grab().save(str(tmp_path / "voice-live.png"))

    choose(tab.engine.engine_combo, "chained")
    assert tab.engine.engine == "chained"
    assert visible_rows(tab) == {
        "engine": True,
        "turn detection": False,
        "eagerness": False,
        "sensitivity": True,
    }
    assert "fable" in [tab.voice_combo.itemText(i) for i in range(tab.voice_combo.count())]
    assert services.pref(prefs.VOICE_ENGINE) == "chained"
    assert (services.pref(prefs.VOICE_TURN_DETECTION), services.pref(prefs.VOICE_EAGERNESS)) == (
        "semantic_vad",
        "high",
    )

    # Remembered: a new tab opens on Chained with semantic VAD, high eagerness kept for Live.
    second = VoiceTab(services)
    qtbot.addWidget(second)
    second.on_connection(services.connection)
    assert second.engine.engine == "chained" and second.engine.eagerness == "high"
    choose(second.engine.engine_combo, "live")
    assert visible_rows(second) == {
        "engine": True,
        "turn detection": True,
        "eagerness": True,
        "sensitivity": False,
    }
    second.shutdown()

    # A profile without a realtime deployment: no engine to choose, chained it is, whatever was chosen before.
    no_live = without(services.connection, realtime="")
    tab.on_connection(no_live)
    assert tab.engine.engine == "chained"
    assert visible_rows(tab) == {
        "engine": False,
        "turn detection": False,
        "eagerness": False,
        "sensitivity": True,
    }
    no_live.close()


def test_a_hands_free_live_turn_is_shown_stored_and_listed_at_once(qtbot, tab, services, devices):
    emulator = services.connection.emulator
    emulator.hear(WORDS)
    changed: list[float] = []
    services.conversations_changed.connect(lambda: changed.append(time.monotonic()))
    tab.hands_free.setChecked(True)
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.badge.state is VoiceState.LISTENING, timeout=15000)
    assert [e["type"] for e in client_events(emulator)][:1] == ["session.update"]
    devices.mic.say(1.0)
    qtbot.waitUntil(lambda: f"You: {WORDS}" in tab.transcript_text(), timeout=15000)
    qtbot.waitUntil(lambda: f"You asked: {WORDS}" in tab.transcript_text(), timeout=15000)
    qtbot.waitUntil(lambda: tab.conversation_id is not None, timeout=15000)
    assert changed and tab.running, "the Chat sidebar was not told while the session still runs"
    assert (
        devices.players and devices.players[0].written > RATE // 2
    )  # the answer's audio reached the speaker
    qtbot.waitUntil(lambda: tab.badge.state is VoiceState.LISTENING, timeout=15000)
    tab.stop()
    qtbot.waitUntil(lambda: not tab.running, timeout=10000)

    update = next(e for e in client_events(emulator) if e["type"] == "session.update")["session"]
    assert update["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    stored = History.open().messages(tab.conversation_id)
    assert [(m.role, m.status) for m in stored] == [
        ("user", MessageStatus.COMPLETE),
        ("assistant", MessageStatus.COMPLETE),
    ]
    assert stored[0].text == WORDS and stored[1].text.startswith(f"You asked: {WORDS}")
    assert stored[1].text.split()[:4] == tab.transcript_text().split("Parley:")[1].split()[:4]
    assert not tab.card.isVisible(), tab.card.text.text()


def test_semantic_vad_with_eagerness_goes_on_the_wire(qtbot, tab, services, devices):
    emulator = services.connection.emulator
    choose(tab.engine.turn_combo, "semantic_vad")
    choose(tab.engine.eagerness_combo, "low")
    tab.hands_free.setChecked(True)
    tab.start()
    qtbot.waitUntil(lambda: tab.badge.state is VoiceState.LISTENING, timeout=15000)
    tab.stop()
    qtbot.waitUntil(lambda: not tab.running, timeout=10000)
    update = next(e for e in client_events(emulator) if e["type"] == "session.update")["session"]
    detection = update["audio"]["input"]["turn_detection"]
    assert (detection["type"], detection["eagerness"]) == ("semantic_vad", "low")
    # A session where nobody spoke leaves no empty conversation.
    assert tab.conversation_id is None


def space(widget: Any, kind: QEvent.Type, autorep: bool) -> None:
    QApplication.sendEvent(
        widget, QKeyEvent(kind, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier, " ", autorep)
    )


@pytest.mark.parametrize("marked", [True, False], ids=["autorepeat-marked", "autorepeat-unmarked"])
def test_live_push_to_talk_held_through_auto_repeat_is_one_turn(qtbot, tab, services, devices, marked):
    emulator = services.connection.emulator
    emulator.hear(WORDS)
    tab.push_to_talk.setChecked(True)
    tab.start()
    qtbot.waitUntil(lambda: tab.talk_button.isEnabled(), timeout=5000)
    tab.start_button.setFocus()  # a focused button would take Space as a click: Space must still talk
    space(tab.start_button, QEvent.Type.KeyPress, False)
    # The press counts once the session is open: Parley listens.
    qtbot.waitUntil(lambda: tab.badge.state is VoiceState.LISTENING, timeout=15000)
    devices.mic.say(1.0)
    end = time.monotonic() + 1.4
    while time.monotonic() < end:  # the key held: auto-repeat pairs every 30 ms
        qtbot.wait(30)
        space(tab.start_button, QEvent.Type.KeyRelease, marked)
        space(tab.start_button, QEvent.Type.KeyPress, marked)
    space(tab.start_button, QEvent.Type.KeyRelease, False)
    qtbot.waitUntil(lambda: f"You asked: {WORDS}" in tab.transcript_text(), timeout=15000)
    qtbot.waitUntil(lambda: tab.badge.state is VoiceState.IDLE, timeout=15000)
    assert tab.running, "Space clicked the focused Stop button"
    tab.stop()
    qtbot.waitUntil(lambda: not tab.running, timeout=10000)

    sent = client_events(emulator)
    update = next(e for e in sent if e["type"] == "session.update")["session"]
    assert update["audio"]["input"]["turn_detection"] is None  # server VAD off
    kinds = [e["type"] for e in sent if e["type"] != "input_audio_buffer.append"]
    assert kinds.count("input_audio_buffer.commit") == 1 and kinds.count("response.create") == 1
    assert kinds.index("input_audio_buffer.commit") < kinds.index("response.create")
    appended = sum(e["audio"]["bytes"] for e in sent if e["type"] == "input_audio_buffer.append")
    assert appended >= RATE * 2 * 1.2  # the whole held time went over, not the first 0.6 s
    assert tab.transcript_text().count("You:") == 1 and f"You: {WORDS}" in tab.transcript_text()
    assert len(History.open().messages(tab.conversation_id)) == 2


def test_esc_stops_a_live_answer_mid_sentence(qtbot, tab, services, devices):
    emulator = services.connection.emulator
    emulator.hear(f"len:300 {WORDS}")
    tab.hands_free.setChecked(True)
    tab.start()
    qtbot.waitUntil(lambda: tab.badge.state is VoiceState.LISTENING, timeout=15000)
    devices.mic.say(1.0)
    qtbot.waitUntil(lambda: tab.badge.state is VoiceState.SPEAKING, timeout=15000)
    qtbot.wait(500)
    tab.transcript.setFocus()
    qtbot.keyClick(tab.transcript, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not tab.running, timeout=2000)
    player = devices.players[0]
    assert player.stopped_at is not None and player.frames_played < player.written // 2  # silenced mid-answer
    assert tab.badge.state is VoiceState.IDLE and tab.start_button.text() == "Start &conversation"
    shown = tab.transcript_text()
    assert f"{WORDS}" in shown and "Parley:" in shown  # what was said so far stays in view
    assert not tab.card.isVisible(), tab.card.text.text()
    # Stored like a chained turn stopped midway: the question, and the answer so far as stopped.
    assert tab.conversation_id is not None, "stopping mid-answer lost the turn"
    stored = History.open().messages(tab.conversation_id)
    assert [(m.role, m.status) for m in stored] == [
        ("user", MessageStatus.COMPLETE),
        ("assistant", MessageStatus.STOPPED),
    ]
    assert stored[1].text.startswith(f"You asked: {WORDS}")
    qtbot.waitUntil(lambda: stored[1].text.strip() in " ".join(tab.transcript_text().split()), timeout=2000)


def test_a_refused_handshake_is_a_problem_card(qtbot, tab, services, devices):
    connection = services.connection
    profile = connection.profile
    connection.profile = dataclasses.replace(
        profile, deployments=dataclasses.replace(profile.deployments, realtime="no-such-realtime")
    )
    try:
        tab.hands_free.setChecked(True)
        tab.start()
        qtbot.waitUntil(lambda: tab.card.isVisible(), timeout=15000)
        qtbot.waitUntil(lambda: not tab.running, timeout=10000)
    finally:
        connection.profile = profile
    title, text = tab.card.title.text(), tab.card.text.text()
    assert tab.card.kind == "problem" and "Deployment not found" in title, (title, text)
    assert "no-such-realtime" in title + text, (title, text)
    assert "settings" in tab.card.buttons()  # the deployment name is fixed there
    assert tab.conversation_id is None


def test_live_without_a_transcription_deployment_says_so_once(qtbot, tab, services, devices):
    connection = services.connection
    profile = connection.profile
    connection.profile = dataclasses.replace(
        profile, deployments=dataclasses.replace(profile.deployments, transcription="")
    )
    try:
        tab.hands_free.setChecked(True)
        tab.start()
        assert tab.status.text() == UNHEARD_NOTE
        qtbot.waitUntil(lambda: tab.badge.state is VoiceState.LISTENING, timeout=15000)
        devices.mic.say(1.0)
        qtbot.waitUntil(lambda: "Parley:" in tab.transcript_text(), timeout=15000)
        qtbot.waitUntil(lambda: tab.conversation_id is not None, timeout=15000)
        tab.stop()
        qtbot.waitUntil(lambda: not tab.running, timeout=10000)
    finally:
        connection.profile = profile
    assert f"You: {UNHEARD}" in tab.transcript_text()
    stored = History.open().messages(tab.conversation_id)
    assert [m.role for m in stored] == ["user", "assistant"] and stored[0].text == UNHEARD
