"""Speech-like audio for /audio/speech and a small WAV reader for /audio/transcriptions. numpy is imported lazily."""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable

from app.emulator.content import stable_hash

RATE = 24_000
VOICES = ("alloy", "echo", "fable", "onyx", "nova", "shimmer")  # tts, tts-hd
# gpt-4o-mini-tts: openai-python's SpeechCreateParams built-in voices, in its order
INSTRUCT_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
_VOICE_PITCH = {"alloy": 150.0, "echo": 115.0, "fable": 165.0, "onyx": 95.0, "nova": 210.0, "shimmer": 230.0}
_VOICE_PITCH.update(ash=105.0, ballad=135.0, coral=200.0, sage=180.0, verse=125.0, marin=190.0, cedar=100.0)
# Rough vowel formants (F1, F2) in Hz.
_VOWELS = ((730, 1090), (530, 1840), (270, 2290), (570, 840), (300, 870), (660, 1720), (440, 1020))


def synthesize(text: str, voice: str = "alloy", speed: float = 1.0, style: str = "") -> bytes:
    """24 kHz s16le mono PCM that sounds vaguely like speech: voiced syllables with formant-ish harmonics,
    amplitude envelopes, ~12 syllables/s at speed 1, short pauses at punctuation. Deterministic; a speaking `style`
    (gpt-4o-mini-tts's instructions) shifts the pitch a little, so a different style gives different audio."""
    import numpy as np

    speed = min(4.0, max(0.25, float(speed or 1.0)))
    pitch = _VOICE_PITCH.get(voice, 150.0)
    if style:
        pitch *= 0.9 + (stable_hash(style) % 21) / 100.0
    syl_len = 1.0 / (12.0 * speed)
    pieces: list = []
    words = re.findall(r"[\w']+|[.,;:!?…]", text)
    h = stable_hash(text + voice)
    n = int(syl_len * RATE)
    t = np.arange(n, dtype=np.float32) / RATE
    env = np.clip(np.sin(np.pi * np.linspace(0.0, 1.0, n, dtype=np.float32)), 0.0, 1.0) ** 0.6
    k = 0
    for word in words:
        if not word[0].isalnum() and word[0] not in "'_":
            pause = 0.25 if word in ".!?…" else 0.12
            pieces.append(np.zeros(int(pause * RATE / speed), np.float32))
            continue
        syllables = max(1, len(re.findall(r"[aeiouy]+", word.lower())))
        for _ in range(syllables):
            f1, f2 = _VOWELS[(h + k * 7 + (k * k) % 5) % len(_VOWELS)]
            k += 1
            f0 = pitch * (1.0 + 0.08 * math.sin(k * 0.9))
            wave = np.zeros(n, np.float32)
            for harmonic in range(1, 16):
                f = f0 * harmonic
                if f > 4000:
                    break
                gain = (
                    1.0 / harmonic
                    + 1.2 * math.exp(-(((f - f1) / 150.0) ** 2))
                    + 0.8 * math.exp(-(((f - f2) / 200.0) ** 2))
                )
                wave += gain * np.sin(2 * np.pi * f * t + harmonic)
            pieces.append(wave * env)
        pieces.append(np.zeros(int(0.03 * RATE / speed), np.float32))
    if not pieces:
        pieces.append(np.zeros(int(0.2 * RATE), np.float32))
    audio = np.concatenate(pieces)
    peak = float(np.max(np.abs(audio))) or 1.0
    audio = audio / peak * 0.6
    return (audio * 32767).astype("<i2").tobytes()


def wav_header(data_len: int, rate: int = RATE, channels: int = 1, bits: int = 16) -> bytes:
    block = channels * bits // 8
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_len)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, bits)
        + b"data"
        + struct.pack("<I", data_len)
    )


