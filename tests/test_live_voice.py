"""The live voice session (`app.voice.live`) without sound hardware: a scripted 24 kHz microphone in real time and
a player that plays at real-time speed, against the emulator's Realtime socket with the real openai client; what
the user sees, what went on the wire, and what history holds."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import numpy as np
import pytest

from app.core import profiles
from app.core.cancel import CancelToken
from app.core.connection import Connection
from app.core.history import History
from app.core.turns import FinishReason, MessageStatus
from app.emulator.realtime import client_events
from app.voice.events import Notice, ReplyDone, Timing, UserSaid, VoiceFailed, VoiceState
from app.voice.live import LiveVoiceSession, live_backend_for
from app.voice.session import Controls, VoiceConfig

RATE = 24000
BLOCK = 480  # 20 ms
WORDS = "What is the capital of France?"


def tone(seconds: float, amp: float) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    env = 0.6 + 0.4 * np.abs(np.sin(2 * np.pi * 4 * t))
    return (amp * env * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def room(seconds: float) -> np.ndarray:
    return (0.001 * np.random.default_rng(3).standard_normal(int(RATE * seconds))).astype(np.float32)


@dataclasses.dataclass
class _Level:
    rms_db: float = -120.0


class Mic:
    """20 ms blocks in real time: room noise, a question, room noise; with `talk_over`, the user speaks again once
    Parley's voice has played for 0.5 s."""

    samplerate = RATE
    latency = 0.0

    def __init__(self, players: list[Player], talk_over: bool):
        self.players, self.talk_over = players, talk_over
        self.level = _Level()
        self.frames = 0
        self._pending = self._blocks(np.concatenate([room(0.3), tone(1.0, 0.3), room(0.2)]))
        self._next = 0.0
        self.talked_over_at: float | None = None

    @staticmethod
    def _blocks(sig: np.ndarray) -> list[np.ndarray]:
        return [sig[i : i + BLOCK] for i in range(0, len(sig), BLOCK)]

    def start(self) -> None:
        self._next = time.monotonic()

    def stop(self) -> None: ...

    def read(self, timeout: float = 0.1) -> Any:
        wait = self._next - time.monotonic()
        if wait > timeout:
            time.sleep(timeout)
            return None
        time.sleep(max(0.0, wait))
        if not self._pending:
            first = self.players[0].first_audio_at if self.players else None
            if self.talk_over and self.talked_over_at is None and first and time.monotonic() - first > 0.5:
                self.talked_over_at = time.monotonic()
                self._pending = self._blocks(np.concatenate([tone(0.8, 0.4), room(0.2)]))
            else:
                self._pending = [room(BLOCK / RATE)]
        block = self._pending.pop(0)
        self._next += len(block) / RATE
        self.frames += len(block)
        return block

    def drain(self) -> list:
        return []


class Player:
    """Plays at real-time speed: `frames_played` grows with the clock from the first write, as a device's would."""

    latency = 0.0

    def __init__(self) -> None:
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


@pytest.fixture
def setup(emulator, tmp_path):
    emulator.token_rate = None  # answer audio paced as Azure sends it, so a barge-in lands mid-answer
    profile = profiles.demo_profile(emulator.endpoint)
    conn = Connection(profile, api_key="demo")
    history = History.open(tmp_path / "history.sqlite3")
    cid = history.create_conversation("Voice conversation").id
    yield emulator, conn, history, cid
    conn.close()


def run_session(conn, history, cid, *, barge_in: bool, until: Any, timeout: float = 20) -> tuple[list, Any]:
    players: list[Player] = []
    config = VoiceConfig(barge_in=barge_in)
    backend = live_backend_for(conn, config, history=history, conversation_id=cid)
    mic = Mic(players, talk_over=barge_in)

    def player() -> Player:
        players.append(Player())
        return players[-1]

    backend = dataclasses.replace(backend, recorder_factory=lambda: mic, player_factory=player)
    session = LiveVoiceSession(backend, config, Controls())
    cancel = CancelToken()
    events: list[Any] = []
    deadline = time.monotonic() + timeout

    def stop_when_done() -> None:
        while not until(events) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        cancel.cancel()

    threading.Thread(target=stop_when_done, daemon=True).start()
    events.extend(session.run(cancel))
    return events, (mic, players, session)


