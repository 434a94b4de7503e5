"""End to end: the real `parley --demo` process sends a message, is killed with SIGKILL mid-answer, and the restarted
process shows the question and the partial answer (saved at least every second while it streamed)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

QUESTION = "Tell me a long story about lighthouses fault:slow=25 len:400"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def start(env):
    return subprocess.Popen(
        [sys.executable, "-m", "app", "--demo", "--send", QUESTION],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def answer_row(db):
    if not db.exists():
        return None
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            rows = conn.execute(
                "SELECT role, text, status, finish_reason FROM messages ORDER BY id"
            ).fetchall()
    except sqlite3.Error:
        return None
    return rows


@pytest.mark.e2e
def test_kill_mid_answer_then_restart_shows_question_and_partial_answer(parley_home, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PARLEY_HOME=str(parley_home))
    db = parley_home / "data" / "history.sqlite3"
    proc = start(env)
    try:
        # Watch the file while the answer streams: record each time its stored text grows.
        changes: list[tuple[float, int]] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = answer_row(db)
            if rows and len(rows) == 2 and rows[1][1]:
                if not changes or len(rows[1][1]) != changes[-1][1]:
                    changes.append((time.monotonic(), len(rows[1][1])))
                if changes[-1][0] - changes[0][0] >= 3.0:
                    break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        assert len(changes) >= 3, f"the streaming answer was not saved as it grew: {changes}"
        gaps = [b[0] - a[0] for a, b in zip(changes, changes[1:], strict=False)]
        assert max(gaps) < 1.6, f"saves were {gaps} s apart; at most about a second is allowed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    (question, question_text, _, _), (role, partial, status, _) = answer_row(db)
    assert question_text == QUESTION and role == "assistant" and status == "streaming"
    assert len(partial) >= changes[-1][1]

    # Restart: the app recovers the reply (stopped, interrupted) and shows the conversation.
    log = parley_home / "logs" / "parley.log"
    offset = log.stat().st_size if log.exists() else 0
    restarted = subprocess.Popen(
        [sys.executable, "-m", "app", "--demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        shown = None
        deadline = time.monotonic() + 60
        while shown is None and time.monotonic() < deadline:
            assert restarted.poll() is None, restarted.communicate()
            if log.exists():
                with log.open("rb") as f:
                    f.seek(offset)
                    lines = f.read().decode("utf-8", "replace").splitlines()
                for line in lines:
                    try:
                        entry = json.loads(line)
                    except ValueError:  # being written right now: read again next time
                        continue
                    if entry.get("event") == "chat.shown":
                        shown = entry
            time.sleep(0.1)
        assert shown is not None, "the restarted window did not show the conversation"
        assert shown["messages"] == 2 and shown["statuses"] == "complete,stopped"
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(20) == 0
    finally:
        if restarted.poll() is None:
            restarted.kill()
            restarted.wait(10)
    rows = answer_row(db)
    assert rows[1][1] == partial and rows[1][2:] == ("stopped", "interrupted")