def parse_wav(data: bytes):
    """(mono float32 samples, rate, ICMT comment or None), or None if `data` is not a PCM16/float32 WAV."""
    import numpy as np

    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos, fmt, frames, comment = 12, None, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        if cid == b"fmt " and len(body) >= 16:
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif cid == b"data":
            frames = body
        elif cid == b"LIST" and body[:4] == b"INFO":
            sub = 4
            while sub + 8 <= len(body):
                sid, ssize = body[sub : sub + 4], struct.unpack("<I", body[sub + 4 : sub + 8])[0]
                if sid == b"ICMT":
                    comment = (
                        body[sub + 8 : sub + 8 + ssize]
                        .split(b"\x00", 1)[0]
                        .decode("utf-8", "replace")
                        .strip()
                    )
                sub += 8 + ssize + (ssize & 1)
        pos += 8 + size + (size & 1)
    if fmt is None or frames is None:
        return None
    tag, channels, rate, _, _, bits = fmt
    channels = max(1, channels)
    if tag == 0xFFFE and bits in (16, 32):  # WAVE_FORMAT_EXTENSIBLE: assume PCM16 / float32 by width
        tag = 1 if bits == 16 else 3
    if tag == 1 and bits == 16:
        samples = np.frombuffer(frames[: len(frames) // 2 * 2], "<i2").astype(np.float32) / 32768.0
    elif tag == 3 and bits == 32:
        samples = np.frombuffer(frames[: len(frames) // 4 * 4], "<f4").astype(np.float32)
    elif tag == 1 and bits == 8:
        samples = (np.frombuffer(frames, np.uint8).astype(np.float32) - 128.0) / 128.0
    else:
        return None
    samples = samples[: len(samples) // channels * channels].reshape(-1, channels).mean(axis=1)
    return samples, rate, comment


def activity(samples, rate: int, threshold: float = 0.01, frame_s: float = 0.03) -> list[tuple[float, float]]:
    """Speech segments (start, end) in seconds: runs of frames whose RMS is above `threshold`."""
    import numpy as np

    n = max(1, int(rate * frame_s))
    count = len(samples) // n
    if count == 0:
        return []
    frames = samples[: count * n].reshape(count, n)
    loud = np.sqrt(np.mean(frames * frames, axis=1)) > threshold
    segments: list[tuple[float, float]] = []
    start = None
    for i, on in enumerate(loud):
        if on and start is None:
            start = i
        elif not on and start is not None:
            segments.append((start * frame_s, i * frame_s))
            start = None
    if start is not None:
        segments.append((start * frame_s, count * frame_s))
    # merge gaps shorter than 0.3 s
    merged: list[tuple[float, float]] = []
    for s, e in segments:
        if merged and s - merged[-1][1] < 0.3:
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return [(round(s, 2), round(e, 2)) for s, e in merged]


def transcribe(
    data: bytes, heard: Callable[[], str | None] | None = None
) -> tuple[str, float, list[tuple[float, float]]]:
    """(text, duration seconds, speech segments). Silence gives ''. An ICMT comment is the transcript; else, for
    audio with speech in it, `heard()` (what a test said into a microphone, which carries no comment) if it gives
    one, else a sentence naming the duration."""
    parsed = parse_wav(data)
    if parsed is None:
        duration = len(data) / 32000.0
        segments = [(0.0, round(duration, 2))] if data else []
        text = f"This is the emulator's transcript of {duration:.1f} seconds of speech." if data else ""
        return text, duration, segments
    samples, rate, comment = parsed
    duration = len(samples) / float(rate or 1)
    segments = activity(samples, rate)
    if not segments:
        return "", duration, []
    if comment:
        return comment, duration, segments
    spoken = heard() if heard is not None else None
    if spoken:
        return spoken, duration, segments
    return f"This is the emulator's transcript of {duration:.1f} seconds of speech.", duration, segments


def split_sentences(text: str, count: int) -> list[str]:
    """`text` spread over `count` segments (for verbose_json / srt / vtt)."""
    if count <= 1:
        return [text]
    words = text.split()
    per = max(1, math.ceil(len(words) / count))
    out = [" ".join(words[i * per : (i + 1) * per]) for i in range(count)]
    return out


def _stamp(seconds: float, sep: str) -> str:
    ms = int(round(seconds * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def subtitles(text: str, segments: list[tuple[float, float]], kind: str) -> str:
    if not text:
        return "WEBVTT\n\n" if kind == "vtt" else ""
    segments = segments or [(0.0, 1.0)]
    lines = split_sentences(text, len(segments))
    out = ["WEBVTT\n"] if kind == "vtt" else []
    for i, ((s, e), line) in enumerate(zip(segments, lines, strict=False), 1):
        if kind == "srt":
            out.append(f"{i}\n{_stamp(s, ',')} --> {_stamp(e, ',')}\n{line}\n")
        else:
            out.append(f"{_stamp(s, '.')} --> {_stamp(e, '.')}\n{line}\n")
    return "\n".join(out) + "\n"
