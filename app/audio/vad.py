"""Energy voice-activity detection whose threshold follows the room's noise floor; decides when a turn starts and ends."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace
from enum import Enum


class VadState(Enum):
    SILENCE = "silence"
    SPEECH = "speech"


@dataclass(frozen=True)
class SpeechStarted:
    at: float  # seconds since the detector started


@dataclass(frozen=True)
class SpeechEnded:
    at: float
    duration: float  # seconds of the turn, from its start to the last voiced frame


@dataclass
class VadConfig:
    frame_ms: float = 30.0
    start_ms: float = 120.0  # voiced this long before a turn starts (ignores clicks) ...
    start_window_ms: float = 300.0  # ... within this window: syllables dip between their peaks
    end_silence_ms: float = 650.0  # silence that ends a turn (the issue asks 500-800 ms)
    margin_db: float = 12.0  # how far above the noise floor counts as voice (user-adjustable sensitivity)
    min_level_db: float = -55.0  # never treat anything quieter than this as voice, however quiet the room
    floor_window_s: float = 6.0  # the floor is a low percentile of the levels over this window
    floor_percentile: float = 10.0  # speech has pauses, so its 10th percentile is the room, not the voice


def rms_db(samples) -> float:
    """RMS level in dBFS of float samples in [-1, 1]."""
    import numpy as np

    if len(samples) == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20 * math.log10(rms) if rms > 1e-6 else -120.0


def _percentile(values: deque[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


class Vad:
    """Feed frames of float32 mono samples; get `SpeechStarted` / `SpeechEnded` events.

    The noise floor is the 10th percentile of the last few seconds of frame levels: a fan or a street is learned
    from the first frames, while speech (which always has pauses) never becomes 'noise'.
    """

    def __init__(self, samplerate: int, config: VadConfig | None = None):
        self.samplerate = samplerate
        self.config = config or VadConfig()
        self.state = VadState.SILENCE
        self.noise_floor_db = -120.0
        self._levels: deque[float] = deque(
            maxlen=max(1, int(self.config.floor_window_s * 1000 / self.config.frame_ms))
        )
        self.level_db = -120.0
        self._t = 0.0
        self._recent: deque[tuple[float, bool]] = deque()  # (frame start, voiced) over the start window
        self._silent_run = 0.0
        self._turn_start = 0.0
        self._last_voiced = 0.0
        self._pending: list = []

    @property
    def threshold_db(self) -> float:
        return max(self.noise_floor_db + self.config.margin_db, self.config.min_level_db)

    def feed(self, samples) -> list[SpeechStarted | SpeechEnded]:
        """Any length of samples; split internally into frames."""
        import numpy as np

        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if self._pending:
            samples = np.concatenate([*self._pending, samples])
            self._pending = []
        frame = max(1, int(self.samplerate * self.config.frame_ms / 1000))
        events: list[SpeechStarted | SpeechEnded] = []
        usable = len(samples) - len(samples) % frame
        for i in range(0, usable, frame):
            ev = self._frame(samples[i : i + frame], frame / self.samplerate)
            if ev is not None:
                events.append(ev)
        if usable < len(samples):
            self._pending.append(samples[usable:])
        return events

    def _frame(self, frame, seconds: float) -> SpeechStarted | SpeechEnded | None:
        cfg = self.config
        self._t += seconds
        level = rms_db(frame)
        self.level_db = level
        self._levels.append(level)
        self.noise_floor_db = _percentile(self._levels, cfg.floor_percentile)
        voiced = level >= self.threshold_db
        if self.state is VadState.SILENCE:
            # Voiced frames need not be consecutive: a floor learned from speech alone (the user talked the moment
            # listening began) sits at speech's quiet parts, so only its peaks clear the threshold.
            self._recent.append((self._t - seconds, voiced))
            while self._recent and self._recent[0][0] <= self._t - cfg.start_window_ms / 1000:
                self._recent.popleft()
            voiced_s = sum(seconds for _, v in self._recent if v)
            if voiced and voiced_s * 1000 >= cfg.start_ms - 1e-6:
                self.state = VadState.SPEECH
                self._turn_start = next(t for t, v in self._recent if v)
                self._recent.clear()
                self._silent_run = 0.0
                self._last_voiced = self._t
                return SpeechStarted(at=self._turn_start)
            return None
        # In speech: count silence until it is long enough to end the turn.
        if voiced:
            self._silent_run = 0.0
            self._last_voiced = self._t
            return None
        self._silent_run += seconds
        if self._silent_run * 1000 >= cfg.end_silence_ms:
            self.state = VadState.SILENCE
            return SpeechEnded(at=self._t, duration=self._last_voiced - self._turn_start)
        return None

    def reset(self) -> None:
        """Forget the current turn (e.g. after Parley spoke), keep the learned noise floor."""
        self.state = VadState.SILENCE
        self._recent.clear()
        self._silent_run = 0.0
        self._pending = []


class BargeIn:
    """Hears the user over Parley's own voice coming back through the microphone (no echo canceller needed).

    Feed the microphone's frames while Parley speaks. The echo's level is learned from what the mic hears once
    playback has started (the loudest frame of the last few seconds, leaving out the newest `fresh_s` so a user
    who starts talking is not learned as echo, and never a frame that beat it); a frame counts as the user only
    when it beats that by `margin_db`. Nothing counts in the first `grace_s` of playback, while the echo is still
    unknown.
    """

    def __init__(
        self,
        samplerate: int,
        config: VadConfig | None = None,
        *,
        margin_db: float = 10.0,
        grace_s: float = 0.5,
        window_s: float = 3.0,
        fresh_s: float = 0.3,
    ):
        self.samplerate = samplerate
        self.config = config or VadConfig()
        self.margin_db = margin_db
        self.grace_s, self.window_s, self.fresh_s = grace_s, window_s, fresh_s
        self._listen = Vad(samplerate, self.config)  # its floor and threshold still apply (a quiet room)
        self._history: deque[tuple[float, float]] = deque()  # (time, level) of frames heard during playback
        self._t = 0.0
        self._playing_since: float | None = None
        self._recent: deque[tuple[float, bool]] = deque()
        self._pending: list = []
        self.echo_db = -120.0
        self.onset_ago_s = (
            0.0  # when `feed` says True: seconds since the first voiced frame of the window began
        )

    @property
    def playing_for(self) -> float:
        """Seconds of playback heard so far."""
        return self._t - self._playing_since if self._playing_since is not None else 0.0

    def feed(self, samples, playing: bool) -> bool:
        """True when the user has spoken over the echo for `start_ms` (within the start window)."""
        import numpy as np

        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if self._pending:
            samples = np.concatenate([*self._pending, samples])
            self._pending = []
        frame = max(1, int(self.samplerate * self.config.frame_ms / 1000))
        usable = len(samples) - len(samples) % frame
        heard = False
        for i in range(0, usable, frame):
            heard = self._frame(samples[i : i + frame], frame / self.samplerate, playing) or heard
        if usable < len(samples):
            self._pending.append(samples[usable:])
        return heard

    def _frame(self, frame, seconds: float, playing: bool) -> bool:
        cfg = self.config
        self._listen.feed(frame)  # keeps the room's floor current
        level = self._listen.level_db
        self._t += seconds
        if playing and self._playing_since is None:
            self._playing_since = self._t
        if self._playing_since is None:
            return False
        while self._history and self._history[0][0] < self._t - self.window_s:
            self._history.popleft()
        learned = [lv for t, lv in self._history if t <= self._t - self.fresh_s]
        self.echo_db = max(learned, default=-120.0)
        if self._t - self._playing_since < self.grace_s:
            self._history.append((self._t, level))
            return False
        voiced = level >= max(self._listen.threshold_db, self.echo_db + self.margin_db)
        if not voiced:
            # A frame that beats the echo may be the user: it is never learned as echo. Learned, a user's first
            # syllable (and the echo a canceller lets through while they talk, at 0 dB) raised the bar past
            # anything they could say for the next 3 s: traced in the fresh-clone run, the user never heard.
            self._history.append((self._t, level))
        self._recent.append((self._t, voiced))
        while self._recent and self._recent[0][0] <= self._t - cfg.start_window_ms / 1000:
            self._recent.popleft()
        first = next((t for t, v in self._recent if v), self._t)
        self.onset_ago_s = self._t - first + seconds  # the frame stamps are their ends
        return voiced and sum(seconds for _, v in self._recent if v) * 1000 >= cfg.start_ms - 1e-6


ECHO_CONVERGE_S = 2.0  # WebRTC's canceller re-converges this long at the start of each answer (measured)


class CancelledBargeIn:
    """Barge-in on an echo-cancelled microphone. Once the canceller has converged on an answer, Parley's voice is
    gone from the cleaned signal: 10 ms frames and 90 ms of voice within 150 ms decide (a syllable; playback stops
    ~100 ms after the user's first word). Not less: on a loaded machine the canceller can lose the echo's alignment
    and let Parley's voice through for 60 ms (measured), which 60 ms of voice took for the user (CI's one failure).
    Until it converges its voice still comes through, so the raw signal decides as without a canceller: the user
    must beat the echo's learned level."""

    def __init__(self, samplerate: int, vad: VadConfig, margin_db: float):
        self.raw = BargeIn(samplerate, vad, margin_db=margin_db)
        quick = replace(vad, frame_ms=10.0, start_ms=90.0, start_window_ms=150.0)
        self.clean = BargeIn(samplerate, quick, margin_db=margin_db, grace_s=0.3)
        self.onset_ago_s = 0.0

    def feed_pair(self, raw, clean, playing: bool) -> bool:
        raw_hit = self.raw.feed(raw, playing)
        if self.raw.playing_for < ECHO_CONVERGE_S:
            self.onset_ago_s = self.raw.onset_ago_s
            return raw_hit
        # Converged: the cleaned signal's own detector starts now, so the echo that leaked before is not learned as
        # the level to beat; it decides once its grace has learned the residual.
        clean_hit = self.clean.feed(clean, playing)
        decider = self.clean if self.clean.playing_for >= self.clean.grace_s else self.raw
        self.onset_ago_s = decider.onset_ago_s
        return clean_hit if decider is self.clean else raw_hit