def test_a_spoken_question_is_heard_answered_aloud_and_stored(setup):
    emu, conn, history, cid = setup
    emu.hear(WORDS)
    events, (_mic, players, session) = run_session(
        conn, history, cid, barge_in=False, until=lambda ev: any(isinstance(e, ReplyDone) for e in ev)
    )
    assert not [e for e in events if isinstance(e, VoiceFailed)], events
    said = [e for e in events if isinstance(e, UserSaid)]
    assert said and said[0].text == WORDS and 0.8 < said[0].seconds < 2.0
    done = [e for e in events if isinstance(e, ReplyDone)][0]
    assert done.finish_reason is FinishReason.STOP and done.text.startswith(f"You asked: {WORDS}")
    states = [e.state for e in events if hasattr(e, "state")]
    assert VoiceState.SPEAKING in states and states[-1] is VoiceState.IDLE
    assert players and players[0].written > RATE  # the answer's audio went to the speaker
    timings = {e.name: e.ms for e in events if isinstance(e, Timing)}
    print(
        f"\nlive: mic frame -> WebSocket send {timings['mic_frame_to_ws_send']:.3f} ms, "
        f"first audio delta -> device {timings['first_audio_delta_to_device']:.3f} ms"
    )
    assert timings["mic_frame_to_ws_send"] < 20 and timings["first_audio_delta_to_device"] < 50

    stored = history.messages(cid)
    assert [(m.role, m.status) for m in stored] == [
        ("user", MessageStatus.COMPLETE),
        ("assistant", MessageStatus.COMPLETE),
    ]
    assert stored[0].text == WORDS and stored[1].text == done.text
    assert stored[1].usage is not None and stored[1].usage.total_tokens > 0
    # The session asked Azure for the user's words on the profile's transcription deployment.
    update = next(e for e in client_events(emu) if e["type"] == "session.update")["session"]
    assert update["audio"]["input"]["transcription"] == {"model": "gpt-4o-transcribe"}  # demo mode's


def test_speaking_over_parley_stops_playback_then_cancels_then_truncates_to_what_was_heard(setup):
    emu, conn, history, cid = setup
    emu.hear("len:300 tell me a long story", "Stop, tell me about Spain instead.")
    events, (mic, players, _session) = run_session(
        conn,
        history,
        cid,
        barge_in=True,
        until=lambda ev: len([e for e in ev if isinstance(e, ReplyDone)]) >= 2,
    )
    assert mic.talked_over_at is not None
    assert any(isinstance(e, Notice) and e.text == "Stopped to listen." for e in events)
    first = players[0]
    assert first.stopped_at is not None
    # Playback stopped within 150 ms of the user starting to speak (server VAD needs 40 ms of speech to decide).
    print(
        f"\nbarge-in: speech onset -> playback stopped {(first.stopped_at - mic.talked_over_at) * 1000:.0f} ms"
    )
    assert first.stopped_at - mic.talked_over_at < 0.15 + 0.2  # + the emulator's 20 ms frames and event hops

    sent = [e for e in client_events(emu) if e["type"] in ("response.cancel", "conversation.item.truncate")]
    assert [e["type"] for e in sent][:2] == ["response.cancel", "conversation.item.truncate"]
    played_ms = first.frames_played * 1000 // RATE
    assert abs(sent[1]["audio_end_ms"] - played_ms) <= 60  # what the user heard, not what was received
    assert sent[1]["audio_end_ms"] < first.written // 2 * 1000 // RATE

    replies = [e for e in events if isinstance(e, ReplyDone)]
    assert (
        replies[0].finish_reason is FinishReason.BARGED_IN and replies[1].finish_reason is FinishReason.STOP
    )
    stored = history.messages(cid)
    assert [m.role for m in stored] == ["user", "assistant", "user", "assistant"]
    assert stored[1].status is MessageStatus.STOPPED and stored[1].finish_reason is FinishReason.BARGED_IN
    assert stored[2].text == "Stop, tell me about Spain instead."
