"""Issue #16, clean exits: the real window process closed by SIGTERM or SIGINT in the middle of an answer exits 0,
prints nothing, and has stored the partial answer as stopped, every time."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

QUESTION = "Tell me a long story fault:slow=60 len:3000"
RUNS = 20


def rows(db, tries: int = 1):
    for attempt in range(tries):
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
                return conn.execute("SELECT role, status, length(text) FROM messages ORDER BY id").fetchall()
        except sqlite3.Error as exc:
            error = exc
            if attempt + 1 < tries:
                time.sleep(0.2)
    return [("unreadable", str(error), 0)] if tries > 1 else []


def close_mid_answer(tmp_path, run: int) -> tuple[int, str, list]:
    home = tmp_path / f"home-{run}"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PARLEY_HOME=str(home))
    db = home / "data" / "history.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "--demo", "--send", QUESTION],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(r[0] == "assistant" for r in rows(db)):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.03)
        time.sleep(0.05 * (run % 5))  # at different moments of the answer
        proc.send_signal(signal.SIGTERM if run % 2 == 0 else signal.SIGINT)
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    return proc.returncode, stderr, rows(db, tries=10)


@pytest.fixture
def own_tmp():
    """A folder outside pytest's basetemp: the suite runs for long, and pytest runs started meanwhile on this
    machine remove older basetemps (it keeps three), which emptied a history under a running process."""
    with tempfile.TemporaryDirectory(prefix="parley-exit-") as folder:
        yield Path(folder)


@pytest.mark.e2e
def test_closing_mid_answer_exits_cleanly_every_time(own_tmp):
    tmp_path = own_tmp
    failures = []
    for run in range(RUNS):
        code, stderr, stored = close_mid_answer(tmp_path, run)
        if code != 0 or stderr.strip():
            failures.append((run, code, stderr.strip()[-400:]))
        else:
            assert [r[0] for r in stored] == ["user", "assistant"], f"run {run}: {stored}"
            assert stored[1][1] == "stopped", f"run {run}: the answer was left {stored[1][1]}"
    assert not failures, f"{len(failures)} of {RUNS} closes were not clean: {failures[:3]}"
