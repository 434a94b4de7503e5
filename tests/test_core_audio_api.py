"""Speech streaming and Whisper transcription against the emulator with the real openai client."""

from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest
import signals

from app.audio import wav
from app.core import audio_api, errors
from app.core.audio_api import AudioChunk, Transcript
from app.core.cancel import CancelToken
from app.core.events import Done, Failed, Retrying, Started

PREVIEW = "2024-10-01-preview"
GA = "2024-10-21"


def _client(emu, version=PREVIEW, **headers):
    from openai import AzureOpenAI

    return AzureOpenAI(
        azure_endpoint=emu.endpoint,
        api_key="k",
        api_version=version,
        max_retries=0,
        default_headers=headers or None,
    )


def _speak(client, text, cancel=None, **kw):
    ctx = errors.Context("speech", "tts-hd", client._api_version)
    return audio_api.synthesize(
        client, text, cancel=cancel or CancelToken(), ctx=ctx, deployment="tts-hd", **kw
    )


SENTENCE = "Parley reads this sentence aloud so the test can hear several chunks arrive one after another. "


def test_speech_streams_chunks_of_non_silent_24khz_audio(emulator):
    client = _client(emulator)
    arrivals, chunks = [], []
    t0 = time.monotonic()
    events = []
    for event in _speak(client, SENTENCE * 3, voice="nova", speed=1.25):
        events.append(event)
        if isinstance(event, AudioChunk):
            arrivals.append(time.monotonic() - t0)
            chunks.append(event)
    assert isinstance(events[0], Started) and events[-1].finish_reason == "stop", events[-3:]
    assert len(chunks) > 1
    assert all(c.sample_rate == 24000 and c.fmt == "pcm" and len(c.data) % 2 == 0 for c in chunks)
    samples = wav.pcm16_to_float(b"".join(c.data for c in chunks))
    assert len(samples) / 24000 > 0.5
    assert signals.dbfs(samples) > -40
    sent = [r for r in emulator.requests if r.path.endswith("/audio/speech")][-1]
    assert "/openai/deployments/tts-hd/audio/speech" in sent.path
    assert (
        sent.json["voice"] == "nova" and sent.json["speed"] == 1.25 and sent.json["response_format"] == "pcm"
    )
    assert sent.json["model"] == "tts-hd" and sent.json["input"] == SENTENCE * 3
    # Streaming, not buffering: the first chunk was in hand well before the last one.
    assert arrivals[0] < arrivals[-1]
    print(
        f"speech: first chunk {arrivals[0] * 1000:.0f} ms, last {arrivals[-1] * 1000:.0f} ms, {len(chunks)} chunks"
    )


def test_first_chunk_arrives_before_the_last_is_sent():
    """With a slow (real-time) emulator the first chunk must be in hand long before the stream ends."""
    from app.emulator import Emulator

    with Emulator(token_rate=0) as emu:
        client = _client(emu, **{"x-parley-fault": "slow=20"})
        times = [time.monotonic()]
        got = []
        for event in _speak(client, SENTENCE):
            if isinstance(event, AudioChunk):
                got.append(time.monotonic())
        assert len(got) > 1
        first, last = got[0] - times[0], got[-1] - times[0]
        print(f"slow speech: first chunk {first * 1000:.0f} ms, last {last * 1000:.0f} ms")
        assert first < last / 2


def test_cancel_mid_speech_stops_within_half_a_second(emulator):
    client = _client(emulator, **{"x-parley-fault": "slow=20"})
    cancel = CancelToken()
    events = []
    fired = None
    for event in _speak(client, SENTENCE * 4, cancel=cancel):
        events.append(event)
        if isinstance(event, AudioChunk) and fired is None:
            fired = time.monotonic()
            threading.Timer(0.05, cancel.cancel).start()
    assert fired is not None
    elapsed = time.monotonic() - fired
    assert events[-1] == Done("cancelled"), events[-1]
    assert elapsed < 0.5, elapsed


def test_speech_at_a_ga_api_version_names_the_preview_version(emulator):
    events = list(_speak(_client(emulator, GA), "Hello there."))
    assert isinstance(events[-1], Failed), events
    problem = events[-1].problem
    assert problem.kind == errors.Kind.API_VERSION and problem.status == 404
    assert "2024-10-01-preview" in problem.action
    assert not any(isinstance(e, AudioChunk) for e in events)


def test_429_once_before_speech_is_retried(emulator):
    events = list(_speak(_client(emulator, **{"x-parley-fault": "429once"}), "Hello there.", max_retries=1))
    assert sum(isinstance(e, Retrying) for e in events) == 1
    assert events[-1].finish_reason == "stop" and any(isinstance(e, AudioChunk) for e in events)


def test_cut_stream_is_a_network_problem(emulator):
    events = list(_speak(_client(emulator, **{"x-parley-fault": "cut"}), SENTENCE * 3, max_retries=0))
    assert isinstance(events[-1], Failed), events[-1]
    assert events[-1].problem.kind in (errors.Kind.NETWORK, errors.Kind.SERVER)


@pytest.mark.parametrize("kw", [{"voice": "robot"}, {"speed": 5.0}, {"response_format": "wma"}])
def test_bad_speech_options_are_config_problems(emulator, kw):
    with pytest.raises(errors.ParleyError) as info:
        _speak(_client(emulator), "Hello.", **kw)
    assert info.value.problem.kind == errors.Kind.CONFIG


