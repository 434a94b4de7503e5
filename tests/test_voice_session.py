"""The voice session loop without sound hardware: a scripted microphone (synthetic speech in real time) and a
player that only notes what it was given, against the emulator with the real openai client; what is stored."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import numpy as np

from app.core import profiles
from app.core.cancel import CancelToken
from app.core.connection import Connection
from app.core.history import History
from app.core.turns import FinishReason, MessageStatus
from app.voice.events import InputLevel, Notice, ReplyDone, UserSaid, VoiceState
from app.voice.session import Controls, VoiceConfig, VoiceSession, backend_for
from app.voice.threads import LevelWatch

RATE = 16000
BLOCK = 480
WORDS = "What is the capital of France?"
INTERRUPTION = "Stop, tell me about Spain instead."


def tone(seconds: float, amp: float, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    env = 0.6 + 0.4 * np.abs(np.sin(2 * np.pi * 4 * t))  # a voiced, syllable-like signal
    sig = sum(np.sin(2 * np.pi * freq * k * t) / k for k in (1, 2, 3))
    return (amp * env * sig / 1.8).astype(np.float32)


def room(seconds: float) -> np.ndarray:
    return (0.001 * np.random.default_rng(7).standard_normal(int(RATE * seconds))).astype(np.float32)


def _blocks(signal: np.ndarray) -> list[np.ndarray]:
    return [signal[i : i + BLOCK] for i in range(0, len(signal), BLOCK)]


@dataclasses.dataclass
class _Level:
    rms_db: float = -120.0
    peak: float = 0.0


class ScriptedMic:
    """A microphone delivering 30 ms blocks in real time: a spoken question, then room noise; once Parley's voice
    has played for `talk_over_after` seconds, the user speaks over it (if `talk_over`)."""

    samplerate = RATE
    latency = 0.0

    def __init__(self, player: FakePlayer, talk_over: bool):
        self.player, self.talk_over = player, talk_over
        self.level = _Level()
        self.frames = 0
        self._pending = _blocks(np.concatenate([room(0.5), tone(1.2, 0.3), room(1.0)]))
        self._next_at = 0.0
        self._talked_over = False

    def start(self) -> None:
        self._next_at = time.monotonic()

    def stop(self) -> None: ...

    def _block(self) -> np.ndarray:
        if not self._pending:
            heard_parley = (
                self.player.first_audio_at is not None and time.monotonic() - self.player.first_audio_at
            )
            if self.talk_over and not self._talked_over and heard_parley and heard_parley > 0.5:
                self._talked_over = True
                self._pending = _blocks(np.concatenate([tone(1.5, 0.5), room(1.0)]))
            else:
                self._pending = [room(BLOCK / RATE)]
        return self._pending.pop(0)

    def read(self, timeout: float = 0.1) -> Any:
        wait = self._next_at - time.monotonic()
        if wait > timeout:
            time.sleep(timeout)
            return None
        time.sleep(max(0.0, wait))
        block = self._block()
        self._next_at += len(block) / RATE
        self.frames += len(block)
        rms = float(np.sqrt(np.mean(block * block)))
        self.level.rms_db = 20 * np.log10(rms) if rms > 1e-6 else -120.0
        return block

    def drain(self) -> list:
        return []


class FakePlayer:
    """Plays instantly: notes when audio first arrived and what was written."""

    latency = 0.0

    def __init__(self) -> None:
        self.first_audio_at: float | None = None
        self.emptied_at: float | None = None
        self.written = 0
        self.stopped = False

    def start(self) -> None: ...

    def write(self, pcm: bytes) -> None:
        if self.first_audio_at is None:
            self.first_audio_at = time.monotonic()
        self.written += len(pcm)

    def finish(self) -> None:
        self.emptied_at = time.monotonic()

    def stop(self) -> None:
        self.stopped = True

    @property
    def drained(self) -> bool:
        return self.emptied_at is not None

    @property
    def played_out(self) -> bool:
        return self.emptied_at is not None


class Run:
    """A VoiceSession on its own thread, storing into a fresh voice conversation, as the voice tab runs it."""

    def __init__(self, emulator: Any, *, talk_over: bool, **config: Any):
        self.connection = Connection(profiles.demo_profile(emulator.endpoint), api_key="demo", source="demo")
        self.history = History.open()
        self.conversation_id = self.history.create_conversation(title="Voice conversation").id
        self.player = FakePlayer()
        self.mic = ScriptedMic(self.player, talk_over)
        cfg = VoiceConfig(input_name="scripted", speed=3.0, **config)
        backend = backend_for(
            self.connection, cfg, history=self.history, conversation_id=self.conversation_id
        )
        backend = dataclasses.replace(
            backend, recorder_factory=lambda: self.mic, player_factory=lambda: self.player
        )
        self.levels: list[InputLevel] = []
        self.session = VoiceSession(backend, cfg, Controls(), on_level=self.levels.append)
        self.cancel = CancelToken()
        self.events: list[Any] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            for event in self.session.run(self.cancel):
                self.events.append(event)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def of(self, kind: type) -> list:
        return [e for e in list(self.events) if isinstance(e, kind)]

    def wait(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.error is not None:
                raise self.error
            assert time.monotonic() < deadline, (
                f"{what} within {timeout} s: {[type(e).__name__ for e in self.events]}"
            )
            time.sleep(0.02)

    def __enter__(self) -> Run:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel.cancel()
        self.thread.join(10)
        self.connection.close()
        assert not self.thread.is_alive(), "the voice session did not stop on cancel"
        if self.error is not None and exc[0] is None:
            raise self.error


def test_a_barged_in_voice_answer_reopens_as_stopped_not_as_a_crash(emulator):
    emulator.token_rate = 20  # the answer is still arriving when the user talks over it
    emulator.hear(WORDS, INTERRUPTION)
    with Run(emulator, talk_over=True, barge_in=True) as run:
        run.wait(lambda: len(run.of(UserSaid)) == 2, 30, "the user talking over Parley was not heard")
        run.wait(
            lambda: run.session.state is VoiceState.THINKING or len(run.of(ReplyDone)) >= 1, 5, "no reply"
        )
    assert "Stopped to listen." in [n.text for n in run.of(Notice)]
    assert [e.text for e in run.of(UserSaid)] == [WORDS, INTERRUPTION]

    messages = run.history.messages(run.conversation_id)
    assert [m.role for m in messages][:3] == ["user", "assistant", "user"]
    barged = messages[1]
    assert barged.text and barged.status is MessageStatus.STOPPED
    assert not barged.interrupted, "a barge-in reads as 'Parley closed before it finished'"
    assert (
        barged.finish_reason is FinishReason.BARGED_IN
        and run.of(ReplyDone)[0].finish_reason is FinishReason.BARGED_IN
    )
    markdown = run.history.export_markdown(run.conversation_id)
    assert "Interrupted: Parley closed" not in markdown and "Stopped before the answer finished." in markdown


def test_a_voice_answer_heard_to_the_end_is_stored_complete(emulator):
    emulator.hear(WORDS)
    with Run(emulator, talk_over=False) as run:
        run.wait(lambda: run.of(ReplyDone), 30, "no answer")
        run.wait(lambda: run.session.state is VoiceState.LISTENING, 10, "not listening again")
    messages = run.history.messages(run.conversation_id)
    assert [(m.role, m.status) for m in messages] == [("user", "complete"), ("assistant", "complete")]
    assert messages[0].text == WORDS and messages[1].text == run.of(ReplyDone)[0].text
    assert run.player.written > 0, "nothing was spoken"
    # The meter's levels came all along, from the level thread, and stopped with the session.
    levels = list(run.levels)
    assert len(levels) > 20 and max(lv.rms_db for lv in levels) > -30 and levels[-1].frames > levels[0].frames
    assert any(lv.threshold_db is not None for lv in levels)
    time.sleep(0.2)
    assert len(run.levels) == len(levels), "levels kept coming after the session ended"


def test_the_meter_moves_with_levels_from_a_recording_thread(qtbot, services):
    from app.ui.voice.devices import DevicePanel

    panel = DevicePanel(services)
    qtbot.addWidget(panel)
    mic = ScriptedMic(FakePlayer(), talk_over=False)
    mic.start()
    reader = threading.Thread(target=lambda: [mic.read(0.1) for _ in range(60)], daemon=True)
    watch = LevelWatch(mic, panel.level.emit)  # the session's and the mic test's way to the meter
    reader.start()
    watch.start()
    try:
        qtbot.waitUntil(lambda: panel.meter.level_db > -30, timeout=5000)  # the spoken question
        assert panel.last_level is not None and panel.last_level.frames > 0
    finally:
        watch.stop()
        reader.join(5)


def test_a_speaker_heard_late_is_not_taken_for_the_user_speaking_over_parley():
    # A Bluetooth headset is heard ~0.45 s after the first block went to it, and the laptop's mic hears Parley
    # from then. Barge-in (here without a canceller: as the first 2 s with one) learns the echo's level from when it
    # is heard; learning from the hand-over, it learned silence and stopped Parley at the echo's arrival.
    from app.audio.vad import BargeIn, VadConfig
    from app.voice.session import _Tail, _user_spoke

    handed_at = 1000.0
    player = dataclasses.make_dataclass("LatePlayer", ["first_audio_at", "first_heard_at"])(
        handed_at, handed_at + 0.45
    )
    mic = _blocks(np.concatenate([room(0.45), tone(3.0, 0.5)]))  # silence, then Parley's voice, loud
    barge = BargeIn(RATE, VadConfig())
    tail = _Tail(RATE)
    spoke = [
        _user_spoke([(block, handed_at + i * BLOCK / RATE)], None, barge, tail, player, RATE)
        for i, block in enumerate(mic)
    ]
    assert not any(spoke), f"Parley's echo taken for the user at {spoke.index(True) * BLOCK / RATE:.2f} s"
    # The same detector still hears a user who speaks over that echo, louder.
    later = handed_at + len(mic) * BLOCK / RATE
    user = _blocks(tone(0.6, 1.8, 330.0))  # 11 dB over the echo
    assert any(
        _user_spoke([(b, later + i * BLOCK / RATE)], None, barge, tail, player, RATE)
        for i, b in enumerate(user)
    )
