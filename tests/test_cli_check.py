"""`parley check` and `parley ask` on reasoning deployments, as real processes against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.emulator import Emulator

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def emu():
    with Emulator(token_rate=0) as e:
        yield e


@pytest.fixture
def env(emu, tmp_path):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "OPENAI_", "PARLEY_"))}
    return base | {
        "AZURE_OPENAI_ENDPOINT": emu.endpoint,
        "AZURE_OPENAI_API_KEY": "k",
        "OPENAI_API_VERSION": "2025-04-01-preview",
        "PARLEY_HOME": str(tmp_path / "home"),
        "PYTHONPATH": str(ROOT),
    }


def parley(env, *args, **overrides):
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=env | overrides,
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def test_check_on_the_demo_lineup_answers_everywhere():
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "OPENAI_"))}
    r = subprocess.run(
        [sys.executable, "-m", "app", "--demo", "check", "--json"],
        env=base | {"PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    checks = {c["capability"]: c for c in lines if c["type"] == "check"}
    assert set(checks) == {
        "chat",
        "speech",
        "transcription",
        "images",
        "embeddings",
        "completions",
        "realtime",
    }
    assert all(c["ok"] and c["seconds"] > 0 for c in checks.values())
    assert checks["chat"]["deployment"] == "gpt-5-mini" and checks["chat"]["family"] == "reasoning"
    assert checks["chat"]["model"].startswith("gpt-5-mini")
    # today's lineup in every tab (#14): gpt-image-1 is reached without drawing (its 400 names `size` in `param`)
    assert {
        c: (checks[c]["deployment"], checks[c]["family"]) for c in ("images", "speech", "transcription")
    } == {
        "images": ("gpt-image-1", "gpt-image"),
        "speech": ("gpt-4o-mini-tts", "tts-instruct"),
        "transcription": ("gpt-4o-transcribe", "gpt-4o-transcribe"),
    }
    assert checks["embeddings"]["family"] == "embeddings"
    assert checks["realtime"]["deployment"] == "gpt-realtime" and checks["realtime"]["family"] == "realtime"
    assert lines[-1] == {"type": "summary", "answered": 7, "tried": 7, "exit_code": 0}


def test_check_prints_family_latency_and_verdict_and_exits_with_the_first_problem(env):
    ok = parley(env, "check", AZURE_OPENAI_DEPLOYMENT="o4-mini")
    assert ok.returncode == 0, ok.stderr
    assert "✓ Chat" in ok.stdout and "o4-mini" in ok.stdout and "Reasoning chat" in ok.stdout
    assert " s  OK" in ok.stdout and "1 of 1 deployments answered." in ok.stdout
    bad = parley(env, "check", AZURE_OPENAI_DEPLOYMENT="nope")
    assert bad.returncode == 5 and "✗ Chat" in bad.stdout and "Deployment not found" in bad.stderr
    old = parley(env, "check", AZURE_OPENAI_DEPLOYMENT="gpt-5-mini", OPENAI_API_VERSION="2024-10-21")
    assert old.returncode == 5 and "2024-12-01-preview" in old.stderr


def test_ask_on_a_reasoning_deployment_needs_no_extra_flag(env, emu):
    emu.clear()
    r = parley(env, "ask", "-m", "gpt-5-mini", "Explain WAL mode")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() and "Traceback" not in r.stderr
    (sent,) = [q for q in emu.requests if q.path.endswith("/chat/completions")]
    assert "max_tokens" not in sent.json and "temperature" not in sent.json


def test_ask_flags_on_a_reasoning_deployment(env, emu):
    emu.clear()
    r = parley(
        env,
        "ask",
        "-m",
        "o4-mini",
        "--max-tokens",
        "3000",
        "--temperature",
        "0.4",
        "--reasoning-effort",
        "high",
        "--json",
        "Explain WAL mode",
    )
    assert r.returncode == 0, r.stderr
    assert "temperature" in r.stderr.lower()  # said once, on stderr, and the answer still came
    sent = [q for q in emu.requests if q.path.endswith("/chat/completions")]
    assert len(sent) == 1
    body = sent[0].json
    assert body["max_completion_tokens"] == 3000 and "max_tokens" not in body and "temperature" not in body
    assert body["reasoning_effort"] == "high"
    events = [json.loads(line) for line in r.stdout.splitlines()]
    done = events[-1]
    assert done["type"] == "done" and done["finish_reason"] == "stop"
    usage = done["usage"]
    assert usage["reasoning_tokens"] > 0 and "cached_tokens" in usage
    assert usage["completion_tokens"] > usage["reasoning_tokens"] and usage["total_tokens"] > 0
    assert any(e["type"] == "notice" and e["setting"] == "temperature" for e in events)


def test_ask_without_reasoning_on_a_seed_model_keeps_its_parameters(env, emu):
    emu.clear()
    r = parley(env, "ask", "-m", "gpt-4o", "--max-tokens", "5", "--temperature", "0.4", "Hi")
    assert r.returncode == 0, r.stderr
    (sent,) = [q for q in emu.requests if q.path.endswith("/chat/completions")]
    assert sent.json["max_tokens"] == 5 and sent.json["temperature"] == 0.4
