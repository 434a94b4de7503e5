"""A live voice session on the devices: the microphone streams to one Realtime session (`app.core.realtime`) and its
answer audio plays as it arrives. Same shape and events as `session.VoiceSession`, so the tab can run either engine.

Runs as a generator on a worker (no Qt). The Realtime session's events are pumped on their own thread; this loop
multiplexes them with the microphone and the GUI's `Controls`. Both sides of each turn are stored through
`turns.TurnWriter`. Barge-in: when server VAD hears the user over Parley, playback stops here first, then
`response.cancel`, then `conversation.item.truncate` with the audio actually played. Every mic block goes through
the session's echo canceller (`live_echo`) first, so server VAD never hears Parley itself.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from app.audio.player import heard_by
from app.audio.wav import float_to_pcm16, resample
from app.core import errors
from app.core.cancel import CancelToken
from app.core.events import Done, Failed
from app.core.realtime import RealtimeSession
from app.core.realtime_events import (
    RATE,
    AnswerDelta,
    AudioDelta,
    Committed,
    Heard,
    LiveConfig,
    Rejected,
    ResponseDone,
    ResponseStarted,
    SessionStarted,
    SpeechStarted,
    SpeechStopped,
)
from app.core.turns import FinishReason, TurnWriter
from app.voice.events import (
    ConversationStarted,
    InputLevel,
    Notice,
    ReplyDelta,
    ReplyDone,
    StateChanged,
    Timing,
    UserSaid,
    VoiceFailed,
    VoiceState,
)
from app.voice.live_echo import EchoFactory, LiveEcho
from app.voice.session import Controls, VoiceConfig
from app.voice.threads import LevelWatch, NullPlayer, Pump, read_timed

ECHO_TAIL_S = 0.4  # without barge-in the mic stays muted this long after Parley's last sample (its echo)
HEARD_GRACE_S = (
    3.0  # input transcription runs beside the answer: wait this long for it before storing the turn
)
UNHEARD = "(spoken; no transcription deployment set)"


@dataclass
class LiveBackend:
    """What a live session talks to: a factory for the Realtime session, the devices, and where turns are stored."""

    session_factory: Callable[[LiveConfig, CancelToken], RealtimeSession]
    recorder_factory: Callable[[], Any]
    player_factory: Callable[[], Any]
    live: LiveConfig
    history: Any = None
    conversation_id: int | None = None  # set by the session when it stores its first turn, if it was None
    new_conversation: Callable[[], int] | None = None  # makes the conversation then (the id)
    echo_factory: EchoFactory | None = (
        None  # app.audio.echo.make_canceller; None: no echo cancellation wanted
    )


@dataclass
class _Turn:
    """One exchange as it is learned: the user's item, its transcript, and the answer (stored once both are in)."""

    item: str = ""
    heard: str | None = None
    seconds: float = 0.0
    answer: ResponseDone | None = None
    done_at: float = 0.0
    finish: FinishReason | None = None
    stored: bool = False
    said: str = ""  # the answer's transcript so far: kept if the session stops before the answer ends


@dataclass
class _Playback:
    """The answer being played: its item, how much was written, and the device."""

    player: Any
    response_id: str
    item_id: str = ""
    first_delta_at: float | None = None
    reported: bool = False
    written_ms: float = 0.0
    chunks: list[bytes] = field(default_factory=list)


