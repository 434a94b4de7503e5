"""`parley talk` as a real process: one spoken turn from a WAV, live (Realtime) and chained, its output, the
answer WAV, `--json` events and the exit codes `ask` has."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from app.audio.wav import encode_wav, with_comment
from app.emulator import Emulator

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
KEY = "c0ffee-talk-key"


def question(path: Path, words: str, rate: int = 16000) -> Path:
    t = np.arange(int(rate * 1.2)) / rate
    sig = (0.3 * (0.6 + 0.4 * np.abs(np.sin(2 * np.pi * 4 * t))) * np.sin(2 * np.pi * 200 * t)).astype(
        np.float32
    )
    path.write_bytes(
        with_comment(encode_wav(np.concatenate([np.zeros(rate // 5, np.float32), sig]), rate), words)
    )
    return path


@pytest.fixture
def env(tmp_path):
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AZURE_", "OPENAI_", "PARLEY_")) and k not in ("QT_QPA_PLATFORM", "DISPLAY")
    }
    return {**base, "PARLEY_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}


def parley(env, *args, timeout=60, **overrides):
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env={**env, **overrides},
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )


def no_traceback(r):
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr


def test_live_turn_prints_both_sides_and_writes_the_spoken_answer(env, tmp_path):
    wav = question(tmp_path / "q.wav", "What is the capital of France?")
    out = tmp_path / "answer.wav"
    r = parley(env, "--demo", "talk", str(wav), "-o", str(out))
    no_traceback(r)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "You said: What is the capital of France?"
    assert lines[1].startswith("Parley: You asked: What is the capital of France?")
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (24000, 1, 2)
        frames = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    assert len(frames) > 24000 * 2 and np.abs(frames).max() > 3000
    assert "Saved" in r.stderr and "Last audio frame to the WebSocket:" in r.stderr


def test_json_is_one_event_per_line(env, tmp_path):
    wav = question(tmp_path / "q.wav", "Tell me about tides")
    r = parley(env, "--demo", "talk", str(wav), "--json")
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "heard" and events[0]["text"] == "Tell me about tides"
    assert "delta" in kinds and "audio" in kinds and kinds[-1] == "done"
    audio = [e["bytes"] for e in events if e["type"] == "audio"]
    assert audio == sorted(audio) and audio[-1] == events[-1]["audio_bytes"] > 0
    assert events[-1]["finish_reason"] == "stop" and events[-1]["usage"]["total_tokens"] > 0
    text = "".join(e["text"] for e in events if e["type"] == "delta")
    assert text.startswith("You asked: Tell me about tides")


@pytest.mark.parametrize(
    ("words", "code", "stderr"),
    [
        ("filter:answer tell me a story", 3, "Content filter: the answer was stopped."),
        ("fault:429 hello", 6, "Rate limited"),
    ],
)
def test_faults_in_the_session_exit_as_ask_does(env, tmp_path, words, code, stderr):
    wav = question(tmp_path / "q.wav", words)
    out = tmp_path / "a.wav"
    r = parley(env, "--demo", "talk", str(wav), "-o", str(out))
    no_traceback(r)
    assert r.returncode == code and stderr in r.stderr
    if code == 3:  # the part that came is kept, printed and written
        assert r.stdout.splitlines()[1].startswith("Parley: You asked:") and out.exists()


def test_a_silent_session_ends_in_exit_7_after_the_timeout(env, tmp_path):
    wav = question(tmp_path / "q.wav", "fault:hang are you there")
    r = parley(env, "--demo", "talk", str(wav), "--timeout", "1", "--json")
    no_traceback(r)
    assert r.returncode == 7
    events = [json.loads(line) for line in r.stdout.splitlines()]
    assert (
        events[0]["type"] == "heard" and events[-1]["type"] == "problem" and events[-1]["kind"] == "timeout"
    )


def test_handshake_refusals_exit_as_http_does(env, tmp_path):
    wav = question(tmp_path / "q.wav", "hello")
    with Emulator(api_key=KEY, token_rate=0) as strict:
        shell = {**env, "AZURE_OPENAI_ENDPOINT": strict.endpoint, "AZURE_OPENAI_API_KEY": KEY}
        wrong = parley(shell, "talk", str(wav), "-m", "gpt-realtime", AZURE_OPENAI_API_KEY="not-the-key")
        missing = parley(shell, "talk", str(wav), "-m", "no-such-realtime")
        ok = parley(shell, "talk", str(wav), "-m", "gpt-realtime")
        handshake = [r for r in strict.requests if r.path == "/openai/v1/realtime"][-1]
    assert wrong.returncode == 4 and "Not authorised" in wrong.stderr
    assert missing.returncode == 5 and "Deployment 'no-such-realtime' not found" in missing.stderr
    assert ok.returncode == 0 and ok.stdout.startswith("Parley: You asked:")  # no transcription deployment
    assert "api-version" not in handshake.query and handshake.used_key(KEY)
    for r in (wrong, missing, ok):
        no_traceback(r)


def test_chained_engine_reuses_transcribe_chat_and_speech(env, tmp_path):
    wav = question(tmp_path / "q.wav", "What is a tide?")
    out = tmp_path / "answer.wav"
    r = parley(env, "--demo", "talk", str(wav), "--engine", "chained", "-o", str(out), "--json")
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    assert events[0] == {"type": "heard", "text": "What is a tide?"}
    assert (
        events[-1]["type"] == "done" and events[-1]["engine"] == "chained" and events[-1]["audio_bytes"] > 0
    )
    with wave.open(str(out)) as w:
        assert w.getframerate() == 24000 and w.getnframes() > 24000


def test_no_file_is_exit_2(env, tmp_path):
    r = parley(env, "--demo", "talk", str(tmp_path / "missing.wav"))
    assert r.returncode == 2 and "Cannot read the audio file" in r.stderr
    no_traceback(r)