def test_too_long_text_raises_config(emulator):
    with pytest.raises(errors.ParleyError) as info:
        _speak(_client(emulator), "word " * 1000)
    assert info.value.problem.kind == errors.Kind.CONFIG and "split_for_speech" in info.value.problem.action
    assert not emulator.requests


def test_split_for_speech_on_a_long_text():
    sentences = [
        "Short one.",
        "Is this a question?",
        "Wow!",
        "It trailed off…",
        "Pi is 3.14 or so, e.g. roughly.",
        "A much longer sentence that keeps going for a while so that pieces need several of them.",
    ]
    rng = np.random.default_rng(7)
    parts = []
    while len(" ".join(parts)) < 10_000:
        parts.append(sentences[rng.integers(len(sentences))])
        if rng.random() < 0.05:
            parts.append("\n")
    text = " ".join(parts)
    assert len(text) >= 10_000
    pieces = audio_api.split_for_speech(text)
    assert len(pieces) == 3
    assert all(0 < len(p) <= 4096 for p in pieces)
    assert " ".join(pieces).split() == text.split()  # nothing lost, no word cut in two
    assert all(re.search(r"[.!?…]$", p) for p in pieces)  # each ends a sentence
    small = audio_api.split_for_speech(text, limit=200)
    assert all(len(p) <= 200 for p in small) and " ".join(small).split() == text.split()


def test_split_for_speech_edges():
    assert audio_api.split_for_speech("   ") == []
    assert audio_api.split_for_speech("One. Two.", limit=100) == ["One. Two."]
    assert audio_api.split_for_speech("First line\nsecond line", limit=12) == ["First line", "second line"]
    long_sentence = "word " * 30
    pieces = audio_api.split_for_speech(long_sentence, limit=22)
    assert all(len(p) <= 22 for p in pieces) and all(set(p.split()) == {"word"} for p in pieces)


def _transcribe(client, audio, **kw):
    ctx = errors.Context("transcription", "whisper", PREVIEW)
    return list(
        audio_api.transcribe(client, audio, cancel=CancelToken(), ctx=ctx, deployment="whisper", **kw)
    )


def test_transcription_of_a_wav_with_a_comment(emulator):
    audio = wav.with_comment(
        wav.encode_wav(signals.tone(220, 1.0, 16000), 16000), "Testing, testing, one, two, three."
    )
    events = _transcribe(_client(emulator), audio, language="en")
    transcript = next(e for e in events if isinstance(e, Transcript))
    assert transcript.text == "Testing, testing, one, two, three."
    assert transcript.duration == pytest.approx(1.0)
    assert events[-1].finish_reason == "stop"
    sent = [r for r in emulator.requests if r.path.endswith("/audio/transcriptions")][-1]
    assert "/openai/deployments/whisper/audio/transcriptions" in sent.path
    assert sent.form["model"] == "whisper" and sent.form.get("language") == "en"
    assert sent.form.get("response_format") == "json"
    assert _filename(sent) == "speech.wav"


def test_silent_wav_gives_an_empty_transcript(emulator):
    events = _transcribe(_client(emulator), wav.encode_wav(np.zeros(16000, np.float32), 16000))
    transcript = next(e for e in events if isinstance(e, Transcript))
    assert transcript == Transcript("", transcript.request_id, 1.0)


def test_transcription_limits(emulator):
    with pytest.raises(errors.ParleyError):
        _transcribe(_client(emulator), b"")
    with pytest.raises(errors.ParleyError) as info:
        _transcribe(_client(emulator), b"\0" * (25 * 1024 * 1024 + 1))
    assert info.value.problem.title == "File too large"


def test_speak_to_file_writes_one_wav_from_several_pieces(emulator, tmp_path):
    path = tmp_path / "out" / "speech.wav"
    events = list(
        audio_api.speak_to_file(
            _client(emulator),
            SENTENCE * 3,
            path,
            cancel=CancelToken(),
            ctx=errors.Context("speech"),
            deployment="tts-hd",
            limit=120,
        )
    )
    saved = next(e for e in events if isinstance(e, audio_api.SavedAudio))
    assert saved.pieces == 3 and saved.path == path and events[-1].finish_reason == "stop"
    assert sum(isinstance(e, Started) for e in events) == 1
    samples, rate = wav.decode_wav(path.read_bytes())
    assert rate == 24000 and len(samples) / rate == pytest.approx(saved.seconds)
    assert signals.dbfs(samples) > -40
    assert len([r for r in emulator.requests if r.path.endswith("/audio/speech")]) == 3
    assert not list(path.parent.glob("*.part"))


def test_speak_to_file_leaves_nothing_on_failure(emulator, tmp_path):
    path = tmp_path / "speech.wav"
    events = list(
        audio_api.speak_to_file(
            _client(emulator, GA),
            "Hello.",
            path,
            cancel=CancelToken(),
            ctx=errors.Context("speech"),
            deployment="tts-hd",
        )
    )
    assert isinstance(events[-1], Failed)
    assert not path.exists() and not list(tmp_path.iterdir())


def _filename(request) -> str | None:
    files = getattr(request, "files", None)
    if isinstance(files, dict) and "file" in files:
        entry = files["file"]
        return getattr(entry, "filename", None) or (
            entry[0] if isinstance(entry, tuple) else entry.get("filename")
        )
    raw = getattr(request, "body", b"") or b""
    m = re.search(rb'name="file"; filename="([^"]+)"', raw)
    return m.group(1).decode() if m else None
