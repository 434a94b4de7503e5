"""Hardening of the command line (#16): the real `parley` process against the emulator, or against a fault server
where the emulator (faithful to Azure) cannot misbehave that way. Every fault ends in words and the right exit code,
never a traceback, leaves no partial file, and never prints the key."""

from __future__ import annotations

import base64
import json
import math
import os
import signal
import stat
import struct
import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest
from fault_server import FaultServer, body, chunk, cut, finish, hang, sse, stall

from app.core import errors
from app.emulator import Emulator

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
KEY = "5e0c1d2a3b4f49c8a7e6d5c4b3a29180"
PREVIEW = "2024-10-01-preview"


@pytest.fixture(scope="module")
def emu():
    with Emulator(token_rate=0) as e:
        yield e


def base_env(home: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "OPENAI_", "PARLEY_"))},
        "AZURE_OPENAI_API_KEY": KEY,
        "OPENAI_API_VERSION": PREVIEW,
        "PARLEY_HOME": str(home),
        "PYTHONPATH": str(ROOT),
    }


def parley(
    home: Path,
    *args: str,
    endpoint: str | None = None,
    input: bytes | None = None,
    timeout: float = 60,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    e = base_env(home)
    if endpoint is not None:
        e["AZURE_OPENAI_ENDPOINT"] = endpoint
    e.update(env)
    r = subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=e,
        cwd=ROOT,
        input=input,
        capture_output=True,
        timeout=timeout,
    )
    return subprocess.CompletedProcess(
        r.args, r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
    )


def clean(r: subprocess.CompletedProcess[str]) -> None:
    for text in (r.stdout, r.stderr):
        assert "Traceback" not in text and "Exception ignored" not in text, r.stderr
        assert "unexpected error" not in text, r.stderr


def silent_wav(path: Path, seconds: float = 1.0, amplitude: int = 0) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        n = int(16000 * seconds)
        w.writeframes(
            b"".join(struct.pack("<h", int(amplitude * math.sin(i / 5))) for i in range(n))
            if amplitude
            else b"\0\0" * n
        )
    return path


# -- 7b, 12: files --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["file-as-folder", "missing-proc"])
def test_speak_to_an_unwritable_path_says_so_without_a_traceback(tmp_path, where):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    out = blocker / "out.wav" if where == "file-as-folder" else Path("/proc/self/nope/out.wav")
    r = parley(tmp_path / "home", "--demo", "speak", "Hello there.", "-o", str(out))
    clean(r)
    assert r.returncode == 2, r.stderr
    assert "Cannot write" in r.stderr and str(out) in r.stderr
    assert not list(tmp_path.glob("**/*.part"))


def _no_audio_left(folder: Path) -> None:
    assert not list(folder.glob("*.part")), list(folder.iterdir())
    assert not (folder / "out.wav").exists()


def test_speak_cut_mid_stream_leaves_no_partial_file_in_any_run(tmp_path):
    for _ in range(4):
        r = parley(
            tmp_path / "home",
            "--demo",
            "speak",
            "fault:cut " + "Hello there. " * 40,
            "-o",
            str(tmp_path / "out.wav"),
        )
        clean(r)
        assert r.returncode == 7, r.stderr
        _no_audio_left(tmp_path)


def test_speak_stalled_mid_stream_times_out_and_leaves_no_partial_file(tmp_path):
    started = time.monotonic()
    r = parley(
        tmp_path / "home",
        "--demo",
        "--timeout",
        "2",
        "speak",
        "fault:hang hello",
        "-o",
        str(tmp_path / "out.wav"),
    )
    clean(r)
    assert r.returncode == 7, r.stderr
    assert time.monotonic() - started < 15
    _no_audio_left(tmp_path)


def test_speak_stopped_with_ctrl_c_leaves_no_partial_file(tmp_path):
    e = base_env(tmp_path / "home")
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "--demo",
            "speak",
            "fault:slow=3 " + "Hello there. " * 20,
            "-o",
            str(tmp_path / "out.wav"),
        ],
        env=e,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl+C reaches it even when this run was started in the background, whose children ignore SIGINT.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list(tmp_path.glob("*.part")):
        time.sleep(0.05)
    assert list(tmp_path.glob("*.part")), "the speech never started"
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 130, err
    assert "Traceback" not in err
    _no_audio_left(tmp_path)


