"""Test signals and their loudness: a sine tone, RMS and dBFS of float samples (numpy; only tests need them)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

SILENCE_DBFS = -120.0  # what `dbfs` answers for digital silence (log of zero)


def rms(samples: npt.ArrayLike) -> float:
    """Root mean square of float samples (0.0 for none)."""
    x = np.asarray(samples, dtype=np.float64)
    if x.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(x * x)))


def dbfs(samples: npt.ArrayLike) -> float:
    """Loudness in dB relative to full scale (a full-scale sine is about -3 dBFS); SILENCE_DBFS for silence."""
    value = rms(samples)
    if value <= 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 20.0 * math.log10(value))


def tone(freq: float, seconds: float, rate: int, amplitude: float = 0.5) -> npt.NDArray[np.float32]:
    """A sine test tone (float32)."""
    t = np.arange(int(round(seconds * rate)), dtype=np.float64) / rate
    return (amplitude * np.sin(2 * math.pi * freq * t)).astype(np.float32)