class LiveVoiceSession:
    """A conversation at the microphone over the Realtime API. Call `run(cancel)` on a worker."""

    def __init__(
        self,
        backend: LiveBackend,
        config: VoiceConfig,
        controls: Controls,
        on_level: Callable[[InputLevel], Any] | None = None,
    ):
        self.backend = backend
        self.config = config
        self.controls = controls
        self.on_level = on_level
        self.state = VoiceState.IDLE
        self.recorder: Any = None
        self.rt: RealtimeSession | None = None
        self.send_ms: list[float] = []  # mic block read → handed to the WebSocket, per block (ms)
        self._turns: list[_Turn] = []
        self._playback: _Playback | None = None
        self._muted_until = 0.0
        self._speech_from_ms = 0
        self.echo = LiveEcho()  # made when the session runs: one canceller per session, it stays converged

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
        self.echo = LiveEcho.make(self.backend.echo_factory, self.config.vad, self.config.barge_in_margin_db)
        if self.echo.note and self.config.barge_in and self.config.hands_free:
            yield Notice(self.echo.note)  # once: why barge-in is off (the mic is muted while Parley speaks)
        watch = LevelWatch(recorder, self.on_level) if self.on_level else None
        if watch is not None:
            watch.start()
        rt = self.backend.session_factory(self.backend.live, cancel)
        self.rt = rt
        pump = Pump(lambda _tok: rt.run(), cancel, "parley-live-events")
        pump.start()
        try:
            yield from self._loop(recorder, rt, pump, cancel)
        finally:
            rt.close()
            self._stop_playback()
            if watch is not None:
                watch.stop()
            recorder.stop()
            self._stop_open_turns()
            # What is still waiting for its transcript is stored as it is (told after: no yield in a finally).
            late = [started for turn in self._turns if (started := self._store(turn)) is not None]
        yield from late
        yield self._set(VoiceState.IDLE)

    # -- the loop ---------------------------------------------------------------------------------------------------
    def _loop(self, recorder: Any, rt: RealtimeSession, pump: Pump, cancel: CancelToken) -> Iterator[Any]:
        hands_free = self.config.hands_free
        pressed = False
        started = False
        while not cancel.cancelled:
            # 1. the session's events
            while True:
                try:
                    ev = pump.items.get_nowait()
                except queue.Empty:
                    break
                if ev is None or isinstance(ev, Done):
                    return
                if isinstance(ev, Failed):
                    yield VoiceFailed(ev.problem)
                    return
                if isinstance(ev, SessionStarted):
                    started = True
                    yield self._set(VoiceState.LISTENING if hands_free else VoiceState.IDLE)
                    continue
                yield from self._on_event(ev, rt)
            # 2. the user's commands: push-to-talk, stop speaking (kept until the session is open: a press made
            # while it connects still counts)
            for cmd in self.controls.take() if started else ():
                if cmd == "press" and not hands_free and not pressed:
                    pressed = True
                    if self._playback is not None:
                        yield from self._interrupt(rt, FinishReason.CANCELLED)
                    rt.clear_input()
                    yield self._set(VoiceState.LISTENING)
                elif cmd == "release" and pressed:
                    pressed = False
                    rt.commit()
                    rt.respond()
                    yield self._set(VoiceState.THINKING)
                elif cmd == "stop_speaking" and self._playback is not None:
                    yield from self._interrupt(rt, FinishReason.CANCELLED)
            # 3. the microphone, echo cancelled (every block: the canceller follows the room even while muted),
            # streamed while listening (always, with barge-in on; held back while an answer is heard, until the
            # user speaks over it: see live_echo)
            item = read_timed(recorder, 0.005)  # short: answer audio waiting in the pump plays sooner
            read_at = time.perf_counter()
            blocks: list[Any] = []
            rate = recorder.samplerate
            if item is not None:
                clean = self.echo.clean(item[0], rate, item[1], self._playback is not None)
                blocks, onset_ago = self.echo.listen(
                    item[0], clean, rate, hands_free and self._barge_in_audible(item[1])
                )
                if onset_ago is not None:  # the user speaks over Parley
                    yield from self._barge_in(rt, time.monotonic() - onset_ago - recorder.latency)
            for block in blocks if started and (pressed or (hands_free and self._mic_open())) else ():
                pcm = float_to_pcm16(block if rate == RATE else resample(block, rate, RATE))
                if len(pcm) and rt.send_audio(pcm):
                    self.send_ms.append((time.perf_counter() - read_at) * 1000)
                    del self.send_ms[:-1000]
            # 4. playback that ended, and turns whose transcript never came
            self._finish_playback()
            yield from self._store_due()

    def _barge_in_audible(self, captured_at: float | None) -> bool:
        """An answer was being heard when this mic block was captured, and the user may speak over it."""
        pb = self._playback
        wanted = self.config.barge_in or self.controls.barge_in
        return wanted and pb is not None and heard_by(pb.player, captured_at)

    def _barge_in(self, rt: RealtimeSession, onset: float) -> Iterator[Any]:
        """Heard here over Parley's cancelled echo: playback stops first, then Azure is told (and hears the user
        from the held audio on); `onset` is when their voice reached the mic (monotonic)."""
        pb = self._playback
        yield from self._interrupt(rt, FinishReason.BARGED_IN)
        stopped = getattr(pb.player, "stopped_at", None) if pb is not None else None
        yield Timing("barge_in_voiced_to_playback_stopped", ((stopped or time.monotonic()) - onset) * 1000)
        yield Notice("Stopped to listen.")

    def _mic_open(self) -> bool:
        """Without barge-in (off, or no echo canceller could load), the mic is muted while Parley speaks and until
        its echo has died away."""
        if (self.config.barge_in or self.controls.barge_in) and not self.echo.deaf_while_speaking:
            return True
        if self._playback is not None:
            return False
        return time.monotonic() >= self._muted_until

    def _on_event(self, ev: Any, rt: RealtimeSession) -> Iterator[Any]:
        if isinstance(ev, SpeechStarted):
            self._speech_from_ms = ev.audio_start_ms
            if self._playback is not None:  # the user speaks over Parley: barge-in
                yield from self._interrupt(rt, FinishReason.BARGED_IN)
                yield Notice("Stopped to listen.")
            yield self._set(VoiceState.LISTENING)
        elif isinstance(ev, SpeechStopped):
            self._turn(ev.item_id).seconds = max(0, ev.audio_end_ms - self._speech_from_ms) / 1000
            yield Timing("mic_frame_to_ws_send", self.send_ms[-1] if self.send_ms else 0.0)
            yield self._set(VoiceState.THINKING)
        elif isinstance(ev, Committed):
            turn = self._turn(ev.item_id)
            if not self.backend.live.transcription:  # no words will come: the line says so, as history will
                yield UserSaid(UNHEARD, turn.seconds)
        elif isinstance(ev, Heard):
            turn = self._turn(ev.item_id)
            turn.heard = ev.text
            if ev.text:
                yield UserSaid(ev.text, turn.seconds)
        elif isinstance(ev, ResponseStarted):
            yield from self._start_playback(ev.response_id)
        elif isinstance(ev, AnswerDelta):
            open_turn = self._open_turn()
            if open_turn is not None:
                open_turn.said += ev.text
            yield ReplyDelta(ev.text)
        elif isinstance(ev, AudioDelta):
            yield from self._play(ev)
        elif isinstance(ev, ResponseDone):
            yield from self._answer_done(ev)
        elif isinstance(ev, Rejected):
            if ev.problem.code != "response_cancel_not_active":  # a cancel after the answer ended: harmless
                yield Notice(ev.problem.detail, ev.problem.title)

    # -- playback ---------------------------------------------------------------------------------------------------
    def _start_playback(self, response_id: str) -> Iterator[Any]:
        self._stop_playback()
        player = self.backend.player_factory()
        self.echo.attach(player)  # what it plays is the canceller's reference
        try:
            player.start()
        except errors.ParleyError as exc:
            yield VoiceFailed(exc.problem)
            player = NullPlayer()
        self._playback = _Playback(player, response_id)
        yield self._set(VoiceState.THINKING)

    def _play(self, ev: AudioDelta) -> Iterator[Any]:
        pb = self._playback
        if pb is None or pb.response_id != ev.response_id:
            return  # audio of an answer already stopped (barge-in): never played
        pb.item_id = pb.item_id or ev.item_id
        if pb.first_delta_at is None:
            pb.first_delta_at = ev.received_at
        pb.player.write(ev.pcm)
        pb.written_ms += ev.ms
        if not pb.reported and pb.player.first_audio_at is not None:
            pb.reported = True
            yield Timing(
                "first_audio_delta_to_device", max(0.0, pb.player.first_audio_at - pb.first_delta_at) * 1000
            )
        if self.state is not VoiceState.SPEAKING:
            yield self._set(VoiceState.SPEAKING)

    def played_ms(self) -> int:
        """How much of the current answer has reached the listener's ears (written to the device, minus what the
        device still holds)."""
        pb = self._playback
        if pb is None:
            return 0
        frames = getattr(pb.player, "frames_played", None)
        played = pb.written_ms if frames is None else frames / RATE * 1000
        return max(0, int(played - float(getattr(pb.player, "latency", 0.0)) * 1000))

    def _interrupt(self, rt: RealtimeSession, why: FinishReason) -> Iterator[Any]:
        """Stop the answer: silence here first, then tell Azure, then cut the item to what was heard."""
        pb = self._playback
        if pb is None:
            return
        heard_ms = self.played_ms()
        stopped_at = time.perf_counter()
        pb.player.stop()
        self._playback = None
        yield Timing("barge_in_to_playback_stopped", (time.perf_counter() - stopped_at) * 1000)
        rt.cancel_response()
        if pb.item_id:
            rt.truncate(pb.item_id, heard_ms)
        for turn in reversed(self._turns):
            if turn.answer is None:
                turn.finish = why
                break

    def _finish_playback(self) -> None:
        pb = self._playback
        if pb is not None and getattr(pb.player, "played_out", False):
            self._playback = None
            # Closed, not left open: an open stream goes on playing silence, and telling the echo canceller so,
            # beside the next answer's player (two references at once: it could not cancel either).
            pb.player.stop()
            self._muted_until = time.monotonic() + ECHO_TAIL_S + float(getattr(self.recorder, "latency", 0.0))

    def _stop_playback(self) -> None:
        pb, self._playback = self._playback, None
        if pb is not None:
            pb.player.stop()

    def _answer_done(self, ev: ResponseDone) -> Iterator[Any]:
        pb = self._playback
        if pb is not None and pb.response_id == ev.response_id:
            pb.player.finish()  # plays out what is buffered; _finish_playback notices when it has
        turn = self._open_turn()
        if turn is None:
            turn = _Turn(item="", heard=None)
            self._turns.append(turn)
        turn.answer, turn.done_at = ev, time.monotonic()
        finish = turn.finish or ev.finish_reason
        turn.finish = finish
        if ev.problem is not None:
            yield VoiceFailed(ev.problem)
        yield ReplyDone(ev.text, finish)
        yield from self._store_due()
        yield self._set(VoiceState.LISTENING if self.config.hands_free else VoiceState.IDLE)

    # -- storage ----------------------------------------------------------------------------------------------------
    def _open_turn(self) -> _Turn | None:
        return next((t for t in reversed(self._turns) if t.answer is None), None)

    def _stop_open_turns(self) -> None:
        """The session stops (Stop, Esc) while an answer is coming: the question and what was said of the answer
        are stored, as stopped, like a chained turn stopped midway."""
        for turn in self._turns:
            if turn.answer is None and (turn.said or turn.heard):
                turn.answer = ResponseDone("", "cancelled", FinishReason.CANCELLED, turn.said, None, 0)
                turn.finish = turn.finish or FinishReason.CANCELLED

    def _turn(self, item: str) -> _Turn:
        for turn in self._turns:
            if turn.item == item:
                return turn
        turn = _Turn(item=item)
        self._turns.append(turn)
        return turn

    def _store_due(self) -> Iterator[Any]:
        """Store finished turns in order, once the transcript is in (or could not be: none asked for, or late)."""
        now = time.monotonic()
        while self._turns:
            turn = self._turns[0]
            if turn.answer is None:
                return
            late = now - turn.done_at > HEARD_GRACE_S
            if turn.heard is None and self.backend.live.transcription and not late:
                return
            self._turns.pop(0)
            started = self._store(turn)
            if started is not None:
                yield started

    def _store(self, turn: _Turn) -> ConversationStarted | None:
        """Store both sides; the conversation is made with the first stored turn (a silent session leaves none),
        and then said, so the Chat sidebar lists it at once."""
        if turn.stored or turn.answer is None:
            return None
        turn.stored = True
        backend, started = self.backend, None
        if backend.conversation_id is None and backend.history is not None and backend.new_conversation:
            backend.conversation_id = backend.new_conversation()
            started = ConversationStarted(backend.conversation_id)
        writer = TurnWriter(self.backend.history, self.backend.conversation_id)
        writer.begin_user(turn.heard or UNHEARD)
        writer.begin_answer()
        answer = turn.answer
        writer.append(answer.text)
        writer.finish(turn.finish, problem=answer.problem, usage=answer.usage)
        return started