def _small_files() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))  # a disk that fills after 20 KB per file
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def test_image_on_a_full_disk_says_so_and_leaves_no_partial_file(tmp_path):
    e = base_env(tmp_path / "home")
    out = tmp_path / "out.png"
    r = subprocess.run(
        [sys.executable, "-m", "app", "--demo", "image", "a red bicycle", "-o", str(out)],
        env=e,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_small_files,
    )
    clean(r)
    assert r.returncode == 2, r.stderr
    assert "Cannot write" in r.stderr
    assert not out.exists() and not list(tmp_path.glob("*.part"))


# -- 8: input that is not UTF-8 ---------------------------------------------------------------------------------


def test_stdin_that_is_not_utf8_exits_2_with_words(tmp_path):
    r = parley(tmp_path, "--demo", "ask", "-", input=b"caf\xe9 \xff\xfe\x80 random bytes")
    clean(r)
    assert r.returncode == 2, r.stderr
    assert "UTF-8" in r.stderr and "UnicodeEncodeError" not in r.stderr


def test_an_argument_that_is_not_utf8_exits_2_with_words(tmp_path):
    e = base_env(tmp_path)
    r = subprocess.run(
        [sys.executable.encode(), b"-m", b"app", b"--demo", b"ask", b"caf\xe9 \xff"],
        env=e,
        cwd=ROOT,
        capture_output=True,
    )
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 2, err
    assert "UTF-8" in err and "Traceback" not in err and "UnicodeEncodeError" not in err


# -- 10: --timeout on every command, progress while waiting -------------------------------------------------------


