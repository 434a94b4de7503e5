"""Echo cancellation for the live engine: the chained engine's `app.audio.echo.EchoCanceller`, one per live session,
fed with what each answer's player plays, so the microphone streamed to Azure carries the user and not Parley.

Azure's server VAD hears whatever is streamed: without this, Parley's own voice from laptop speakers starts turns
and barges in on itself. While an answer is heard, the cleaned mic is held back and the chained engine's barge-in
detector (`CancelledBargeIn`) listens to it: what WebRTC's canceller leaves of Parley (most while it converges)
never reaches Azure, and once the user speaks over Parley playback stops here and the held audio, their first
syllables, goes out first. Where no canceller loads, the session keeps the mic muted while Parley speaks (no
barge-in) and says why once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.audio.vad import CancelledBargeIn, VadConfig

EchoFactory = Callable[
    [], tuple[Any, str | None]
]  # () -> (EchoCanceller or None, a note when it could not load)
HOLD_S = 0.6  # the cleaned mic held while Parley speaks: a barge-in sends it first, so Azure hears the onset


@dataclass
class LiveEcho:
    """The session's canceller (or why there is none). `canceller` None and `note` None: none was wanted (fakes,
    tests with no echo), and barge-in is left to Azure's server VAD as configured."""

    canceller: Any = None
    note: str | None = None
    vad: VadConfig = field(default_factory=VadConfig)
    margin_db: float = 10.0
    _referenced: bool = False  # the current answer's player tells the canceller what it plays
    _detector: CancelledBargeIn | None = None
    _held: deque = field(default_factory=deque)
    _held_samples: int = 0

    @classmethod
    def make(cls, factory: EchoFactory | None, vad: VadConfig, margin_db: float) -> LiveEcho:
        if factory is None:
            return cls(vad=vad, margin_db=margin_db)
        canceller, note = factory()
        return cls(canceller, note, vad, margin_db)

    @property
    def deaf_while_speaking(self) -> bool:
        """True where a canceller was wanted and could not load: Parley would hear itself, so no barge-in."""
        return self.canceller is None and self.note is not None

    def attach(self, player: Any) -> None:
        """What this player plays becomes the canceller's reference (from PortAudio's thread, with the time each
        block is heard)."""
        self._referenced = self.canceller is not None and hasattr(player, "on_played")
        if self._referenced:
            player.on_played = self.canceller.played

    def clean(self, block: Any, rate: int, captured_at: float | None, playing: bool) -> Any:
        """The mic's block (float32 at `rate`, captured at monotonic `captured_at`) without Parley's echo. While no
        answer plays, the reference is silence of the block's length: the APM gets one far frame per mic frame
        between answers too, so it stays converged for the next."""
        if self.canceller is None:
            return block
        if not playing:
            self.canceller.played(bytes(2 * len(block)), rate, captured_at)
        return self.canceller.process(block, rate, captured_at)

    def listen(self, raw: Any, clean: Any, rate: int, audible: bool) -> tuple[list[Any], float | None]:
        """What to stream of this mic block, and, when the user has just started speaking over Parley, how long
        ago their voice began (seconds; else None). `audible`: an answer is playing and barge-in is wanted."""
        if not (audible and self._referenced):
            self._detector = None
            self._held.clear()
            self._held_samples = 0
            return [clean], None
        if self._detector is None:  # a new answer: the residual echo's level is learned afresh
            self._detector = CancelledBargeIn(rate, self.vad, self.margin_db)
        self._held.append(clean)
        self._held_samples += len(clean)
        while self._held and self._held_samples - len(self._held[0]) >= HOLD_S * rate:
            self._held_samples -= len(self._held.popleft())
        if not self._detector.feed_pair(raw, clean, True):
            return [], None
        onset_ago = self._detector.onset_ago_s
        held = list(self._held)
        self._detector, self._held, self._held_samples = None, deque(), 0
        return held, onset_ago
