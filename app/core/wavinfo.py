"""Reading a WAV file's header (rate, channels, sample width, length) with the stdlib only, for core and audio, and
whether a PCM WAV is silent (numpy, imported when asked)."""

from __future__ import annotations

import io
import wave
from typing import Any


def wav_info(data: bytes) -> tuple[int, int, int, float]:
    """(rate, channels, sample width in bytes, seconds) of a WAV file; raises wave.Error or EOFError otherwise."""
    with wave.open(io.BytesIO(data), "rb") as w:
        rate, nch, width, n = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
    return rate, nch, width, (n / rate if rate else 0.0)


def wav_seconds(data: bytes) -> float | None:
    """How long a WAV file plays, or None when `data` is not a WAV the wave module can read."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    try:
        return wav_info(data)[3]
    except Exception:  # noqa: BLE001 - a WAV the wave module cannot read is still sent as it is
        return None


SILENT_DBFS = (
    -50.0
)  # the voice session's threshold: quieter than this, Whisper hears nothing and invents words
FRAME_S = 0.03


def loudest_dbfs(data: bytes) -> float | None:
    """The level (dBFS) of the loudest 30 ms of an integer PCM WAV (8-bit unsigned, 16-, 24- or 32-bit signed), or
    None when it is not one (other formats are not checked). numpy is imported here only."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            width = w.getsampwidth()
            if width not in (1, 2, 3, 4) or w.getcomptype() != "NONE":
                return None
            rate, channels = w.getframerate(), w.getnchannels()
            pcm = w.readframes(w.getnframes())
    except Exception:  # noqa: BLE001 - unreadable: leave it to Azure to say
        return None
    import math

    import numpy as np

    samples = _samples(pcm[: len(pcm) - len(pcm) % width], width)
    step = max(1, int(rate * FRAME_S) * max(1, channels))
    usable = len(samples) - len(samples) % step
    if usable == 0:
        peak = float(np.sqrt(np.mean(np.square(samples)))) if len(samples) else 0.0
    else:
        frames = samples[:usable].reshape(-1, step)
        peak = float(np.sqrt(np.mean(np.square(frames), axis=1)).max())
    return 20 * math.log10(peak) if peak > 1e-6 else -120.0


def _samples(pcm: bytes, width: int) -> Any:
    """Little-endian PCM of `width` bytes per sample as floats in [-1, 1) (8-bit WAV is unsigned, centred on 128)."""
    import numpy as np

    if width == 1:
        return (np.frombuffer(pcm, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    if width == 3:
        raw = np.frombuffer(pcm, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        return np.where(value >= 1 << 23, value - (1 << 24), value).astype(np.float64) / float(1 << 23)
    dtype = "<i2" if width == 2 else "<i4"
    return np.frombuffer(pcm, dtype=dtype).astype(np.float64) / float(1 << (8 * width - 1))


def is_silent(data: bytes) -> bool:
    """Whether `data` is a PCM WAV with no 30 ms louder than `SILENT_DBFS` (other files: False, not checked)."""
    level = loudest_dbfs(data)
    return level is not None and level < SILENT_DBFS
