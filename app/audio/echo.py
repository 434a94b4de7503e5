"""Acoustic echo cancellation with WebRTC's audio processing (livekit's `AudioProcessingModule`): the microphone's
signal with Parley's own voice taken out, so barge-in hears the user and never Parley through the laptop's speakers.

livekit is imported lazily; where it cannot load, `make_canceller()` returns None with a note and voice works on,
deaf while Parley speaks (no barge-in).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # types only: numpy is imported inside the functions
    import numpy as np
    import numpy.typing as npt

log = logging.getLogger(__name__)

APM_RATE = 16000  # one of the rates WebRTC's APM runs at natively (8/16/32/48 kHz); speech needs no more
FRAME = APM_RATE // 100  # the APM takes exactly 10 ms per call
LEAD_MS = 20  # played frames reach the APM this far ahead of the mic frame captured as they were heard
MAX_PENDING_S = (
    1.0  # played audio the mic's thread has not taken yet: past this it has stalled; drop the oldest
)
UNAVAILABLE_NOTE = (
    "Echo cancellation is not available ({reason}): Parley cannot hear you over its own voice, so barge-in is "
    "off. Use headphones, or install the 'livekit' package."
)


class EchoCanceller:
    """Feed it what is played (`played`, from the player's audio thread: it only queues) and what is recorded
    (`process`, on the session's thread): `process` returns the recorded block with the echo of the played audio
    removed, at the recorder's rate. Thread-safe; the APM itself is called on `process`'s thread only.

    Played frames go to the APM when the mic frame captured at the moment they are heard is processed, so the
    delay the APM sees is the room's (speaker to mic) whatever each output stream buffers: it stays converged from
    one answer to the next, each answer playing through a new stream with its own latency."""

    def __init__(self, apm: Any, frame_type: Any):
        self._apm = apm
        self._frame_type = frame_type
        self._lock = threading.Lock()
        # 10 ms int16 frames at APM_RATE with the monotonic time each is heard; played, not yet given to the APM
        self._far: deque[tuple[bytes, float]] = deque()
        self._far_carry: Any = None  # played samples short of a whole frame
        self._near_carry: Any = None
        apm.set_stream_delay_ms(LEAD_MS)
        self.frames_processed = 0
        self.far_frames = 0

    def played(self, pcm16: bytes, rate: int, plays_at: float | None = None) -> None:
        """What went to the speaker (s16le mono at `rate`), heard at monotonic `plays_at` (now if None); called
        from PortAudio's output thread."""
        import numpy as np

        from app.audio.wav import resample

        at = time.monotonic() if plays_at is None else plays_at
        x = np.frombuffer(pcm16[: len(pcm16) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
        if rate != APM_RATE:
            x = resample(x, rate, APM_RATE)
        with self._lock:
            carry = self._far_carry
            if carry is not None and len(carry):
                x = np.concatenate([carry, x])
                at -= len(carry) / APM_RATE
            whole = len(x) - len(x) % FRAME
            for i in range(0, whole, FRAME):
                self._far.append((_to_pcm16(x[i : i + FRAME]), at + i / APM_RATE))
            self._far_carry = x[whole:]
            while len(self._far) > MAX_PENDING_S * 100:
                self._far.popleft()

    def process(
        self, block: npt.NDArray[np.float32], rate: int, captured_at: float | None = None
    ) -> npt.NDArray[np.float32]:
        """The mic's block (float32 mono at `rate`, its first sample captured at monotonic `captured_at`) without
        the echo, same rate, same length give or take the 10 ms framing (samples short of a frame wait)."""
        import numpy as np

        from app.audio.wav import resample

        x = np.asarray(block, dtype=np.float32).reshape(-1)
        x16 = x if rate == APM_RATE else resample(x, rate, APM_RATE)
        start = time.monotonic() if captured_at is None else captured_at
        if self._near_carry is not None and len(self._near_carry):
            start -= len(self._near_carry) / APM_RATE
            x16 = np.concatenate([self._near_carry, x16])
        whole = len(x16) - len(x16) % FRAME
        out = []
        for i in range(0, whole, FRAME):
            # What was heard up to this frame's capture (and LEAD_MS more) goes in first: render precedes its echo.
            until = start + i / APM_RATE + LEAD_MS / 1000
            with self._lock:
                far = []
                while self._far and (captured_at is None or self._far[0][1] <= until):
                    far.append(self._far.popleft()[0])
            for pcm in far:
                self._apm.process_reverse_stream(self._frame(pcm))
                self.far_frames += 1
            self._apm.set_stream_delay_ms(LEAD_MS)
            near = self._frame(_to_pcm16(x16[i : i + FRAME]))
            self._apm.process_stream(near)
            out.append(np.frombuffer(bytes(near.data.cast("B")), dtype="<i2").astype(np.float32) / 32768.0)
            self.frames_processed += 1
        self._near_carry = x16[whole:]
        cleaned = np.concatenate(out) if out else np.zeros(0, dtype=np.float32)
        return cleaned if rate == APM_RATE else resample(cleaned, APM_RATE, rate)

    def _frame(self, pcm: bytes) -> Any:
        return self._frame_type(bytearray(pcm), APM_RATE, 1, FRAME)


def _to_pcm16(x: Any) -> bytes:
    from app.audio.wav import float_to_pcm16

    return float_to_pcm16(x)


def load_apm() -> tuple[Any, Any]:
    """(AudioProcessingModule instance, AudioFrame class); raises ImportError/OSError/RuntimeError when livekit's
    native library cannot load here."""
    from livekit import rtc

    apm = rtc.AudioProcessingModule(echo_cancellation=True, noise_suppression=True, high_pass_filter=True)
    return apm, rtc.AudioFrame


def make_canceller() -> tuple[EchoCanceller | None, str | None]:
    """An echo canceller, or (None, a note saying why there is none and what that means)."""
    try:
        apm, frame_type = load_apm()
    except Exception as exc:  # noqa: BLE001 - a missing wheel, an old glibc, a native load error: all the same here
        log.warning("echo cancellation unavailable: %s", exc)
        return None, UNAVAILABLE_NOTE.format(reason=f"{type(exc).__name__}: {exc}"[:160])
    return EchoCanceller(apm, frame_type), None
