"""Reading a WAV file's header (rate, channels, sample width, length) with the stdlib only, for core and audio, and
its samples and whether it is silent (integer PCM or float, read from its chunks; numpy, imported when asked)."""

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
    """The level (dBFS) of the loudest 30 ms of a WAV (integer PCM: 8-bit unsigned, 16-, 24- or 32-bit signed;
    32- or 64-bit float, as Audacity and most editors export), or None when it is not one (other formats are not
    checked). numpy is imported here only."""
    read = pcm_samples(data)
    if read is None:
        return None
    import math

    import numpy as np

    samples, rate = read
    channels = samples.shape[1] if samples.ndim == 2 else 1
    samples = samples.reshape(-1)
    step = max(1, int(rate * FRAME_S) * max(1, channels))
    usable = len(samples) - len(samples) % step
    if usable == 0:
        peak = float(np.sqrt(np.mean(np.square(samples)))) if len(samples) else 0.0
    else:
        frames = samples[:usable].reshape(-1, step)
        peak = float(np.sqrt(np.mean(np.square(frames), axis=1)).max())
    return 20 * math.log10(peak) if peak > 1e-6 else -120.0


PCM, FLOAT, EXTENSIBLE = 1, 3, 0xFFFE  # a WAV's format tags


def _chunks(data: bytes) -> tuple[tuple[int, int, int, int] | None, bytes | None]:
    """The fmt chunk's (format tag, channels, rate, bits per sample) and the data chunk of a RIFF WAVE file."""
    import struct

    fmt, frames, pos = None, None, 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        if cid == b"fmt " and len(body) >= 16:
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == EXTENSIBLE and len(body) >= 26:  # the real tag leads the sub-format GUID
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, channels, rate, bits)
        elif cid == b"data":
            frames = body
        pos += 8 + size + (size & 1)
    return fmt, frames


def pcm_samples(data: bytes) -> tuple[Any, int] | None:
    """A WAV's samples as float64 in [-1, 1], shape (frames, channels), and its rate; None when `data` is not a
    WAV of integer PCM (8, 16, 24, 32 bits) or float (32, 64 bits). Read from its chunks: the wave module refuses
    float WAVs."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    try:
        fmt, frames = _chunks(data)
    except Exception:  # noqa: BLE001 - unreadable: leave it to Azure to say
        return None
    if fmt is None or frames is None:
        return None
    tag, channels, rate, bits = fmt
    width = bits // 8
    if (
        not rate
        or bits % 8
        or not ((tag == PCM and width in (1, 2, 3, 4)) or (tag == FLOAT and width in (4, 8)))
    ):
        return None
    frames = frames[: len(frames) - len(frames) % (width * max(1, channels))]
    if tag == FLOAT:
        import numpy as np

        samples = np.frombuffer(frames, dtype="<f4" if width == 4 else "<f8").astype(np.float64)
        samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0)
    else:
        samples = _samples(frames, width)
    return samples.reshape(-1, max(1, channels)), rate


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
    """Whether `data` is a PCM or float WAV with no 30 ms louder than `SILENT_DBFS` (other files: False, not checked)."""
    level = loudest_dbfs(data)
    return level is not None and level < SILENT_DBFS
