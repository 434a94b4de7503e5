"""app.core.wavinfo: a WAV's header read without numpy or audio, and None for what is not a readable WAV."""

from __future__ import annotations

import io
import wave

from app.audio import wav
from app.core.wavinfo import wav_info, wav_seconds


def _wav(rate: int, frames: int, channels: int = 1) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * channels * frames)
    return buf.getvalue()


def test_header_and_length():
    data = _wav(24000, 12000, channels=2)
    assert wav_info(data) == (24000, 2, 2, 0.5)
    assert wav_seconds(data) == 0.5
    assert wav.wav_info is wav_info  # audio reuses core's reader rather than keeping a copy


def test_not_a_wav_or_a_broken_one_has_no_length():
    assert wav_seconds(b"ID3\x04mp3 bytes") is None
    assert wav_seconds(b"") is None
    assert wav_seconds(_wav(16000, 100)[:20]) is None  # RIFF/WAVE, but the header is cut short