def live_backend_for(
    connection: Any,
    config: VoiceConfig,
    *,
    history: Any = None,
    conversation_id: int | None = None,
    new_conversation: Callable[[], int] | None = None,
    turn_detection: str | None = None,
    eagerness: str = "auto",
) -> LiveBackend:
    """The real backend: the profile's realtime deployment (and its transcription deployment for the user's words),
    the mic at 16 kHz (the echo canceller's own rate; the cleaned blocks are streamed at 24 kHz), the speaker at
    24 kHz. Push-to-talk (`config.hands_free` False) turns server VAD off whatever
    `turn_detection` (server_vad or semantic_vad, for hands-free) says."""
    from dataclasses import replace

    from app.audio.echo import APM_RATE, make_canceller
    from app.audio.player import Player
    from app.audio.recorder import Recorder
    from app.core.realtime_events import VOICES

    deployment = connection.deployment("realtime")
    transcription = connection.profile.deployments.transcription.strip() or None
    live = LiveConfig(
        deployment,
        voice=config.voice if config.voice in VOICES else "alloy",  # fable, onyx and nova are TTS-only
        turn_detection=(turn_detection or "server_vad") if config.hands_free else "none",
        eagerness=eagerness,
        transcription=transcription,
        language=config.language,
        response_timeout=connection.profile.timeout,
    )
    client = connection.realtime_client()
    ctx = replace(connection.context("realtime"), deployment=deployment)

    def session(live_config: LiveConfig, cancel: CancelToken) -> RealtimeSession:
        return RealtimeSession(client, live_config, cancel=cancel, ctx=ctx)

    return LiveBackend(
        session_factory=session,
        # 20 ms blocks at the APM's rate: two of its frames each, no resampling before it (a block-wise resample's
        # edges would be in the echo and not in the reference), and 20 ms of 24 kHz audio per append.
        recorder_factory=lambda: Recorder(config.input_device, APM_RATE, blocksize=APM_RATE // 50),
        player_factory=lambda: Player(config.output_device, RATE),
        live=live,
        history=history,
        conversation_id=conversation_id,
        new_conversation=new_conversation,
        echo_factory=make_canceller,
    )
