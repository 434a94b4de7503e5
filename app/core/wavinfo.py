"""Reading a WAV file's header (rate, channels, sample width, length) with the stdlib only, for core and audio."""

from __future__ import annotations

import io
import wave


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
