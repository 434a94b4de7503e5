"""The voice loop and the Voice tab with today's audio deployments (no sound hardware): gpt-4o-transcribe's words
stream into the tab, gpt-4o-mini-tts gets the tab's speaking style on the wire, the voice list follows the speech
deployment's family, and tts-hd/whisper profiles keep working as before."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import pytest
from test_voice_session import WORDS, FakePlayer, ScriptedMic

from app.core import profiles
from app.core.cancel import CancelToken
from app.core.connection import Connection
from app.ui.common import prefs
from app.ui.voice.tab import VoiceTab
from app.voice.events import ReplyDone, Timing, UserHearing, UserSaid
from app.voice.session import Controls, VoiceConfig, VoiceSession, backend_for

MODERN = profiles.Deployments(
    chat="gpt-4o", speech="gpt-4o-mini-tts", transcription="gpt-4o-transcribe", images="dall-e-3"
)
# The seed's audio deployments, which the emulator still serves (demo mode itself has today's: test_demo_lineup.py)
SEED = profiles.Deployments(chat="gpt-4o", speech="tts-hd", transcription="whisper", images="dall-e-3")


def _connection(emulator: Any, deployments: profiles.Deployments | None = None, **changes: Any) -> Connection:
    profile = profiles.demo_profile(emulator.endpoint)
    if deployments is not None:
        profile = profile.with_changes(deployments=deployments, **changes)
    return Connection(profile, api_key="demo", source="demo")


def _one_turn(connection: Connection, config: VoiceConfig) -> list[Any]:
    """One spoken question through the real backend (the emulator), with a scripted mic and a silent player."""
    player = FakePlayer()
    mic = ScriptedMic(player, talk_over=False)
    backend = dataclasses.replace(
        backend_for(connection, config), recorder_factory=lambda: mic, player_factory=lambda: player
    )
    session = VoiceSession(backend, config, Controls())
    cancel = CancelToken()
    events: list[Any] = []

    def run() -> None:
        for event in session.run(cancel):
            events.append(event)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not [e for e in events if isinstance(e, ReplyDone)] and time.monotonic() < deadline:
        time.sleep(0.05)
    cancel.cancel()
    thread.join(10)
    assert not thread.is_alive()
    return events


def test_streamed_transcription_shows_the_words_before_the_turn_is_heard(emulator):
    emulator.token_rate = 50
    emulator.hear(WORDS)
    connection = _connection(emulator, MODERN)
    try:
        events = _one_turn(connection, VoiceConfig(input_name="scripted", speed=3.0))
    finally:
        connection.close()
    hearing = [e.text for e in events if isinstance(e, UserHearing)]
    said = [e.text for e in events if isinstance(e, UserSaid)]
    assert said == [WORDS] and len(hearing) == len(WORDS.split()) and hearing[-1] == WORDS
    assert all(later.startswith(earlier) for earlier, later in zip(hearing, hearing[1:], strict=False))
    assert events.index(next(e for e in events if isinstance(e, UserHearing))) < events.index(
        next(e for e in events if isinstance(e, UserSaid))
    )
    first_word = [e.ms for e in events if isinstance(e, Timing) and e.name == "vad_end_to_first_word"]
    assert len(first_word) == 1 and first_word[0] >= 0
    sent = [r for r in emulator.requests if r.path.endswith("/audio/transcriptions")]
    assert sent[-1].form["stream"] == "true"


def test_a_seed_profile_is_sent_as_before(emulator):
    """whisper and tts-hd: no `stream`, no `instructions` (even with a style left in the preferences)."""
    emulator.hear(WORDS)
    connection = _connection(emulator, SEED)
    try:
        config = VoiceConfig(input_name="scripted", speed=3.0, instructions="Speak like a pirate.")
        events = _one_turn(connection, config)
    finally:
        connection.close()
    assert [e.text for e in events if isinstance(e, UserSaid)] == [WORDS]
    assert not [e for e in events if isinstance(e, UserHearing)]
    assert "stream" not in [r for r in emulator.requests if r.path.endswith("/audio/transcriptions")][-1].form
    speech = [r for r in emulator.requests if r.path.endswith("/audio/speech")]
    assert speech and all("instructions" not in r.json for r in speech)


@pytest.fixture
def tab(qtbot, services):
    tab = VoiceTab(services)  # never shown: PortAudio is not started
    qtbot.addWidget(tab)
    yield tab
    tab.shutdown()


def test_the_style_field_reaches_the_wire_and_is_remembered(qtbot, tab, services, emulator, tmp_path):
    connection = _connection(emulator, MODERN)
    tab.on_connection(connection)
    assert tab.speech.style_shown and tab.style_field.isVisibleTo(tab)
    voices = [tab.voice_combo.itemText(i) for i in range(tab.voice_combo.count())]
    assert {"coral", "sage", "marin", "cedar"} <= set(voices) and len(voices) == 13
    tab.voice_combo.setCurrentIndex(tab.voice_combo.findText("coral"))
    tab.style_field.setText("Speak like a calm librarian.")
    tab.style_field.editingFinished.emit()
    assert services.pref(prefs.VOICE_STYLE) == "Speak like a calm librarian."
    tab.resize(960, 640)
    assert tab.grab().save(str(tmp_path / "voice-style.png"))

    emulator.hear(WORDS)
    try:
        _one_turn(
            connection, tab.config()
        )  # what the tab's Start runs: backend_for(connection, tab.config())
    finally:
        connection.close()
    speech = [r for r in emulator.requests if r.path.endswith("/audio/speech")]
    assert speech and {r.json["instructions"] for r in speech} == {"Speak like a calm librarian."}
    assert {r.json["voice"] for r in speech} == {"coral"}

    second = VoiceTab(services)  # the style comes back in a new window
    qtbot.addWidget(second)
    second.on_connection(_connection(emulator, MODERN))
    assert second.style_field.text() == "Speak like a calm librarian."
    second.shutdown()


def test_a_tts_hd_profile_has_six_voices_and_no_style_field(tab, services, emulator):
    tab.on_connection(_connection(emulator, SEED))
    combo = (
        tab.engine.engine_combo
    )  # the demo profile has a realtime deployment: Live (its own voices) is default
    combo.setCurrentIndex(combo.findData("chained"))
    assert not tab.style_field.isVisibleTo(tab) and tab.speech.instructions() == ""
    voices = [tab.voice_combo.itemText(i) for i in range(tab.voice_combo.count())]
    assert voices == ["alloy", "echo", "fable", "onyx", "nova", "shimmer"]
    # a family learned for an opaquely named deployment decides, not the name
    opaque = profiles.Deployments(chat="gpt-4o", speech="prod-voice", transcription="whisper")
    tab.on_connection(_connection(emulator, opaque, families={"prod-voice": "tts-instruct"}))
    assert tab.style_field.isVisibleTo(tab) and tab.voice_combo.count() == 13


def test_streamed_words_fill_one_line_in_the_transcript(qtbot, tab):
    for text in ("What", "What is", "What is the capital"):
        tab._on_voice_event(UserHearing(text))
    qtbot.waitUntil(lambda: "You: What is the capital" in tab.transcript_text(), timeout=2000)
    tab._on_voice_event(UserSaid("What is the capital of France?", 1.2))
    qtbot.waitUntil(lambda: "of France?" in tab.transcript_text(), timeout=2000)
    assert tab.transcript_text().count("You:") == 1
