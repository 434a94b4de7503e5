"""WAV/PCM helpers: round trips, resampling that keeps a tone's pitch, loudness, the ICMT comment chunk."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest
import signals

from app.audio import wav


def _peak_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1.0 / rate)[int(np.argmax(spectrum))])


def test_float_round_trip_through_wav():
    samples = signals.tone(440, 0.5, 16000, amplitude=0.8)
    data = wav.encode_wav(samples, 16000)
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    back, rate = wav.decode_wav(data)
    assert rate == 16000 and back.dtype == np.float32 and len(back) == len(samples)
    assert np.max(np.abs(back - samples)) < 2 / 32768
    assert wav.wav_info(data) == (16000, 1, 2, 0.5)


def test_int16_and_stereo():
    ints = np.array([0, 1000, -1000, 32767, -32768], dtype=np.int16)
    back, _ = wav.decode_wav(wav.encode_wav(ints, 8000))
    assert np.allclose(back * 32768, ints)
    stereo = np.stack([np.full(100, 0.5, np.float32), np.full(100, -0.5, np.float32)], axis=1)
    data = wav.encode_wav(stereo, 44100)
    mono, _ = wav.decode_wav(data)
    assert np.allclose(mono, 0.0, atol=1e-4)
    both, _ = wav.decode_wav(data, mono=False)
    assert both.shape == (100, 2) and np.allclose(both[:, 0], 0.5, atol=1e-4)


def test_other_widths_decode():
    for width, scale in ((1, None), (3, None), (4, None)):
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(width)
            w.setframerate(8000)
            if width == 1:
                w.writeframes(bytes([128, 192, 64]))
            elif width == 3:
                w.writeframes((0x400000).to_bytes(3, "little") + (-0x400000 & 0xFFFFFF).to_bytes(3, "little"))
            else:
                w.writeframes(np.array([1 << 30, -(1 << 30)], dtype="<i4").tobytes())
        samples, rate = wav.decode_wav(buf.getvalue())
        assert rate == 8000
        assert samples[1 if width == 1 else 0] == pytest.approx(0.5, abs=1e-3), (width, scale)
    with pytest.raises(ValueError):
        wav.decode_wav(b"not a wav file at all")


def test_pcm16_bytes_round_trip():
    samples = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 2.0], dtype=np.float32)
    pcm = wav.float_to_pcm16(samples)
    assert len(pcm) == 12
    back = wav.pcm16_to_float(pcm + b"\x01")  # a trailing odd byte is ignored
    assert np.allclose(back[:5], samples[:5], atol=1 / 16384)
    assert back[5] == pytest.approx(32767 / 32768)  # clipped
    data = wav.pcm16_to_wav(pcm + b"\x00", 24000)
    assert wav.wav_info(data)[:3] == (24000, 1, 2)


def test_resample_48k_to_16k_keeps_440hz():
    tone = signals.tone(440, 1.0, 48000)
    down = wav.resample(tone, 48000, 16000)
    assert len(down) == 16000 and down.dtype == np.float32
    assert _peak_hz(down, 16000) == pytest.approx(440, abs=2)
    assert signals.rms(down) == pytest.approx(signals.rms(tone), rel=0.02)
    up = wav.resample(down, 16000, 24000)
    assert len(up) == 24000 and _peak_hz(up, 24000) == pytest.approx(440, abs=2)
    assert wav.resample(tone, 48000, 48000) is not tone


def test_resample_low_passes_before_downsampling():
    # 10 kHz is above 16 kHz's Nyquist: without a low-pass it would alias to 6 kHz at full strength.
    high = signals.tone(10000, 0.5, 48000)
    down = wav.resample(high, 48000, 16000)
    assert signals.dbfs(down) < signals.dbfs(high) - 30


def test_rms_and_dbfs():
    assert signals.rms(np.zeros(100)) == 0.0
    assert signals.dbfs(np.zeros(100)) == signals.SILENCE_DBFS
    assert signals.dbfs(np.zeros(0)) == signals.SILENCE_DBFS
    assert signals.dbfs(signals.tone(1000, 0.1, 16000, amplitude=1.0)) == pytest.approx(-3.01, abs=0.05)
    assert signals.dbfs(np.ones(10)) == pytest.approx(0.0)


def test_comment_chunk_keeps_the_file_readable():
    data = wav.with_comment(wav.encode_wav(signals.tone(300, 0.1, 16000), 16000), "hello there")
    assert b"LIST" in data and b"ICMThello there" not in data  # size field sits between id and text
    assert b"hello there\x00" in data
    samples, rate = wav.decode_wav(data)
    assert rate == 16000 and len(samples) == 1600
    assert int.from_bytes(data[4:8], "little") == len(data) - 8
