"""Edges of the command line found by an audit, as real processes: file names that are not UTF-8, endpoints that
are not URLs, `-o` paths that are not regular files, and a Realtime handshake that never answers. Every one ends in
words and the right exit code, never a traceback, and never replaces what the user pointed at."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.audio.wav import encode_wav, with_comment
from app.emulator import Emulator, imaging

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
KEY = "5e0c1d2a3b4f49c8a7e6d5c4b3a29180"
CAFE = os.fsdecode(b"caf\xe9")  # a Latin-1 file name: not UTF-8, kept by Python as a surrogate escape


@pytest.fixture(scope="module")
def emu():
    with Emulator(token_rate=0) as e:
        yield e


def parley(home: Path, *args: str, endpoint: str | None = None, timeout: float = 60):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "OPENAI_", "PARLEY_"))},
        "AZURE_OPENAI_API_KEY": KEY,
        "OPENAI_API_VERSION": "2025-04-01-preview",
        "PARLEY_HOME": str(home),
        "PARLEY_MAX_RETRIES": "0",
        "PYTHONPATH": str(ROOT),
    }
    if endpoint is not None:
        env["AZURE_OPENAI_ENDPOINT"] = endpoint
    r = subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, cwd=ROOT, capture_output=True, timeout=timeout
    )
    return subprocess.CompletedProcess(
        r.args, r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
    )


def clean(r: subprocess.CompletedProcess[str]) -> None:
    for text in (r.stdout, r.stderr):
        assert "Traceback" not in text and "unexpected error" not in text, r.stderr
        assert "Something went wrong" not in text and "logging stopped" not in text, r.stderr


def spoken(path: Path, words: str, rate: int = 16000) -> Path:
    t = np.arange(int(rate * 1.0)) / rate
    sig = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    path.write_bytes(with_comment(encode_wav(sig, rate), words))
    return path


def log_lines(home: Path) -> list[dict]:
    raw = (home / "logs" / "parley.log").read_bytes()
    return [json.loads(line) for line in raw.decode("utf-8").splitlines()]  # valid UTF-8 JSON, every line


# -- file names in any encoding -----------------------------------------------------------------------------------


@pytest.mark.parametrize("json_mode", [False, True])
def test_transcribe_a_file_whose_name_is_not_utf8(tmp_path, emu, json_mode):
    wav = spoken(tmp_path / f"{CAFE}.wav", "bonjour from the cafe")
    emu.clear()
    r = parley(
        tmp_path / "home", "transcribe", str(wav), "-m", "whisper", *(["--json"] if json_mode else []),
        endpoint=emu.endpoint,
    )  # fmt: skip
    clean(r)
    assert r.returncode == 0, r.stderr
    assert "bonjour from the cafe" in r.stdout
    name, _ = emu.requests[-1].files["file"]
    assert name == "caf\ufffd.wav"  # the undecodable byte replaced: readable, and text as multipart needs


def test_talk_chained_with_a_file_whose_name_is_not_utf8(tmp_path, emu):
    wav = spoken(tmp_path / f"{CAFE}.wav", "what time is it")
    out = tmp_path / f"{CAFE}-answer.wav"
    r = parley(tmp_path / "home", "--demo", "talk", str(wav), "--engine", "chained", "-o", str(out))
    clean(r)
    assert r.returncode == 0, r.stderr
    assert "what time is it" in r.stdout and out.read_bytes().startswith(b"RIFF")


def test_image_edit_input_and_mask_names_are_file_names_not_words(tmp_path, emu):
    source, mask = tmp_path / f"{CAFE}.png", tmp_path / f"{CAFE}-mask.png"
    source.write_bytes(imaging.png(1024, 1024, "in"))
    mask.write_bytes(imaging.png(1024, 1024, "mask", transparent=True))
    out = tmp_path / f"{CAFE}-out.png"
    emu.clear()
    r = parley(
        tmp_path / "home", "image", "edit", str(source), "make it blue", "-m", "gpt-image-1",
        "--mask", str(mask), "-o", str(out), endpoint=emu.endpoint,
    )  # fmt: skip
    clean(r)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes().startswith(b"\x89PNG")
    assert emu.requests[-1].files["image"][0] == "caf\ufffd.png"


def test_words_that_are_not_utf8_are_still_refused(tmp_path, emu):
    r = parley(tmp_path / "home", "image", "edit", str(tmp_path / "in.png"), f"make it {CAFE}", "-m", "gpt-image-1",
               "-o", str(tmp_path / "o.png"), endpoint=emu.endpoint)  # fmt: skip
    clean(r)
    assert r.returncode == 2 and "not valid UTF-8" in r.stderr and "0xe9" in r.stderr


def test_a_missing_image_with_a_non_utf8_name_is_logged_escaped(tmp_path, emu):
    home = tmp_path / "home"
    r = parley(home, "ask", "--image", str(tmp_path / f"x{CAFE}.png"), "hi", endpoint=emu.endpoint)
    clean(r)
    assert r.returncode == 2 and "Cannot read the image" in r.stderr
    assert any(
        f"x{CAFE}.png" in line["msg"] for line in log_lines(home)
    )  # escaped, and read back as the name
    assert b"xcaf\\udce9.png" in (home / "logs" / "parley.log").read_bytes()


def test_every_file_argument_is_typed_as_a_file_name():
    """Derived from the parser, not a hand-kept list: an argument whose metavar names a file takes FileName."""
    from app.cli.common import FileName
    from app.cli.parser import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    seen = set()
    for name, command in sub.choices.items():
        for action in command._actions:
            metavar = str(action.metavar or "")
            if "FILE" in metavar or metavar.endswith((".wav", ".png")):
                assert action.type is FileName, (name, action.dest)
                seen.add((name, action.dest))
    assert ("image", "mask") in seen and ("talk", "file") in seen and ("ask", "image") in seen


# -- endpoints that are not URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint, words",
    [
        ("https:myres.openai.azure.com", "Did you mean https://myres.openai.azure.com/?"),
        ("https:/myres.openai.azure.com/", "Did you mean https://myres.openai.azure.com/?"),
        ("javascript:alert(1)", "must start with https://"),
        ("https://[::1", "not a valid address"),
        ("https://%zz/", "not a valid host name"),
        ("https://my res.openai.azure.com/", "spaces"),
        ("https://myres.openai.azure.com:99999/", "port"),
    ],
)
def test_an_endpoint_that_is_not_a_url_is_exit_2_with_the_fix(tmp_path, endpoint, words):
    started = time.monotonic()
    r = parley(tmp_path / "home", "ask", "hi", endpoint=endpoint, timeout=30)
    clean(r)
    assert r.returncode == 2, r.stderr
    assert words in r.stderr and "AZURE_OPENAI_ENDPOINT" in r.stderr
    assert "ValueError" not in r.stderr and "retrying" not in r.stderr.lower()
    assert time.monotonic() - started < 15


# -- -o paths that are not regular files ---------------------------------------------------------------------------


def test_speak_image_and_talk_follow_a_symlink_and_keep_it(tmp_path, emu):
    home = tmp_path / "home"
    real = tmp_path / "real"
    real.mkdir()
    for command, target_name, magic in (
        (["speak", "hello there", "-m", "tts-hd"], "target.wav", b"RIFF"),
        (["image", "a cat", "-m", "gpt-image-1"], "target.png", b"\x89PNG"),
        (["--demo", "talk", str(spoken(tmp_path / "q.wav", "hi")), "--engine", "chained"], "t.wav", b"RIFF"),
    ):
        target = real / target_name
        target.write_bytes(b"")
        link = tmp_path / f"link-{target_name}"
        link.symlink_to(target)
        r = parley(home, *command, "-o", str(link), endpoint=None if "--demo" in command else emu.endpoint)
        clean(r)
        assert r.returncode == 0, r.stderr
        assert link.is_symlink() and os.readlink(link) == str(target)
        assert target.read_bytes().startswith(magic)
        assert not list(real.glob("*.part")) and not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("command", ["speak", "image", "talk"])
@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_an_output_that_is_not_a_regular_file_is_refused_and_kept(tmp_path, emu, command, kind):
    out = tmp_path / "out"
    if kind == "fifo":
        os.mkfifo(out)
    else:
        out.mkdir()
    args = {
        "speak": ["speak", "hello", "-m", "tts-hd"],
        "image": ["image", "a cat", "-m", "gpt-image-1"],
        "talk": ["talk", str(spoken(tmp_path / "q.wav", "hi")), "--engine", "chained"],
    }[command]
    emu.clear()
    r = parley(tmp_path / "home", *args, "-o", str(out), endpoint=emu.endpoint, timeout=30)
    clean(r)
    assert r.returncode == 2, r.stderr
    assert str(out) in r.stderr and ("not a regular file" in r.stderr or "folder" in r.stderr)
    assert (out.is_fifo() if kind == "fifo" else out.is_dir()) and not emu.requests
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out")) == ["out"]


def test_the_output_check_refuses_a_device_without_touching_it():
    from app.core import outfiles

    with pytest.raises(outfiles.NotARegularFile, match="device"):
        outfiles.target(Path(os.devnull))


# -- a Realtime handshake that never comes -------------------------------------------------------------------------


@pytest.fixture
def silent_server():
    """Accepts TCP connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_the_realtime_handshake_honours_the_timeout(tmp_path, silent_server):
    wav = spoken(tmp_path / "a.wav", "hi")
    started = time.monotonic()
    r = parley(
        tmp_path / "home", "--retries", "0", "--timeout", "3", "talk", str(wav), "-m", "rt",
        "-o", str(tmp_path / "t.wav"), endpoint=silent_server, timeout=30,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    clean(r)
    assert r.returncode == 7, r.stderr
    assert elapsed < 9, elapsed  # was 11 s: the handshake waited its own 10 s
    assert "handshake" not in r.stderr and "within 3 s" in r.stderr, r.stderr