COMMANDS = {
    "ask": ["ask", "hi"],
    "ask-no-stream": ["ask", "hi", "--no-stream"],
    "complete": ["complete", "hi", "-m", "gpt-35-turbo-instruct"],
    "embed": ["embed", "hi", "-m", "text-embedding-3-large"],
    "speak": ["speak", "hi", "-m", "tts-hd", "-o", "{tmp}/out.wav"],
    "transcribe": ["transcribe", "{tmp}/speech.wav", "-m", "whisper"],
    "image": ["image", "a cat", "-m", "dall-e-3", "-o", "{tmp}/out.png"],
    "jobs": ["jobs", "batches"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_timeout_bounds_a_hang_on_every_command(tmp_path, command):
    silent_wav(tmp_path / "speech.wav", amplitude=8000)
    args = [a.replace("{tmp}", str(tmp_path)) for a in COMMANDS[command]]
    with FaultServer(hang) as server:
        started = time.monotonic()
        r = parley(tmp_path / "home", "--timeout", "2", *args, endpoint=server.endpoint)
        seconds = time.monotonic() - started
    clean(r)
    assert r.returncode == 7, (command, r.stderr)
    # One timeout; the calls that are not ours to bound (jobs, a whole chat answer) take one per attempt.
    assert seconds < (14 if command in ("jobs", "ask-no-stream") else 9), (command, seconds)
    assert not list(tmp_path.glob("*.part"))


def test_progress_is_shown_on_stderr_while_waiting_never_in_json(tmp_path):
    with FaultServer(hang) as server:
        r = parley(tmp_path, "--timeout", "5", "ask", "hi", "--json", endpoint=server.endpoint)
    clean(r)
    assert r.returncode == 7
    assert "waiting for Azure" in r.stderr, r.stderr
    assert "waiting" not in r.stdout
    for line in r.stdout.splitlines():
        json.loads(line)


def test_timeout_must_be_a_positive_number(tmp_path):
    r = parley(tmp_path, "--demo", "--timeout", "0", "ask", "hi")
    assert r.returncode == 2 and "--timeout" in r.stderr


# -- 11: stalled and cut bodies of image/embed, and a stalled image download ---------------------------------------


def test_a_stalled_embeddings_body_times_out_with_exit_7(tmp_path):
    with FaultServer(lambda h: stall(h, b'{"object": "list", "data": [')) as server:
        started = time.monotonic()
        r = parley(
            tmp_path,
            "--timeout",
            "2",
            "embed",
            "hi",
            "-m",
            "text-embedding-3-large",
            endpoint=server.endpoint,
        )
        seconds = time.monotonic() - started
    clean(r)
    assert r.returncode == 7, r.stderr
    assert "ReadTimeout" not in r.stderr and seconds < 12


@pytest.mark.parametrize("command", ["embed", "image"])
def test_a_cut_body_is_retried_then_exits_7(tmp_path, command):
    args = (
        ["embed", "hi", "-m", "e"]
        if command == "embed"
        else ["image", "cat", "-m", "d", "-o", str(tmp_path / "o.png")]
    )
    with FaultServer(lambda h: cut(h, b'{"data": [')) as server:
        r = parley(tmp_path / "home", "--retries", "2", *args, endpoint=server.endpoint)
    clean(r)
    assert r.returncode == 7, r.stderr
    assert server.requests == 3
    assert "retrying" in r.stderr


def test_a_stalled_image_body_times_out_with_exit_7(tmp_path):
    with FaultServer(lambda h: stall(h, b'{"created": 0, "data": [{"b64_json": "iVBOR')) as server:
        r = parley(
            tmp_path / "home",
            "--timeout",
            "2",
            "image",
            "cat",
            "-m",
            "dall-e-3",
            "-o",
            str(tmp_path / "o.png"),
            endpoint=server.endpoint,
        )
    clean(r)
    assert r.returncode == 7, r.stderr
    assert not list(tmp_path.glob("*.png*"))


def test_a_stalled_image_download_times_out_with_exit_7(tmp_path):
    box: dict[str, str] = {}

    def post(h):
        body(
            h,
            200,
            json.dumps({"created": 0, "data": [{"url": box["url"], "revised_prompt": "a cat"}]}).encode(),
        )

    with FaultServer(post, get=lambda h: stall(h, b"\x89PNG\r\n\x1a\n", ctype="image/png")) as server:
        box["url"] = server.endpoint + "blob/img.png"
        started = time.monotonic()
        r = parley(
            tmp_path / "home",
            "--timeout",
            "2",
            "image",
            "cat",
            "-m",
            "dall-e-3",
            "--response-format",  # DALL-E's b64_json|url choice (--format is now the file's format)
            "url",
            "-o",
            str(tmp_path / "o.png"),
            endpoint=server.endpoint,
        )
        seconds = time.monotonic() - started
    clean(r)
    assert r.returncode == 7, r.stderr
    assert "ReadTimeout" not in r.stderr and seconds < 12
    assert server.gets >= 1 and not list(tmp_path.glob("*.png*"))


# -- 14: the key never reaches any output ---------------------------------------------------------------------------


def _echoing(h):
    sse(
        h,
        b'data: {"id":"","object":"","created":0,"model":"","choices":[],"prompt_filter_results":[{"prompt_index":0,'
        b'"content_filter_results":{"custom_blocklists":{"filtered":false,"details":[{"filtered":false,"id":"'
        + KEY.encode()
        + b'"}]}}}]}\n\n',
        chunk(f"your key is {KEY} and api-key: {KEY}"),
        finish(" bye", model=f"gpt-4o-{KEY}"),
    )


@pytest.mark.parametrize("mode", ["text", "json"])
def test_a_key_echoed_in_deltas_filters_and_done_is_redacted(tmp_path, mode):
    with FaultServer(_echoing) as server:
        r = parley(tmp_path, "ask", "hi", *(["--json"] if mode == "json" else []), endpoint=server.endpoint)
    clean(r)
    assert r.returncode == 0, r.stderr
    assert "your key is" in r.stdout
    assert KEY not in r.stdout and KEY not in r.stderr
    if mode == "json":
        events = [json.loads(line) for line in r.stdout.splitlines()]
        assert {e["type"] for e in events} >= {"delta", "done", "filter"}


def test_a_key_echoed_in_a_revised_prompt_is_redacted_on_stderr(tmp_path):
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0").decode()

    def post(h):
        body(
            h,
            200,
            json.dumps({"created": 0, "data": [{"b64_json": png, "revised_prompt": f"cat {KEY}"}]}).encode(),
        )

    with FaultServer(post) as server:
        r = parley(
            tmp_path,
            "image",
            "cat",
            "-m",
            "d",
            "-o",
            str(tmp_path / "o.png"),
            "--json",
            endpoint=server.endpoint,
        )
    clean(r)
    assert r.returncode == 0, r.stderr
    assert "Revised prompt: cat" in r.stderr
    assert KEY not in r.stdout and KEY not in r.stderr


# -- 16: endpoints ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["myres.openai.azure.com", "garbage", "ftp://myres.openai.azure.com/"])
def test_a_bad_endpoint_exits_2_naming_the_fix(tmp_path, endpoint):
    started = time.monotonic()
    r = parley(tmp_path, "ask", "hi", endpoint=endpoint)
    clean(r)
    assert r.returncode == 2, r.stderr
    assert "AZURE_OPENAI_ENDPOINT" in r.stderr and "https://" in r.stderr
    assert "retrying" not in r.stderr and time.monotonic() - started < 10


def test_a_full_rest_url_in_the_environment_is_trimmed(tmp_path, emu):
    url = emu.endpoint.rstrip("/") + "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
    emu.clear()
    r = parley(tmp_path, "ask", "hello", endpoint=url)
    clean(r)
    assert r.returncode == 0, r.stderr
    paths = [q.path for q in emu.requests if q.method == "POST"]
    assert paths == ["/openai/deployments/gpt-4o/chat/completions"]


# -- 17: content checked locally -----------------------------------------------------------------------------------


@pytest.mark.parametrize("content,what", [(b"hello, this is a note\n", "text"), (b"", "empty")])
def test_a_file_that_is_not_an_image_is_refused_before_sending(tmp_path, emu, content, what):
    fake = tmp_path / "photo.png"
    fake.write_bytes(content)
    emu.clear()
    r = parley(tmp_path / "home", "ask", "what is this?", "--image", str(fake), endpoint=emu.endpoint)
    clean(r)
    assert r.returncode == 2, r.stderr
    assert "photo.png" in r.stderr and what in r.stderr
    assert not [q for q in emu.requests if q.method == "POST"]


def test_a_silent_wav_is_not_sent_to_whisper(tmp_path, emu):
    wav = silent_wav(tmp_path / "quiet.wav", seconds=2)
    emu.clear()
    r = parley(tmp_path / "home", "transcribe", str(wav), "-m", "whisper", endpoint=emu.endpoint)
    clean(r)
    assert r.returncode == 2, r.stderr
    assert "quiet.wav" in r.stderr and "silent" in r.stderr
    assert not [q for q in emu.requests if q.method == "POST"]


def test_a_text_file_named_wav_is_not_sent(tmp_path, emu):
    fake = tmp_path / "talk.wav"
    fake.write_text("not audio at all")
    emu.clear()
    r = parley(tmp_path / "home", "transcribe", str(fake), "-m", "whisper", endpoint=emu.endpoint)
    clean(r)
    assert r.returncode == 2, r.stderr
    assert "talk.wav" in r.stderr and "text" in r.stderr
    assert not [q for q in emu.requests if q.method == "POST"]


def test_quiet_speech_is_still_sent(tmp_path, emu):
    wav = silent_wav(tmp_path / "soft.wav", seconds=1, amplitude=600)  # about -37 dBFS: quiet, not silent
    r = parley(tmp_path / "home", "transcribe", str(wav), "-m", "whisper", endpoint=emu.endpoint)
    clean(r)
    assert r.returncode == 0, r.stderr


# -- 18: speech advice ------------------------------------------------------------------------------------------


def test_speech_at_an_old_preview_is_told_which_preview_serves_it(tmp_path, emu):
    r = parley(
        tmp_path,
        "speak",
        "hi",
        "-m",
        "tts-hd",
        "-o",
        str(tmp_path / "o.wav"),
        endpoint=emu.endpoint,
        OPENAI_API_VERSION="2023-12-01-preview",
    )
    clean(r)
    assert r.returncode == 5, r.stderr
    assert "2023-12-01-preview" in r.stderr and "2024-02-15-preview" in r.stderr
    assert "needs a preview api-version" not in r.stderr


@pytest.mark.parametrize(
    "version,says,never",
    [
        ("2024-10-21", "preview api-version", "region"),
        ("2023-12-01-preview", "2024-02-15-preview", "needs a preview"),
        ("2024-10-01-preview", "North Central US or Sweden Central", "needs a preview"),
    ],
)
def test_speech_404_advice_follows_the_api_version(version, says, never):
    problem = errors.from_status(
        404,
        {"error": {"code": "404", "message": "Resource not found"}},
        ctx=errors.Context("speech", "tts", version),
    )
    words = f"{problem.detail} {problem.action}"
    assert says in words and never not in words, words


# -- 4/15: the settings file's notes, private files -----------------------------------------------------------------


def test_an_unreadable_settings_file_is_told_once_on_stderr(tmp_path):
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "profiles.json").write_text("{not json")
    first = parley(home, "ask", "hi")
    clean(first)
    assert first.returncode == 2 and "not configured" in first.stderr, first.stderr
    assert first.stderr.count("not valid JSON") == 1, first.stderr
    second = parley(home, "ask", "hi")  # the file was set aside: nothing more to tell
    assert second.returncode == 2 and "not valid JSON" not in second.stderr, second.stderr


def test_the_cli_makes_existing_files_private(tmp_path):
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    loose = home / "data" / "history.sqlite3"
    loose.write_bytes(b"")
    loose.chmod(0o644)
    r = parley(home, "--demo", "embed", "hi")
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600
