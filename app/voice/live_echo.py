"""Echo cancellation for the live engine: the chained engine's `app.audio.echo.EchoCanceller`, one per live session,
fed with what each answer's player plays, so the microphone streamed to Azure carries the user and not Parley.

Azure's server VAD hears whatever is streamed: without this, Parley's own voice from laptop speakers starts turns
and barges in on itself. Where no canceller loads, the session keeps the mic muted while Parley speaks (no
barge-in) and says why once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

EchoFactory = Callable[
    [], tuple[Any, str | None]
]  # () -> (EchoCanceller or None, a note when it could not load)


@dataclass
class LiveEcho:
    """The session's canceller (or why there is none). `canceller` None and `note` None: none was wanted (fakes,
    tests with no echo), and barge-in listens as configured."""

    canceller: Any = None
    note: str | None = None

    @classmethod
    def make(cls, factory: EchoFactory | None) -> LiveEcho:
        if factory is None:
            return cls()
        canceller, note = factory()
        return cls(canceller, note)

    @property
    def deaf_while_speaking(self) -> bool:
        """True where a canceller was wanted and could not load: Parley would hear itself, so no barge-in."""
        return self.canceller is None and self.note is not None

    def attach(self, player: Any) -> None:
        """What this player plays becomes the canceller's reference (from PortAudio's thread, with the time each
        block is heard)."""
        if self.canceller is not None and hasattr(player, "on_played"):
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
