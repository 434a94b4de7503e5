"""Issue #16: `parley --send TEXT` while Parley runs is handed to the running window (new chat, acknowledged), two
launches at once lose neither question, and the single-instance socket is the user's alone."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX sockets and modes")


@pytest.fixture
def home():
    """Outside pytest's basetemp: pytest runs started meanwhile on this machine remove older basetemps (it keeps
    three), which can take a running window's history away."""
    with tempfile.TemporaryDirectory(prefix="parley-instance-") as folder:
        yield Path(folder) / "home"


def env_for(home: Path) -> dict[str, str]:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", PARLEY_HOME=str(home))


def launch(env, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app", "--demo", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def conversations(db: Path) -> list[list[tuple[str, str, str]]]:
    """Each conversation's messages (role, text, status), oldest conversation first."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            rows = conn.execute(
                "SELECT conversation_id, role, text, status FROM messages ORDER BY conversation_id, id"
            ).fetchall()
    except sqlite3.Error:
        return []
    out: dict[int, list[tuple[str, str, str]]] = {}
    for cid, role, text, status in rows:
        out.setdefault(cid, []).append((role, text, status))
    return list(out.values())


def answered(db: Path, question: str) -> bool:
    return any(
        len(c) >= 2 and c[0][1] == question and c[1][0] == "assistant" and c[1][2] == "complete"
        for c in conversations(db)
    )


def wait_for(predicate, timeout: float, what: str, procs=(), home: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        for proc in procs:
            assert proc.poll() is None, (what, proc.communicate())
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}" + (explain(home) if home is not None else ""))


def explain(home: Path) -> str:
    """What the running Parley stored and logged, for a failure's report."""
    log = home / "logs" / "parley.log"
    logged = log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"
    return f"\nstored: {conversations(home / 'data' / 'history.sqlite3')}\nlog:\n{logged}"


def window_shown(home: Path) -> bool:
    log = home / "logs" / "parley.log"
    return log.exists() and "window shown" in log.read_text(errors="replace")


def stop(proc: subprocess.Popen) -> tuple[str, str]:
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


@pytest.mark.e2e
def test_send_to_a_running_parley_is_handed_over_and_answered_in_a_new_chat(home):
    env = env_for(home)
    db = home / "data" / "history.sqlite3"
    first = launch(env, "--send", "first question")
    try:
        wait_for(lambda: answered(db, "first question"), 40, "the first answer", [first], home)
        second = subprocess.run(
            [sys.executable, "-m", "app", "--demo", "--send", "second question"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 0, (second.stdout, second.stderr)
        assert "took the question" in second.stdout, (second.stdout, second.stderr)
        wait_for(lambda: answered(db, "second question"), 30, "the handed-over answer", [first], home)
        assert len(conversations(db)) == 2, conversations(db)  # a new chat, not appended to the first
        assert first.poll() is None
    finally:
        _, stderr = stop(first)
    assert first.returncode == 0 and "Traceback" not in stderr


@pytest.mark.e2e
def test_two_launches_at_once_lose_neither_question(home):
    env = env_for(home)
    db = home / "data" / "history.sqlite3"
    procs = [launch(env, "--send", "alpha question"), launch(env, "--send", "beta question")]
    try:
        # One becomes the window; the other hands its question over and exits 0 once it was taken.
        wait_for(lambda: any(p.poll() is not None for p in procs), 40, "one launch to hand over")
        handed = next(p for p in procs if p.poll() is not None)
        window = next(p for p in procs if p is not handed)
        out, err = handed.communicate()
        assert handed.returncode == 0, err
        assert "took the question" in out
        wait_for(
            lambda: answered(db, "alpha question") and answered(db, "beta question"),
            40,
            "both answers",
            [window],
            home,
        )
    finally:
        for proc in procs:
            stop(proc)


def test_the_socket_is_private_and_a_silent_instance_is_reported(qtbot, tmp_path, monkeypatch):
    from app.ui.common import single_instance

    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    server = single_instance.InstanceServer()
    path = Path(server.server.fullServerName())
    try:
        assert path.is_absolute() and path.exists()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700 and path.parent.stat().st_uid == os.getuid()
    finally:
        server.server.close()
    # Someone holds the lock but nobody answers: the hand-over fails within its time instead of claiming success.
    lock = single_instance.InstanceLock()
    assert lock.acquire()
    try:
        assert not single_instance.InstanceLock().acquire()
        start = time.monotonic()
        assert single_instance.hand_over({"op": "send", "text": "hello"}, timeout=1.0) is False
        assert time.monotonic() - start < 3
    finally:
        lock.release()


def test_xdg_runtime_dir_is_used_when_it_is_private(tmp_path, monkeypatch):
    from app.ui.common import single_instance

    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert Path(single_instance.server_name()).parent == runtime
    runtime.chmod(0o755)  # not private: made so before use
    assert Path(single_instance.server_name()).parent == runtime
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o700
