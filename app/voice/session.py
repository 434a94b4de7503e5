"""One hands-free or push-to-talk voice session: listen → transcribe → stream the answer → speak it sentence by sentence.

Runs as a generator on a worker thread (no Qt). The loop multiplexes three sources: microphone blocks, the chat
stream (pumped on its own thread) and the speaker (synthesis and playback on a third thread), so the mic keeps
being read while Parley thinks and speaks: its audio is thrown away (no self-echo) unless barge-in is on.
"""

from __future__ import annotations

import queue
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from app.audio.player import heard_by
from app.audio.vad import BargeIn, CancelledBargeIn, SpeechEnded, SpeechStarted, Vad, VadConfig, rms_db
from app.audio.wav import encode_wav, resample
from app.core import errors
from app.core.audio_families import TranscriptDelta
from app.core.cancel import CancelToken
from app.core.events import Delta, Done, Failed, FilterResult, Retrying, Started
from app.core.turns import FinishReason, TurnWriter
from app.voice.backend import TRANSCRIBE_RATE, Backend, backend_for  # noqa: F401 - the session's names
from app.voice.events import (
    ConversationStarted,
    InputLevel,
    Notice,
    ReplyDelta,
    ReplyDone,
    StateChanged,
    Timing,
    UserHearing,
    UserSaid,
    VoiceFailed,
    VoiceState,
)
from app.voice.speech_text import SentenceSplitter
from app.voice.threads import LevelWatch, NullPlayer, Pump, Speaker, drain_timed, read_timed

MIN_TURN_S = 0.3
SILENT_DB = -50.0  # a turn quieter than this overall is not sent to transcription
PREROLL_S = 0.6  # audio kept from before the VAD's decision, so a turn keeps its first syllable
ECHO_TAIL_S = (
    0.4  # after Parley's last sample has played, the mic stays deaf this long (plus its own latency)
)
DEAD_MIC_AFTER_S = 3.0  # hands-free: this long of digital silence from the mic gets a notice
DEAD_MIC_DB = -90.0  # quieter than any real microphone's own noise: muted, or not the device you think
VOICE_SYSTEM_PROMPT = (
    "You are Parley, a voice assistant. Answer in short, plain spoken sentences; avoid tables and long code."
)


@dataclass
class VoiceConfig:
    hands_free: bool = True
    barge_in: bool = (
        True  # listened for only where echo cancellation is active (or the player gives no reference)
    )
    input_device: int | str | None = None
    output_device: int | str | None = None
    input_name: str = "the default microphone"
    voice: str = "alloy"
    speed: float = 1.0
    vad: VadConfig = field(default_factory=VadConfig)
    barge_in_margin_db: float = 10.0  # speech over Parley's own voice must be this much louder to count
    system_prompt: str = VOICE_SYSTEM_PROMPT
    language: str | None = None
    instructions: str = ""  # a speaking style, sent to an instructable (gpt-4o-mini-tts) speech deployment


class Controls:
    """Commands from the GUI thread to the session: push-to-talk press/release, stop speaking. Thread-safe."""

    def __init__(self) -> None:
        self._q: queue.Queue[str] = queue.Queue()
        self.barge_in = False

    def press(self) -> None:
        self._q.put("press")

    def release(self) -> None:
        self._q.put("release")

    def stop_speaking(self) -> None:
        self._q.put("stop_speaking")

    def put_back(self, commands: list[str]) -> None:
        """Commands taken but meant for another part of the loop (push-to-talk presses while Parley answers)."""
        for command in commands:
            self._q.put(command)

    def take(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self._q.get_nowait())
            except queue.Empty:
                return out


def _concat(blocks: list) -> Any:
    import numpy as np

    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)


