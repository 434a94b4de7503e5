"""Acoustic echo cancellation with WebRTC's audio processing (livekit's `AudioProcessingModule`): the microphone's
signal with Parley's own voice taken out, so barge-in hears the user and never Parley through the laptop's speakers.

livekit is imported lazily; where it cannot load, `make_canceller()` returns None with a note and voice works on,
deaf while Parley speaks (no barge-in).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # types only: numpy is imported inside the functions
    import numpy as np
    import numpy.typing as npt

log = logging.getLogger(__name__)

APM_RATE = 16000  # one of the rates WebRTC's APM runs at natively (8/16/32/48 kHz); speech needs no more
FRAME = APM_RATE // 100  # the APM takes exactly 10 ms per call
MAX_PENDING_S = (
    0.25  # played audio the mic's thread has not taken yet: past this it has stalled; drop the oldest
)
UNAVAILABLE_NOTE = (
    "Echo cancellation is not available ({reason}): Parley cannot hear you over its own voice, so barge-in is "
    "off. Use headphones, or install the 'livekit' package."
)


class EchoCanceller:
    """Feed it what is played (`played`, from the player's audio thread: it only queues) and what is recorded
    (`process`, on the session's thread): `process` returns the recorded block with the echo of the played audio
    removed, at the recorder's rate. Thread-safe; the APM itself is called on `process`'s thread only, so the
    far-end frames reach it in order, before the near-end frames they echo in."""

    def __init__(self, apm: Any, frame_type: Any, *, delay_ms: int = 60):
        self._apm = apm
        self._frame_type = frame_type
        self._lock = threading.Lock()
        self._far: deque[bytes] = deque()  # 10 ms int16 frames at APM_RATE, played, not yet given to the APM
        self._far_carry: Any = None  # played samples short of a whole frame
        self._near_carry: Any = None
        self._rates: dict[int, Any] = {}
        self.delay_ms = delay_ms
        apm.set_stream_delay_ms(delay_ms)
        self.frames_processed = 0
        self.far_frames = 0

    def set_delay(self, output_latency_s: float, input_latency_s: float) -> None:
        """The path from the player's callback to the mic's block: both devices' latencies (a hint: the APM's own
        delay estimator refines it)."""
        delay = int(round((output_latency_s + input_latency_s) * 1000))
        delay = max(0, min(500, delay))
        with self._lock:
            self.delay_ms = delay

    def played(self, pcm16: bytes, rate: int) -> None:
        """What went to the speaker, as it went (s16le mono at `rate`); called from PortAudio's output thread."""
        import numpy as np

        from app.audio.wav import resample

        x = np.frombuffer(pcm16[: len(pcm16) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
        if rate != APM_RATE:
            x = resample(x, rate, APM_RATE)
        with self._lock:
            if self._far_carry is not None and len(self._far_carry):
                x = np.concatenate([self._far_carry, x])
            whole = len(x) - len(x) % FRAME
            for i in range(0, whole, FRAME):
                self._far.append(_to_pcm16(x[i : i + FRAME]))
            self._far_carry = x[whole:]
            while len(self._far) > MAX_PENDING_S * 100:
                self._far.popleft()

    def process(self, block: npt.NDArray[np.float32], rate: int) -> npt.NDArray[np.float32]:
        """The mic's block (float32 mono at `rate`) without the echo, same rate, same length give or take the
        10 ms framing (samples short of a whole frame wait for the next block)."""
        import numpy as np

        from app.audio.wav import resample

        x = np.asarray(block, dtype=np.float32).reshape(-1)
        x16 = x if rate == APM_RATE else resample(x, rate, APM_RATE)
        if self._near_carry is not None and len(self._near_carry):
            x16 = np.concatenate([self._near_carry, x16])
        whole = len(x16) - len(x16) % FRAME
        out = []
        for i in range(0, whole, FRAME):
            # Everything played so far goes in before this mic frame: the APM buffers the far end and its delay
            # estimator finds where in it the echo sits (render always precedes its echo).
            with self._lock:
                far, self._far = list(self._far), deque()
                delay = self.delay_ms
            for pcm in far:
                self._apm.process_reverse_stream(self._frame(pcm))
                self.far_frames += 1
            self._apm.set_stream_delay_ms(delay)
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
