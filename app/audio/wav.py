"""WAV and PCM helpers without Qt or scipy: encode/decode WAV, s16le <-> float32, resampling.

numpy is imported inside the functions so importing this module costs nothing at startup.
"""

from __future__ import annotations

import io
import math
import wave
from typing import TYPE_CHECKING

from app.core.wavinfo import pcm_samples
from app.core.wavinfo import wav_info as wav_info  # core reads WAV headers too, and cannot import audio

if TYPE_CHECKING:  # types only: numpy is imported inside the functions
    import numpy as np
    import numpy.typing as npt


def pcm16_to_float(data: bytes) -> npt.NDArray[np.float32]:
    """Little-endian signed 16-bit PCM bytes -> float32 samples in [-1, 1). A trailing odd byte is ignored."""
    import numpy as np

    usable = len(data) - (len(data) % 2)
    return np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm16(samples: npt.ArrayLike) -> bytes:
    """float samples in [-1, 1] (clipped) or int16 samples -> little-endian signed 16-bit PCM bytes."""
    import numpy as np

    arr = np.asarray(samples)
    if arr.dtype == np.int16:
        return arr.astype("<i2").tobytes()
    scaled = np.clip(arr.astype(np.float64), -1.0, 1.0) * 32767.0
    return np.round(scaled).astype("<i2").tobytes()


def encode_wav(samples: npt.ArrayLike, rate: int, *, channels: int | None = None) -> bytes:
    """A 16-bit PCM WAV file from float32 ([-1, 1]) or int16 samples; shape (n,) mono or (n, channels)."""
    import numpy as np

    arr = np.asarray(samples)
    if arr.ndim == 1:
        nch = 1
    elif arr.ndim == 2:
        nch = arr.shape[1]
    else:
        raise ValueError(f"samples must be 1-D or 2-D, not {arr.ndim}-D")
    if channels is not None and channels != nch:
        raise ValueError(f"samples have {nch} channel(s), not {channels}")
    return pcm16_to_wav(float_to_pcm16(arr.reshape(-1)), rate, channels=nch)


def pcm16_to_wav(pcm: bytes, rate: int, *, channels: int = 1) -> bytes:
    """Wrap raw s16le PCM bytes (e.g. Azure speech's `pcm` format, 24 kHz mono) in a WAV header."""
    if rate <= 0:
        raise ValueError("sample rate must be positive")
    frame = 2 * channels
    pcm = pcm[: len(pcm) - (len(pcm) % frame)]
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(pcm)
    return buf.getvalue()


def decode_wav(data: bytes, *, mono: bool = True) -> tuple[npt.NDArray[np.float32], int]:
    """WAV bytes (8/16/24/32-bit integer PCM, 32/64-bit float) -> (float32 samples, rate). Multi-channel is averaged
    when `mono`, else returned as shape (n, channels). Raises ValueError for a file that is not such a WAV."""
    import numpy as np

    read = pcm_samples(data)
    if read is None:
        raise ValueError("not a PCM or float WAV file")
    samples, rate = read
    if mono:
        return samples.mean(axis=1).astype(np.float32), rate
    return samples.astype(np.float32), rate


def resample(samples: npt.ArrayLike, rate: int, target: int) -> npt.NDArray[np.float32]:
    """Resample mono float samples from `rate` to `target` Hz.

    Downsampling low-pass filters first (a windowed-sinc FIR at 0.45 x the target rate) so a 48 kHz microphone
    does not alias into 16 kHz speech; then linear interpolation onto the new time grid.
    """
    import numpy as np

    x = np.asarray(samples, dtype=np.float32)
    if rate == target or len(x) == 0:
        return x.copy()
    if rate <= 0 or target <= 0:
        raise ValueError("sample rates must be positive")
    if target < rate:
        cutoff = 0.45 * target / rate  # cycles per input sample
        taps = _lowpass(cutoff, int(min(255, max(31, 8 * math.ceil(rate / target) + 1))) | 1)
        x = np.convolve(x, taps, mode="same").astype(np.float32)
    n_out = int(round(len(x) * target / rate))
    t_out = np.arange(n_out, dtype=np.float64) * (rate / target)
    return np.interp(t_out, np.arange(len(x), dtype=np.float64), x).astype(np.float32)


def _lowpass(cutoff: float, ntaps: int) -> npt.NDArray[np.float32]:
    import numpy as np

    n = np.arange(ntaps) - (ntaps - 1) / 2
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.blackman(ntaps)
    return (h / h.sum()).astype(np.float32)


def with_comment(wav: bytes, comment: str) -> bytes:
    """The WAV with a RIFF `LIST/INFO` chunk holding `ICMT` = comment appended (the emulator transcribes it)."""
    text = comment.encode("utf-8") + b"\x00"
    if len(text) % 2:
        text += b"\x00"
    icmt = b"ICMT" + len(text).to_bytes(4, "little") + text
    info = b"INFO" + icmt
    chunk = b"LIST" + len(info).to_bytes(4, "little") + info
    if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise ValueError("not a RIFF WAVE file")
    body = wav[12:] + chunk
    return b"RIFF" + (4 + len(body)).to_bytes(4, "little") + b"WAVE" + body
