"""End to end (issue #14): the real `parley --demo` processes with a reasoning deployment (the demo's gpt-5-mini):
the connection test (`parley check`, the probe Settings runs) passes on it and names its family, and the window's
chat with it shows the thinking time and a token line with reasoning tokens (read from the app's JSON log)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")


@pytest.mark.e2e
def test_connection_test_passes_on_a_reasoning_deployment(parley_home):
    env = dict(os.environ, PARLEY_HOME=str(parley_home))
    done = subprocess.run(
        [sys.executable, "-m", "app", "--demo", "check", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    chat = next(line for line in lines if line.get("capability") == "chat")
    assert chat["ok"] and chat["deployment"] == "gpt-5-mini" and chat["family"] == "reasoning"
    assert lines[-1]["type"] == "summary" and lines[-1]["exit_code"] == 0


@pytest.mark.e2e
def test_the_window_shows_thinking_time_and_a_token_line_for_a_reasoning_answer(parley_home):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PARLEY_HOME=str(parley_home))
    log = parley_home / "logs" / "parley.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "--demo", "--send", "Plan a short trip to Lisbon think:2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        answer = None
        deadline = time.monotonic() + 90
        while answer is None and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            if log.exists():
                for line in log.read_text("utf-8", "replace").splitlines():
                    try:
                        entry = json.loads(line)
                    except ValueError:  # the app is writing this line right now: read it next time
                        continue
                    if entry.get("event") == "chat.answer":
                        answer = entry
            time.sleep(0.2)
        assert answer is not None, "the window never finished an answer"
        assert answer["deployment"] == "gpt-5-mini" and answer["model"].startswith("gpt-5-mini")
        assert 2.0 <= answer["thinking_seconds"] < 30
        assert (
            "tokens in" in answer["tokens"] and "reasoning" in answer["tokens"] and " out" in answer["tokens"]
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