class VoiceSession:
    """Holds the conversation so far (for chat context) and runs turns. Call `run(cancel)` on a worker."""

    def __init__(
        self,
        backend: Backend,
        config: VoiceConfig,
        controls: Controls,
        on_level: Callable[[InputLevel], Any] | None = None,
    ):
        """`on_level` gets the microphone's level 20 times a second from a helper thread (the GUI passes a
        signal's emit)."""
        self.backend = backend
        self.config = config
        self.controls = controls
        self.on_level = on_level
        self.messages: list[tuple[str, str]] = []  # (role, text) for the chat context
        self.state = VoiceState.IDLE
        self.recorder: Any = None  # for tests and diagnostics: the GUI's meter gets `on_level` instead
        self.threshold_db: float | None = None  # the VAD's current threshold, sent along with the level
        self.echo: Any = (
            None  # app.audio.echo.EchoCanceller, when it loaded: one per session, it stays converged
        )
        self.echo_note: str | None = None  # why there is none
        self.players: list[
            Any
        ] = []  # each answer's player: for tests, how much was heard and when it stopped

    def _set(self, state: VoiceState) -> StateChanged:
        self.state = state
        return StateChanged(state)

    def run(self, cancel: CancelToken) -> Iterator[Any]:
        recorder = self.backend.recorder_factory()
        self.recorder = recorder
        try:
            recorder.start()
        except errors.ParleyError as exc:
            yield VoiceFailed(exc.problem)
            return
        if self.backend.echo_factory is not None:
            self.echo, self.echo_note = self.backend.echo_factory()
            if self.echo_note and self.config.barge_in and self.config.hands_free:
                yield Notice(self.echo_note)
        watch = LevelWatch(recorder, self.on_level, lambda: self.threshold_db) if self.on_level else None
        if watch is not None:
            watch.start()
        try:
            yield from self._listen_loop(recorder, cancel)
        finally:
            if watch is not None:
                watch.stop()
            recorder.stop()  # also when the worker closes this generator on cancel: no yield may follow then
        yield self._set(VoiceState.IDLE)

    # -- listening --------------------------------------------------------------------------------------
    def _listen_loop(self, recorder: Any, cancel: CancelToken) -> Iterator[Any]:
        cfg = self.config
        rate = recorder.samplerate
        vad = Vad(rate, cfg.vad)
        preroll = _Tail(PREROLL_S * rate)  # the turn keeps the syllables the VAD needed before deciding
        dead_mic = _DeadMic()
        turn: list | None = None
        pressed = False
        yield self._set(VoiceState.LISTENING if cfg.hands_free else VoiceState.IDLE)
        while not cancel.cancelled:
            ended = False
            for cmd in self.controls.take():
                if cmd == "press" and not cfg.hands_free and not pressed:
                    pressed, turn = True, preroll.blocks()
                    yield self._set(VoiceState.LISTENING)
                elif cmd == "release" and pressed:
                    pressed, ended = False, True
            block = recorder.read(0.03)
            if block is not None:
                if cfg.hands_free and dead_mic.feed(block, rate):
                    yield Notice(
                        self._no_speech_text("Nothing is sent to Azure until Parley hears you."),
                        "Is the microphone on?",
                    )
                if cfg.hands_free:
                    events = vad.feed(block)
                    self.threshold_db = vad.threshold_db
                    for ev in events:
                        if isinstance(ev, SpeechStarted) and turn is None:
                            turn = preroll.blocks()
                        elif isinstance(ev, SpeechEnded) and turn is not None:
                            ended = True
                if turn is not None and (cfg.hands_free or pressed):
                    turn.append(block)
                else:
                    preroll.add(block)
            if ended and turn is not None:
                decided_at = time.monotonic()
                audio = resample(
                    _concat(turn), rate, TRANSCRIBE_RATE
                )  # low-passed: a 48 kHz mic does not alias
                turn = None
                preroll.clear()
                barge = yield from self._turn(audio, decided_at, recorder, cancel)
                vad.reset()
                if barge:  # the user spoke over Parley: their words start the next turn ...
                    turn = barge
                    vad.feed(_concat(barge))  # ... already under way, so the VAD's silence will end it
                elif barge is None:
                    self._stay_deaf(
                        recorder, cancel
                    )  # what the mic heard while Parley spoke is never transcribed
                if not cancel.cancelled:
                    yield self._set(
                        VoiceState.LISTENING if cfg.hands_free or turn is not None else VoiceState.IDLE
                    )

    def _ensure_conversation(self) -> Iterator[Any]:
        """The conversation is made with its first stored turn: a silent session leaves no empty entry."""
        backend = self.backend
        if backend.conversation_id is None and backend.history is not None and backend.new_conversation:
            backend.conversation_id = backend.new_conversation()
            yield ConversationStarted(backend.conversation_id)

    def _no_speech_text(self, after: str) -> str:
        return f"No speech heard — check the microphone ({self.config.input_name}). {after}"

    def _stay_deaf(self, recorder: Any, cancel: CancelToken) -> None:
        """Drop the microphone's blocks until Parley's last words (the room's echo of them) have died away."""
        until = time.monotonic() + recorder.latency + ECHO_TAIL_S
        recorder.drain()
        while time.monotonic() < until and not cancel.cancelled:
            recorder.read(0.02)
        recorder.drain()

    # -- one turn ------------------------------------------------------------------------------------------
    def _turn(
        self, audio: Any, decided_at: float, recorder: Any, cancel: CancelToken
    ) -> Generator[Any, None, list[Any] | None]:
        """One heard turn: transcribe, then answer. Returns the audio of a barge-in (the start of the next turn), [] to
        listen again at once (the talk key is held), or None to wait until Parley's echo has died away."""
        seconds = len(audio) / TRANSCRIBE_RATE
        if seconds < MIN_TURN_S or rms_db(audio) < SILENT_DB:
            # Never sent: Whisper turns silence into "Thank you."
            yield Notice(self._no_speech_text("That recording was not sent."), "Is the microphone on?")
            return None
        yield self._set(VoiceState.TRANSCRIBING)
        wav = encode_wav(audio, TRANSCRIBE_RATE)
        text = ""
        try:
            events = self.backend.transcribe(wav, cancel)
        except errors.ParleyError as exc:
            yield VoiceFailed(exc.problem)
            return None
        yield Timing("vad_end_to_transcription_request", (time.monotonic() - decided_at) * 1000)
        heard = ""
        for ev in events:
            if isinstance(ev, Failed):
                yield VoiceFailed(ev.problem)
                return None
            if isinstance(ev, Retrying):
                yield ev
            elif isinstance(ev, TranscriptDelta):  # gpt-4o-transcribe streams: show the words as they come
                if not heard:
                    yield Timing("vad_end_to_first_word", (time.monotonic() - decided_at) * 1000)
                heard += ev.text
                yield UserHearing(heard)
            elif hasattr(ev, "text"):
                text = str(ev.text or "")
        if cancel.cancelled:
            return None
        if not (text or "").strip():
            yield Notice(
                "The transcription came back empty: no words were recognised. Try again a little closer to "
                "the microphone.",
                "No words recognised",
            )
            return None
        yield UserSaid(text.strip(), seconds)
        return (yield from self._answer(text.strip(), decided_at, recorder, cancel))

    def _answer(
        self, text: str, decided_at: float, recorder: Any, cancel: CancelToken
    ) -> Generator[Any, None, list[Any] | None]:
        yield from self._ensure_conversation()
        writer = TurnWriter(self.backend.history, self.backend.conversation_id)
        writer.begin_user(text)
        self.messages.append(("user", text))
        yield self._set(VoiceState.THINKING)

        player = self.backend.player_factory()
        self.players.append(player)
        # What the player plays is the echo canceller's reference: the mic's blocks come back without it.
        echo = self.echo if self.echo is not None and hasattr(player, "on_played") else None
        if echo is not None:
            player.on_played = echo.played
        try:
            player.start()  # now, not at the first sentence: opening a device can take a while
        except errors.ParleyError as exc:
            yield VoiceFailed(exc.problem)
            player, echo = NullPlayer(), None
        if echo is not None:
            recorder.drain()  # heard while transcribing: stale, and it would sit before the reference it echoes
        turn_cancel = CancelToken()
        cancel.on_cancel(turn_cancel.cancel)
        speaker = Speaker(self.backend, player, turn_cancel)
        speaker.start()
        messages = list(self.messages)
        chat_started = time.monotonic()
        pump = Pump(lambda tok: self.backend.chat(messages, tok), turn_cancel, "parley-voice-chat")
        pump.start()
        writer.begin_answer()
        splitter = SentenceSplitter()
        reply: list[str] = []
        finish: str | None = None
        failed: errors.Problem | None = None
        cfg = self.config
        barge_wanted = cfg.hands_free and (self.config.barge_in or self.controls.barge_in)
        # Barge-in only where Parley cannot hear itself: echo cancelled, or (fakes, tests) a player that gives no
        # reference, where the echo's level is learned instead. A canceller that failed to load: no barge-in.
        hands_free_barge = barge_wanted and (echo is not None or self.echo_note is None)
        barge: Any = (
            CancelledBargeIn(recorder.samplerate, cfg.vad, cfg.barge_in_margin_db)
            if echo is not None
            else BargeIn(recorder.samplerate, cfg.vad, margin_db=cfg.barge_in_margin_db)
        )
        heard = _Tail(PREROLL_S * recorder.samplerate)
        barge_audio: list | None = None
        reported_audio = False
        chat_open = True
        try:
            while not cancel.cancelled:
                # 1. the chat stream: show each piece, hand each finished sentence to the speaker
                while chat_open:
                    try:
                        ev = pump.items.get_nowait()
                    except queue.Empty:
                        break
                    if ev is None:
                        chat_open = False
                        yield Timing(
                            "chat_start_to_answer_complete", (time.monotonic() - chat_started) * 1000
                        )
                        for s in splitter.flush():
                            speaker.say(s)
                        speaker.close()
                        break
                    if isinstance(ev, Delta):
                        reply.append(ev.text)
                        writer.append(ev.text)  # stored at most once a second
                        yield ReplyDelta(ev.text)
                        for s in splitter.feed(ev.text):
                            speaker.say(s)
                    elif isinstance(ev, Done):
                        finish = ev.finish_reason
                    elif isinstance(ev, Failed):
                        failed = ev.problem
                    elif isinstance(ev, FilterResult | Retrying | Started):
                        yield ev
                # 2. the speaker
                while not speaker.problems.empty():
                    failed = failed or speaker.problems.get()
                if player.first_audio_at is not None and self.state is not VoiceState.SPEAKING:
                    yield self._set(VoiceState.SPEAKING)
                if (
                    not reported_audio
                    and player.first_audio_at is not None
                    and speaker.first_byte_at is not None
                ):
                    reported_audio = True
                    yield Timing(
                        "first_tts_byte_to_device",
                        max(0.0, player.first_audio_at - speaker.first_byte_at) * 1000,
                    )
                    yield Timing("speech_end_to_first_audio", (player.first_audio_at - decided_at) * 1000)
                    yield Timing("chat_start_to_first_audio", (player.first_audio_at - chat_started) * 1000)
                    yield Timing("answer_complete_before_first_audio", 0.0 if chat_open else 1.0)
                if not chat_open and speaker.finished.is_set() and (player.played_out or failed is not None):
                    break
                # 3. the user's commands: Esc-like stop, or push-to-talk pressed over Parley's voice
                commands = self.controls.take()
                if "stop_speaking" in commands or (not self.config.hands_free and "press" in commands):
                    self.controls.put_back([c for c in commands if c in ("press", "release")])
                    turn_cancel.cancel()
                    player.stop()
                    finish = finish or FinishReason.CANCELLED  # the user stopped it (Esc)
                    if "press" in commands:
                        barge_audio = []  # the user holds the talk key: listen at once, no echo to wait out
                    break
                self.controls.put_back(commands)
                # 4. the microphone: dropped (no self-echo), unless barge-in hears the user over Parley's voice
                item = read_timed(recorder, 0.02)
                if item is None or not hands_free_barge:
                    continue
                # Every block waiting, not one a pass: a backlog would put the mic behind the echo's reference.
                if _user_spoke(
                    [item, *drain_timed(recorder)], echo, barge, heard, player, recorder.samplerate
                ):
                    # When the detector's first voiced frame reached the mic (an unvoiced start, held back by the
                    # canceller as echo, is earlier: tests time from the true onset).
                    onset = time.monotonic() - barge.onset_ago_s - recorder.latency
                    barge_audio = heard.blocks()
                    turn_cancel.cancel()
                    player.stop()
                    finish = finish or FinishReason.BARGED_IN  # not INTERRUPTED: that means Parley crashed
                    stopped = getattr(player, "stopped_at", None) or time.monotonic()
                    yield Timing("barge_in_voiced_to_playback_stopped", (stopped - onset) * 1000)
                    yield Notice("Stopped to listen.")
                    break
        finally:
            turn_cancel.cancel()
            player.stop()
            if cancel.cancelled and finish is None:
                finish = FinishReason.CANCELLED
            writer.finish(finish, problem=failed)
            self.messages.append(("assistant", "".join(reply)))
        if failed is not None:
            yield VoiceFailed(failed)
        yield ReplyDone("".join(reply), FinishReason.parse(finish))
        return barge_audio


