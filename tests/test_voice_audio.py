"""The voice loop against real audio: espeak-ng's voice played into the private PulseAudio's virtual microphone,
the real sounddevice recorder and player, the emulator with the real openai client, the speaker sink recorded back.

Skips unless scripts/test.sh verified its PulseAudio (PARLEY_TEST_AUDIO=1); a failure under CI=true.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from app.audio.recorder import Recorder
from app.core import profiles
from app.core.cancel import CancelToken
from app.core.connection import Connection
from app.core.turns import FinishReason
from app.emulator import Emulator
from app.voice.events import (
    Notice,
    ReplyDelta,
    ReplyDone,
    StateChanged,
    Timing,
    UserSaid,
    VoiceFailed,
    VoiceState,
)
from app.voice.session import Controls, VoiceConfig, VoiceSession, backend_for
from devtools.audio_rig import Echo, SpeakerTap, require_audio, say_into_mic, spoken_wav

WORDS = "What is the capital of France?"
pytestmark = pytest.mark.audio


@pytest.fixture
def rig():
    require_audio()


@pytest.fixture
def question(rig, tmp_path):
    return spoken_wav(WORDS, tmp_path / "question.wav")


def emulator(token_rate: float) -> Emulator:
    emu = Emulator(token_rate=token_rate)
    emu.start()
    return emu


class SessionRun:
    """A VoiceSession on its own thread (as the voice tab's worker runs it), every event stamped on arrival."""

    def __init__(
        self, emu: Emulator, mic_rate: int | None = None, api_version: str | None = None, **config: Any
    ):
        profile = profiles.demo_profile(emu.endpoint)
        if (
            api_version is not None
        ):  # a dated api-version: a seed chat model (reasoning ones need 2024-12-01-preview+)
            chat_on_gpt_4o = replace(profile.deployments, chat="gpt-4o")
            profile = profile.with_changes(api_version=api_version, deployments=chat_on_gpt_4o)
        self.connection = Connection(profile, api_key="demo", source="demo")
        self.config = VoiceConfig(input_name="default", **{"speed": 3.0, **config})
        self.controls = Controls()
        backend = backend_for(self.connection, self.config)
        if mic_rate is not None:  # a microphone that records at its own rate (many only do 44.1/48 kHz)
            backend = dataclasses.replace(backend, recorder_factory=lambda: Recorder(None, mic_rate))
        self.session = VoiceSession(backend, self.config, self.controls)
        self.cancel = CancelToken()
        self.events: list[tuple[float, Any]] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="voice-session", daemon=True)

    def _run(self) -> None:
        try:
            for event in self.session.run(self.cancel):
                self.events.append((time.monotonic(), event))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def __enter__(self) -> SessionRun:
        self._thread.start()
        # Listening, and the microphone delivering blocks: what is said from now on is heard.
        self.wait(
            lambda: self.session.recorder is not None and self.session.recorder.frames > 8000,
            10,
            "the microphone never delivered audio",
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel.cancel()
        self._thread.join(10)
        self.connection.close()
        assert not self._thread.is_alive(), "the voice session did not stop on cancel"
        if self.error is not None and exc[0] is None:
            raise self.error

    def wait(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.error is not None:
                raise self.error
            assert time.monotonic() < deadline, f"{what} within {timeout} s; events: {self.kinds()}"
            time.sleep(0.02)

    def of(self, kind: type) -> list:
        return [e for _, e in self.events if isinstance(e, kind)]

    def at(self, kind: type) -> list[float]:
        return [t for t, e in self.events if isinstance(e, kind)]

    def states(self) -> list[VoiceState]:
        return [e.state for e in self.of(StateChanged)]

    def kinds(self) -> list[str]:
        return [
            type(e).__name__ if not isinstance(e, StateChanged) else e.state.value for _, e in self.events
        ]

    def timing(self, name: str) -> float:
        return next(e.ms for e in self.of(Timing) if e.name == name)

    def wait_turn_done(self, timeout: float = 40) -> None:
        """Until the answer has been spoken and Parley listens again."""
        self.wait(
            lambda: self.of(ReplyDone) and self.states()[-1] is VoiceState.LISTENING, timeout, "no full turn"
        )


def test_a_spoken_question_is_transcribed_answered_and_spoken(question):
    emu = emulator(token_rate=100)
    emu.hear(WORDS)
    try:
        with SpeakerTap() as speaker, SessionRun(emu) as run:
            say_into_mic(question).wait(10)
            run.wait_turn_done()
    finally:
        emu.stop()

    # What was heard: one transcription of about the spoken length, whose text is the user's line.
    assert [text for text, _ in emu.transcripts] == [WORDS]
    seconds = emu.transcripts[0][1]
    assert 1.8 < seconds < 4.5, f"the turn sent {seconds:.2f} s of audio for ~1.8 s of speech"
    assert [e.text for e in run.of(UserSaid)] == [WORDS]
    chats = [r for r in emu.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 1 and chats[0].json["messages"][-1] == {"role": "user", "content": WORDS}
    assert chats[0].json["stream"] is True

    # The answer streamed, piece by piece, and was spoken sentence by sentence without its Markdown.
    deltas, done = run.of(ReplyDelta), run.of(ReplyDone)
    assert (
        len(deltas) > 20
        and "".join(d.text for d in deltas) == done[0].text
        and done[0].finish_reason == "stop"
    )
    spoken = [r.json["input"] for r in emu.requests if r.path.endswith("/audio/speech")]
    assert len(spoken) >= 3, spoken
    assert all(r.json["response_format"] == "pcm" for r in emu.requests if r.path.endswith("/audio/speech"))
    assert not any(mark in s for s in spoken for mark in ("**", "```", "## ", "> ")), spoken

    # The speaker really played it, and the turn went round in order.
    assert speaker.loudest_rms() > 0.05, (
        f"the speaker sink stayed near silent (RMS {speaker.loudest_rms():.4f})"
    )
    assert run.states() == [
        VoiceState.LISTENING,
        VoiceState.TRANSCRIBING,
        VoiceState.THINKING,
        VoiceState.SPEAKING,
        VoiceState.LISTENING,
        VoiceState.IDLE,
    ]
    assert run.of(Notice) == []


def test_a_48_khz_microphone_is_resampled_to_16_khz_for_transcription(question):
    emu = emulator(token_rate=0)
    emu.hear(WORDS)
    try:
        with SessionRun(emu, mic_rate=48000) as run:
            assert run.session.recorder.samplerate == 48000
            say_into_mic(question).wait(10)
            run.wait(lambda: run.of(UserSaid), 20, "nothing transcribed")
    finally:
        emu.stop()
    upload = next(r for r in emu.requests if r.path.endswith("/audio/transcriptions"))
    name, size = upload.files["file"]
    seconds = emu.transcripts[0][1]
    assert name == "speech.wav" and abs(size - 44 - seconds * 16000 * 2) <= 64, (size, seconds)
    assert [e.text for e in run.of(UserSaid)] == [WORDS] and 1.8 < seconds < 4.5


def test_speech_at_a_ga_api_version_is_explained_and_the_answer_still_shows(question):
    # 2024-10-21 (GA) serves chat and Whisper but not text to speech, as on Azure.
    emu = emulator(token_rate=0)
    emu.hear(WORDS)
    try:
        with SessionRun(emu, api_version="2024-10-21") as run:
            say_into_mic(question).wait(10)
            run.wait(lambda: run.of(ReplyDone) and run.states()[-1] is VoiceState.LISTENING, 20, "no turn")
    finally:
        emu.stop()
    problem = run.of(VoiceFailed)[0].problem
    assert problem.title == "Resource not found" and "2024-10-01-preview" in problem.action
    assert "ask a follow-up question" in run.of(ReplyDone)[0].text  # the answer is there to read
    assert VoiceState.SPEAKING not in run.states()


def test_a_silent_microphone_is_never_transcribed_and_the_user_is_told(rig):
    emu = emulator(token_rate=0)
    try:
        with SessionRun(emu) as run:  # hands-free: the mic sends only digital silence
            run.wait(lambda: run.of(Notice), 6, "no notice about the silent microphone")
        with SessionRun(emu, hands_free=False) as ptt:  # push-to-talk: held for a second of silence
            ptt.controls.press()
            time.sleep(1.0)
            ptt.controls.release()
            ptt.wait(lambda: ptt.of(Notice), 5, "no notice about the silent recording")
    finally:
        emu.stop()
    expected = "No speech heard — check the microphone (default)."
    assert [n.text for n in run.of(Notice)] == [
        f"{expected} Nothing is sent to Azure until Parley hears you."
    ]
    assert [n.text for n in ptt.of(Notice)] == [f"{expected} That recording was not sent."]
    assert not [r for r in emu.requests if "/audio/" in r.path], "silence was sent to Azure"
    assert VoiceState.TRANSCRIBING not in run.states() + ptt.states()


@pytest.mark.parametrize("barge_in", [False, True], ids=["mic-gated", "barge-in-above-echo"])
def test_parley_does_not_answer_its_own_voice(question, barge_in):
    # The speaker plays straight back into the microphone at full level: every word Parley says, it hears.
    emu = emulator(token_rate=100)
    emu.hear(WORDS)
    try:
        with Echo(), SessionRun(emu, barge_in=barge_in) as run:
            say_into_mic(question).wait(10)
            run.wait_turn_done()
            speaking = [
                t for t, e in run.events if isinstance(e, StateChanged) and e.state is VoiceState.SPEAKING
            ]
            time.sleep(2.0)  # listening again: the echo's tail must not start a turn either
    finally:
        emu.stop()
    assert speaking, "Parley never spoke"
    assert [text for text, _ in emu.transcripts] == [WORDS], "Parley transcribed its own voice"
    assert run.of(ReplyDone)[0].finish_reason == "stop", "Parley interrupted itself"
    assert run.of(Notice) == []
    assert run.states() == [
        VoiceState.LISTENING,
        VoiceState.TRANSCRIBING,
        VoiceState.THINKING,
        VoiceState.SPEAKING,
        VoiceState.LISTENING,
        VoiceState.IDLE,
    ]


def test_the_user_can_talk_over_parley_when_barge_in_is_on(question, tmp_path):
    # Echo at a tenth of the level (-20 dB, loudspeakers across the room); the user's voice is far louder.
    interruption = spoken_wav("Stop, tell me about Spain instead.", tmp_path / "stop.wav")
    emu = emulator(token_rate=30)
    emu.hear(WORDS, "Stop, tell me about Spain instead.")
    try:
        with Echo(volume_percent=10), SessionRun(emu, barge_in=True, speed=1.0) as run:
            say_into_mic(question).wait(10)
            run.wait(lambda: VoiceState.SPEAKING in run.states(), 20, "Parley never spoke")
            time.sleep(1.0)
            say_into_mic(interruption).wait(10)
            run.wait(lambda: len(run.of(UserSaid)) == 2, 20, "the interruption was not heard")
            interrupted = run.of(ReplyDone)[0]
    finally:
        emu.stop()
    # Barged in: stopped by the user, never INTERRUPTED (which history keeps for "Parley closed before it finished").
    assert interrupted.finish_reason is FinishReason.BARGED_IN
    assert "Stopped to listen." in [n.text for n in run.of(Notice)]
    assert [e.text for e in run.of(UserSaid)] == [WORDS, "Stop, tell me about Spain instead."]


def test_speech_starts_with_the_first_sentence_long_before_the_answer_is_complete(question):
    # 25 tokens/s: the ~150-token answer takes about 6 s to arrive.
    emu = emulator(token_rate=25)
    emu.hear(WORDS)
    try:
        with SpeakerTap() as speaker, SessionRun(emu) as run:
            say_into_mic(question).wait(10)
            run.wait(lambda: run.of(ReplyDone), 40, "no answer")
            run.cancel.cancel()  # enough: the rest of the answer need not be heard
    finally:
        emu.stop()
    first_delta = run.at(ReplyDelta)[0]
    last_delta = run.at(ReplyDelta)[-1]
    heard_at = speaker.first_sound_at(after=first_delta)
    assert heard_at is not None, "nothing reached the speaker"
    to_audio, answer = heard_at - first_delta, last_delta - first_delta
    print(
        f"first audio on the speaker {to_audio * 1000:.0f} ms after the first token; answer streamed for "
        f"{answer * 1000:.0f} ms; device {run.timing('first_tts_byte_to_device'):.0f} ms after the first TTS byte"
    )
    assert answer > 4.0, "the answer arrived too fast for this test to mean anything"
    assert to_audio < 1.5 and to_audio < answer / 3
    assert run.timing("answer_complete_before_first_audio") == 0.0
