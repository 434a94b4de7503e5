"""Hardening (#16): settings that cannot be read lose nothing else, Parley's files are private, the log never prints
a traceback, and a server's huge or key-echoing error text is bounded and redacted in every output."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.core import errors, logs, paths
from app.core.profiles import Profile, ProfileStore, take_load_notes

ROOT = Path(__file__).resolve().parents[1]
KEY = "5e0c1d2a3b4f49c8a7e6d5c4b3a29180"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _good(name: str) -> dict:
    return Profile(name=name, endpoint="https://res.openai.azure.com/").to_json()


def _settings(parley_home: Path, content: str | bytes) -> Path:
    path = paths.config_dir() / "profiles.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def _asides(path: Path) -> list[Path]:
    return sorted(path.parent.glob("profiles.unreadable-*.json"))


# -- profiles.json -------------------------------------------------------------------------------------------------


def test_one_bad_profile_costs_only_itself(parley_home):
    take_load_notes()
    path = _settings(
        parley_home, json.dumps({"active": "Work", "profiles": [_good("Work"), {"oops": 1}, _good("Lab")]})
    )
    store = ProfileStore.load()
    assert [p.name for p in store.profiles] == ["Work", "Lab"]
    assert store.active == "Work"
    [aside] = _asides(path)
    assert json.loads(aside.read_text())["profiles"] == [{"oops": 1}]
    assert (
        "1 profile(s)" in store.notes[0]
        and str(aside) in store.notes[0]
        and "other 2 were kept" in store.notes[0]
    )
    # The user is told once, wherever they look first; the file now holds the two good ones.
    assert take_load_notes() == store.notes and take_load_notes() == []
    assert [p.name for p in ProfileStore.load().profiles] == ["Work", "Lab"]


@pytest.mark.parametrize(
    "content", ['{"profiles": "oops"}', "[1,2,3]", '{"profiles": [1, 2]}', "{not json", b"\xff\xfe"]
)
def test_wrong_shape_or_garbage_is_set_aside_with_a_note(parley_home, content):
    path = _settings(parley_home, content)
    raw = path.read_bytes()
    store = ProfileStore.load()
    assert store.profiles == []
    assert store.notes and "moved to" in store.notes[0] or "set aside" in store.notes[0]
    [aside] = _asides(path)
    assert aside.read_bytes() == raw or json.loads(aside.read_text())["profiles"]


def test_a_second_corruption_never_overwrites_the_first_backup(parley_home):
    path = _settings(parley_home, "{first")
    ProfileStore.load()
    _settings(parley_home, "{second")
    ProfileStore.load()
    assert sorted(a.read_text() for a in _asides(path)) == ["{first", "{second"]


@pytest.mark.e2e
def test_cli_with_a_wrong_shape_settings_file_does_not_crash(parley_home):
    _settings(parley_home, '{"profiles": "oops"}')
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "OPENAI_"))},
        "PARLEY_HOME": str(parley_home),
        "PYTHONPATH": str(ROOT),
    }
    r = subprocess.run(
        [sys.executable, "-m", "app", "ask", "hello"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "AttributeError" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 2 and "not configured" in r.stderr, r.stderr


# -- private files -------------------------------------------------------------------------------------------------


def test_folders_are_0700_and_settings_0600(parley_home):
    store = ProfileStore(profiles=[Profile(name="Work", endpoint="https://res.openai.azure.com/")])
    store.save()
    assert _mode(store.path) == 0o600
    assert _mode(store.path.parent) == 0o700
    assert _mode(paths.ensure(paths.data_dir())) == 0o700


def test_make_private_fixes_what_an_older_version_left_readable(parley_home):
    folder = paths.data_dir() / "images"
    folder.mkdir(parents=True)
    os.chmod(paths.data_dir(), 0o755)
    os.chmod(folder, 0o755)
    chat = paths.data_dir() / "history.sqlite3"
    chat.write_bytes(b"x")
    os.chmod(chat, 0o644)
    png = folder / "1.png"
    png.write_bytes(b"x")
    os.chmod(png, 0o644)
    assert paths.make_private() == 4
    assert [_mode(p) for p in (paths.data_dir(), folder, chat, png)] == [0o700, 0o700, 0o600, 0o600]
    assert paths.make_private() == 0


def test_log_file_is_0600(parley_home):
    try:
        path = logs.setup_logging("INFO")
        import logging

        logging.getLogger("parley.test").info("hello")
        assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    finally:
        logs.shutdown_logging()


# -- the log never prints a traceback ---------------------------------------------------------------------------


def test_a_full_disk_under_the_log_gives_one_clear_line_not_a_logging_error(parley_home):
    log_dir = paths.ensure(paths.log_dir())
    (log_dir / "parley.log").symlink_to("/dev/full")
    code = (
        "import logging\n"
        "from app.core import logs\n"
        "logs.setup_logging('INFO')\n"
        "for i in range(3): logging.getLogger('parley').warning('line %d', i)\n"
        "print('still running')\n"
    )
    env = {**os.environ, "PARLEY_HOME": str(parley_home), "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "still running"
    assert "Logging error" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.count("cannot write the log") == 1, r.stderr


# -- bounded, redacted problem text ------------------------------------------------------------------------------


def test_problem_text_is_bounded_and_redacted():
    logs.add_secret(KEY)
    try:
        p = errors.Problem(
            errors.Kind.BAD_REQUEST, "Bad request", f"echo api-key {KEY} " + "x" * 20_000_000, "Fix it."
        )
        assert KEY not in p.detail and len(p.detail) < 5_000
        assert "more characters not shown" in p.detail
    finally:
        logs.clear_secrets()


class _EchoingServer(BaseHTTPRequestHandler):
    """A server that answers every request with a 400 whose 20 MB message repeats the caller's api-key."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("content-length") or 0))
        message = f"bad key {self.headers.get('api-key')} " + "y" * 20_000_000
        body = json.dumps({"error": {"code": "BadRequest", "message": message}}).encode()
        self.send_response(400)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.e2e
def test_a_20_mb_error_echoing_the_key_is_bounded_and_redacted_everywhere(parley_home):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "OPENAI_"))},
            "AZURE_OPENAI_ENDPOINT": f"http://127.0.0.1:{server.server_port}/",
            "AZURE_OPENAI_API_KEY": KEY,
            "PARLEY_HOME": str(parley_home),
            "PYTHONPATH": str(ROOT),
        }
        r = subprocess.run(
            [sys.executable, "-m", "app", "ask", "hi", "--json"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.shutdown()
    assert r.returncode == 1 or r.returncode == 2, (r.returncode, r.stderr[-2000:])
    for stream in (r.stdout, r.stderr):
        assert KEY not in stream
        assert len(stream) < 20_000
    problem = [json.loads(line) for line in r.stdout.splitlines() if '"problem"' in line]
    assert problem and "more characters not shown" in json.dumps(problem)
    log = (paths.log_dir() / "parley.log").read_text()
    assert KEY not in log and max(len(line) for line in log.splitlines()) < 40_000