def _user_spoke(items: list, echo: Any, barge: Any, heard: _Tail, player: Any, rate: int) -> bool:
    """Feed the mic's (block, captured at) items, echo cancelled where there is a canceller, to the barge-in
    detector; True once the user speaks over Parley (`heard` then ends with the start of what they say)."""
    for block, captured_at in items:
        playing = heard_by(player, captured_at)  # the echo's level is learned from when it reaches the mic
        if echo is None:
            heard.add(block)
            if barge.feed(block, playing):
                return True
            continue
        clean = echo.process(block, rate, captured_at)
        heard.add(clean)
        if barge.feed_pair(block, clean, playing):
            return True
    return False


class _Tail:
    """The most recent blocks of audio, at most `samples` long."""

    def __init__(self, samples: float):
        self.limit = int(samples)
        self._blocks: deque = deque()
        self._count = 0

    def add(self, block: Any) -> None:
        self._blocks.append(block)
        self._count += len(block)
        while self._blocks and self._count - len(self._blocks[0]) >= self.limit:
            self._count -= len(self._blocks.popleft())

    def blocks(self) -> list:
        return list(self._blocks)

    def clear(self) -> None:
        self._blocks.clear()
        self._count = 0


class _DeadMic:
    """Says once when the microphone has sent nothing but digital silence for a while (muted, or the wrong one)."""

    def __init__(self, after_s: float = DEAD_MIC_AFTER_S, below_db: float = DEAD_MIC_DB):
        self.after_s, self.below_db = after_s, below_db
        self._quiet_s = 0.0
        self._told = False

    def feed(self, block: Any, rate: int) -> bool:
        if rms_db(block) >= self.below_db:
            self._quiet_s, self._told = 0.0, False
            return False
        self._quiet_s += len(block) / rate
        if self._quiet_s >= self.after_s and not self._told:
            self._told = True
            return True
        return False
