"""`parley transcribe --stream` and `parley speak --instructions` as real processes against the emulator: what
they print, their exit codes, and what went on the wire."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import wave

import pytest
from test_cli import KEY, ROOT, parley

from app.audio import wav
from app.emulator import Emulator

pytestmark = pytest.mark.e2e

PREVIEW = "2025-04-01-preview"
SAID = "Parley prints these words one at a time."


@pytest.fixture
def emu():
    with Emulator(token_rate=0) as e:
        yield e


@pytest.fixture
def env(emu, tmp_path):
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "OPENAI_", "PARLEY_"))}
    return {
        **base,
        "AZURE_OPENAI_ENDPOINT": emu.endpoint,
        "AZURE_OPENAI_API_KEY": KEY,
        "OPENAI_API_VERSION": PREVIEW,
        "PARLEY_HOME": str(tmp_path / "home"),
        "PARLEY_MAX_RETRIES": "1",
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture
def speech_file(tmp_path):
    import signals

    path = tmp_path / "said.wav"
    path.write_bytes(wav.with_comment(wav.encode_wav(signals.tone(220, 1.0, 16000), 16000), SAID))
    return path


def _sent(emu, suffix: str):
    return [r for r in emu.requests if r.path.endswith(suffix)]


def test_transcribe_stream_prints_the_words_as_they_arrive(env, emu, speech_file):
    emu.token_rate = 5  # 200 ms a word: the first words are on stdout long before the last is sent
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "transcribe", str(speech_file), "-m", "gpt-4o-transcribe", "--stream"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    first = proc.stdout.read(len("Parley "))
    first_at = time.monotonic()
    rest = proc.stdout.read()
    done_at = time.monotonic()
    assert proc.wait(30) == 0, proc.stderr.read() if proc.stderr else ""
    assert (first + rest).decode() == SAID + "\n"
    assert done_at - first_at > 0.8  # seven more words at 200 ms each came after the first was printed
    assert _sent(emu, "/audio/transcriptions")[-1].form["stream"] == "true"


def test_transcribe_stream_json_prints_deltas_then_the_transcript_with_usage(env, emu, speech_file):
    r = parley(env, "transcribe", str(speech_file), "-m", "gpt-4o-mini-transcribe", "--stream", "--json")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [x["type"] for x in lines] == ["delta"] * len(SAID.split()) + ["transcript"]
    assert "".join(x["text"] for x in lines[:-1]) == lines[-1]["text"] == SAID
    assert lines[-1]["usage"]["audio_tokens"] > 0 and lines[-1]["request_id"]


def test_transcribe_stream_on_whisper_says_so_and_prints_the_text(env, emu, speech_file):
    r = parley(env, "transcribe", str(speech_file), "-m", "whisper", "--stream")
    assert r.returncode == 0 and r.stdout == SAID + "\n"
    assert "does not stream" in r.stderr
    assert "stream" not in _sent(emu, "/audio/transcriptions")[-1].form


def test_speak_with_instructions_sends_the_style(env, emu, tmp_path):
    out = tmp_path / "styled.wav"
    r = parley(
        env, "speak", "Good evening.", "-m", "gpt-4o-mini-tts", "--voice", "coral",
        "--instructions", "Speak like a calm radio host.", "-o", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Saved" in r.stderr
    with wave.open(str(out)) as w:
        assert w.getframerate() == 24000 and w.getnframes() > 2400
    body = _sent(emu, "/audio/speech")[-1].json
    assert body["instructions"] == "Speak like a calm radio host." and body["voice"] == "coral"


def test_speak_instructions_on_tts_hd_is_exit_2_and_nothing_is_sent(env, emu, tmp_path):
    out = tmp_path / "none.wav"
    r = parley(env, "speak", "Hi.", "-m", "tts-hd", "--instructions", "Whisper.", "-o", str(out))
    assert r.returncode == 2 and "speaking style" in r.stderr and "gpt-4o-mini-tts" in r.stderr
    assert not out.exists() and not _sent(emu, "/audio/speech")


def test_every_audio_option_has_help(env):
    """`--help` describes each option (FILE had no words before)."""
    expected = {
        "transcribe": ("the audio file: flac", "print the words as they arrive", "ISO-639-1", "JSON lines",
                       "gpt-4o-transcribe or gpt-4o-mini-transcribe"),
        "speak": ("what to say", "a speaking style", "gpt-4o-mini-tts also ash", "0.25 to 4", "the WAV file to write",
                  "tts, tts-hd or gpt-4o-mini-tts"),
    }  # fmt: skip
    for command, phrases in expected.items():
        r = parley(env, command, "--help")
        assert r.returncode == 0
        text = " ".join(r.stdout.split())  # argparse wraps lines
        for phrase in phrases:
            assert phrase in text, (command, phrase)
