"""The voice loop against real audio: espeak-ng's voice played into the private PulseAudio's virtual microphone,
the real sounddevice recorder and player, the emulator with the real openai client, the speaker sink recorded back.

Skips unless scripts/test.sh verified its PulseAudio (PARLEY_TEST_AUDIO=1); a failure under CI=true.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from audio_rig import SpeakerTap, require_audio, say_into_mic, spoken_wav

from app.audio.voice_loop import (
    Controls,
    Notice,
    ReplyDelta,
    ReplyDone,
    StateChanged,
    Timing,
    UserSaid,
    VoiceConfig,
    VoiceSession,
    VoiceState,
    backend_for,
)
from app.core import profiles
from app.core.cancel import CancelToken
from app.core.connection import Connection
from app.emulator import Emulator

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

    def __init__(self, emu: Emulator, **config: Any):
        self.connection = Connection(profiles.demo_profile(emu.endpoint), api_key="demo", source="demo")
        self.config = VoiceConfig(input_name="default", **{"speed": 3.0, **config})
        self.controls = Controls()
        self.session = VoiceSession(backend_for(self.connection, self.config), self.config, self.controls)
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
        self.wait(lambda: self.session.recorder is not None and self.session.recorder.frames > 8000, 10,
                  "the microphone never delivered audio")
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
        return [type(e).__name__ if not isinstance(e, StateChanged) else e.state.value for _, e in self.events]

    def timing(self, name: str) -> float:
        return next(e.ms for e in self.of(Timing) if e.name == name)

    def wait_turn_done(self, timeout: float = 40) -> None:
        """Until the answer has been spoken and Parley listens again."""
        self.wait(lambda: self.of(ReplyDone) and self.states()[-1] is VoiceState.LISTENING, timeout,
                  "no full turn")


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
    assert len(deltas) > 20 and "".join(d.text for d in deltas) == done[0].text and done[0].finish_reason == "stop"
    spoken = [r.json["input"] for r in emu.requests if r.path.endswith("/audio/speech")]
    assert len(spoken) >= 3, spoken
    assert all(r.json["response_format"] == "pcm" for r in emu.requests if r.path.endswith("/audio/speech"))
    assert not any(mark in s for s in spoken for mark in ("**", "```", "## ", "> ")), spoken

    # The speaker really played it, and the turn went round in order.
    assert speaker.loudest_rms() > 0.05, f"the speaker sink stayed near silent (RMS {speaker.loudest_rms():.4f})"
    assert run.states() == [VoiceState.LISTENING, VoiceState.TRANSCRIBING, VoiceState.THINKING,
                            VoiceState.SPEAKING, VoiceState.LISTENING, VoiceState.IDLE]
    assert run.of(Notice) == []
