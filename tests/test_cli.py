"""The real `parley` process against the emulator: stdout, stderr and every exit code of docs/cli.md."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import wave
import zlib
from pathlib import Path

import pytest

from app.emulator import Emulator

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
KEY = "5e0c1d2a3b4f49c8a7e6d5c4b3a29180"
PREVIEW = "2024-10-01-preview"


@pytest.fixture(scope="module")
def emu():
    with Emulator(token_rate=0) as e:
        yield e


@pytest.fixture
def env(emu, tmp_path):
    """The environment of a configured shell: the SDK's variables pointing at the emulator, a private PARLEY_HOME."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AZURE_", "OPENAI_", "PARLEY_")) and k not in ("QT_QPA_PLATFORM", "DISPLAY")
    }
    return {
        **base,
        "AZURE_OPENAI_ENDPOINT": emu.endpoint,
        "AZURE_OPENAI_API_KEY": KEY,
        "OPENAI_API_VERSION": PREVIEW,
        "PARLEY_HOME": str(tmp_path / "home"),
        "PARLEY_MAX_RETRIES": "1",
        "PYTHONPATH": str(ROOT),
    }


def parley(env, *args, input=None, timeout=30, **overrides):
    e = {**env, **overrides}
    for k, v in overrides.items():
        if v is None:
            e.pop(k)
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=e,
        cwd=ROOT,
        input=input,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )


def no_traceback(r):
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# -- no network needed ----------------------------------------------------------------------------------------


def test_version_is_fast_and_imports_neither_qt_nor_openai(env):
    code = (
        "import json, sys; from app.cli import main; rc = main(['--version']); "
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'openai', 'httpx2', 'numpy', 'keyring'}); "
        "print(json.dumps([rc, heavy]))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    first, second = r.stdout.splitlines()
    assert first == "parley 0.1.0"
    assert json.loads(second) == [0, []], r.stdout
    best = min(_timed([sys.executable, "-m", "app", "--version"], env) for _ in range(3))
    assert best < 1.0, f"parley --version took {best:.3f} s"


def test_window_path_without_a_display_loads_none_of_the_commands_machinery(env):
    code = (
        "import json, sys; from app.cli import main; rc = main([]); "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in {'PySide6', 'openai', 'numpy', 'keyring'} "
        "or m.startswith(('app.ui', 'app.emulator', 'app.core.connection', 'app.core.chat', 'app.audio', "
        "'app.cli.parser'))); "
        "print(json.dumps([rc, loaded]))"
    )
    headless = {k: v for k, v in env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run(
        [sys.executable, "-c", code], env=headless, cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert json.loads(r.stdout) == [2, []], r.stdout + r.stderr
    assert "no display to open the window on" in r.stderr


@pytest.mark.parametrize("argv", [[], ["--demo"], ["--quick"], ["--demo", "--quick"], ["--quick", "--demo"]])
def test_a_plain_launch_reads_exactly_what_the_parser_reads(argv):
    """The desktop's launches skip argparse (the window's start); what they read must be what the parser reads, so
    a window option added to the parser and not to the plain path fails here."""
    from app.cli import plain_launch
    from app.cli.parser import window_arguments

    plain, parsed = plain_launch(argv), window_arguments(argv)
    assert plain is not None and parsed is not None
    assert vars(plain) == vars(parsed)


@pytest.mark.parametrize(
    "argv", [["--tab", "voice"], ["--demo", "--theme", "dark"], ["ask", "hi"], ["--dem"]]
)
def test_anything_else_goes_to_the_parser(argv):
    from app.cli import plain_launch

    assert plain_launch(argv) is None


def _option_help(help_text: str) -> dict[str, str]:
    """Each option of a `--help` page with its help words (empty when it has none)."""
    options: dict[str, str] = {}
    current = None
    section = help_text.split("\noptions:\n", 1)[1]
    for line in section.splitlines():
        if line.startswith("  -"):
            flags, _, words = line.strip().partition("  ")
            current = flags.split(",")[-1].split()[0]
            options[current] = words.strip()
        elif current and line.startswith("    "):
            options[current] = (options[current] + " " + line.strip()).strip()
    return options


def test_every_option_of_complete_has_help_worded_as_ask_words_it(env):
    complete = _option_help(parley(env, "complete", "--help").stdout)
    ask = _option_help(parley(env, "ask", "--help").stdout)
    assert [o for o, words in complete.items() if not words] == []
    for option in ("--max-tokens", "--temperature"):
        shared = ask[option].split(" (")[0].split(";")[0]
        assert complete[option].startswith(shared), (option, complete[option], ask[option])
    assert "(default: 100)" in complete["--max-tokens"]
    assert "(default: 0.0)" in complete["--temperature"]


def _timed(cmd, env) -> float:
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.strip() == "parley 0.1.0"
    return time.perf_counter() - t


def test_no_configuration_is_exit_2_naming_how_to_configure(env):
    r = parley(env, "ask", "hello", AZURE_OPENAI_ENDPOINT=None, AZURE_OPENAI_API_KEY=None)
    assert r.returncode == 2
    assert "Settings" in r.stderr and "AZURE_OPENAI_ENDPOINT" in r.stderr and "--demo" in r.stderr
    assert r.stdout == ""
    no_traceback(r)


def test_unknown_profile_is_exit_2(env):
    r = parley(env, "ask", "hi", "--profile", "Nowhere")
    assert r.returncode == 2
    assert "no profile named 'Nowhere'" in r.stderr
    no_traceback(r)


def test_saved_profile_without_a_usable_key_is_exit_2(env):
    config = Path(env["PARLEY_HOME"]) / "config"
    config.mkdir(parents=True)
    (config / "profiles.json").write_text(
        json.dumps(
            {
                "version": 1,
                "active": "Work",
                "profiles": [
                    {"name": "Work", "endpoint": "https://example.openai.azure.com/", "auth": "key"}
                ],
            }
        ),
        encoding="utf-8",
    )
    r = parley(env, "ask", "hi", AZURE_OPENAI_ENDPOINT=None, AZURE_OPENAI_API_KEY=None)
    assert r.returncode == 2  # no keyring backend here, or (with one) no key stored for Work
    assert "keyring" in r.stderr.lower() or "No API key stored for profile Work" in r.stderr
    assert "AZURE_OPENAI_API_KEY" in r.stderr
    no_traceback(r)


@pytest.mark.parametrize(
    "args", [["ask"], ["ask", "hi", "--temperature", "9"], ["frobnicate"], ["ask", "hi", "--bogus"]]
)
def test_bad_arguments_are_exit_2(env, args):
    r = parley(env, *args)
    assert r.returncode == 2, r.stderr
    assert "usage:" in r.stderr
    no_traceback(r)


def test_unexpected_failure_is_one_line_and_the_log_has_the_detail(monkeypatch, capsys, tmp_path):
    from app import cli
    from app.cli import ask
    from app.core import logs

    monkeypatch.setenv("PARLEY_HOME", str(tmp_path / "home"))

    def boom(args, conn, cancel):
        raise ZeroDivisionError("deep inside")

    monkeypatch.setattr(ask, "run", boom)
    try:
        rc = cli.main(["--demo", "ask", "hi"])
    finally:
        logs.shutdown_logging()
    err = capsys.readouterr().err
    assert rc == 1
    assert "unexpected error: ZeroDivisionError: deep inside" in err and "details in" in err
    assert "Traceback" not in err
    log = (tmp_path / "home" / "logs" / "parley.log").read_text(encoding="utf-8")
    assert "ZeroDivisionError" in log and "Traceback" in log


# -- ask ----------------------------------------------------------------------------------------------------------


def test_ask_from_stdin_streams_the_answer_and_the_debug_log_holds_no_key(env, tmp_path):
    r = parley(env, "--log-level", "DEBUG", "ask", "-", input="len:60 tell me about tests\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(
        "> len:60 tell me about tests"
    )  # the emulator's demo Markdown quotes the prompt
    assert "**" in r.stdout and r.stdout.endswith("\n")
    no_traceback(r)
    log = Path(env["PARLEY_HOME"]) / "logs" / "parley.log"
    text = log.read_text(encoding="utf-8")
    loggers = {json.loads(line)["logger"] for line in text.splitlines()}
    assert any(n.startswith("openai") for n in loggers) and any(n.startswith("httpcore2") for n in loggers)
    assert KEY not in text and KEY[:10] not in text


def test_ask_full_demo_markdown(env):
    r = parley(env, "ask", "hello there")
    assert r.returncode == 0, r.stderr
    assert "## " in r.stdout and "```python" in r.stdout and "**hello**" in r.stdout


def test_prompt_filter_is_exit_3(env):
    r = parley(env, "ask", "filter:prompt how do I")
    assert r.returncode == 3
    assert "content filter" in r.stderr.lower() and "Violence (medium)" in r.stderr
    assert "Request id:" in r.stderr
    assert r.stdout == ""
    no_traceback(r)


def test_answer_filter_is_exit_3_with_partial_text(env):
    r = parley(env, "ask", "filter:answer len:80 tell me")
    assert r.returncode == 3
    assert r.stdout.startswith("> filter:answer") and len(r.stdout) > 40
    assert "Content filter: the answer was stopped — Violence (high)." in r.stderr
    no_traceback(r)


def test_wrong_key_is_exit_4(env):
    with Emulator(api_key="right-key-for-this-test", token_rate=0) as strict:
        r = parley(
            env, "ask", "hi", AZURE_OPENAI_ENDPOINT=strict.endpoint, AZURE_OPENAI_API_KEY="wrong-key-0000"
        )
    assert r.returncode == 4
    assert "Not authorised" in r.stderr and "API key" in r.stderr
    no_traceback(r)


def test_unknown_deployment_is_exit_5(env):
    r = parley(env, "ask", "-m", "nope", "hi")
    assert r.returncode == 5
    assert "Deployment 'nope' not found" in r.stderr
    no_traceback(r)


def test_unknown_api_version_is_exit_5(env):
    r = parley(env, "ask", "hi", OPENAI_API_VERSION="1999-01-01")
    assert r.returncode == 5
    assert "1999-01-01" in r.stderr
    no_traceback(r)


def test_rate_limit_after_retries_is_exit_6(env):
    r = parley(env, "ask", "fault:429 hi")
    assert r.returncode == 6
    assert "Rate limited — retrying in 0.3 s (attempt 1 of 1)" in r.stderr
    assert r.stderr.count("retrying in") == 1
    no_traceback(r)


def test_closed_port_is_exit_7(env):
    r = parley(env, "--retries", "0", "ask", "hi", AZURE_OPENAI_ENDPOINT=f"http://127.0.0.1:{free_port()}")
    assert r.returncode == 7
    assert "connection refused" in r.stderr
    no_traceback(r)


def test_dropped_stream_is_exit_7_with_partial_text(env):
    r = parley(env, "ask", "fault:cut len:80 hi")
    assert r.returncode == 7
    assert r.stdout.startswith("> fault:cut") and r.stdout.endswith("\n")
    assert "dropped" in r.stderr
    no_traceback(r)


def test_json_lines(env):
    r = parley(env, "ask", "--json", "filter:async len:30 hi")
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "started" and types[-1] == "done"
    assert {"delta", "filter"} <= set(types)
    done = events[-1]
    assert (
        done["finish_reason"] == "stop"
        and done["request_id"]
        and events[0]["request_id"] == done["request_id"]
    )
    assert done["usage"]["total_tokens"] > 0
    completion = [e for e in events if e["type"] == "filter" and e["source"] == "completion"]
    assert any(
        c["name"] == "protected_material_text" and c.get("detected") for c in completion[-1]["categories"]
    )


def test_json_problem_line(env):
    r = parley(env, "ask", "--json", "filter:prompt hi")
    assert r.returncode == 3
    (line,) = [json.loads(x) for x in r.stdout.splitlines()]
    assert line["type"] == "problem" and line["kind"] == "filtered" and line["request_id"]
    assert line["verdict"]["filtered"] is True


def test_image_attachment_reaches_azure_as_image_url(env, emu, tmp_path):
    png = tmp_path / "dot.png"
    png.write_bytes(tiny_png())
    emu.clear()
    r = parley(env, "ask", "what is this?", "--image", str(png), "--system", "Be brief.")
    assert r.returncode == 0, r.stderr
    body = [q for q in emu.requests if q.path.endswith("/chat/completions")][-1].json
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    parts = body["messages"][1]["content"]
    assert parts[0] == {"type": "text", "text": "what is this?"}
    assert parts[1]["type"] == "image_url" and parts[1]["image_url"]["url"].startswith(
        "data:image/png;base64,"
    )


def test_ctrl_c_keeps_partial_output_and_exits_130(env):
    p = subprocess.Popen(
        [sys.executable, "-m", "app", "ask", "fault:slow=15 len:200 hi"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        # Ctrl+C reaches it even when this run was started in the background, whose children ignore SIGINT.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        first = p.stdout.readline()  # the answer has started
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=10)
    finally:
        p.kill()
    assert p.returncode == 130
    assert first.startswith("> fault:slow") and out.endswith("\n")
    assert "Stopped." in err
    no_traceback(subprocess.CompletedProcess([], 130, out, err))


# -- other subcommands ------------------------------------------------------------------------------------------


def test_demo_complete(env):
    r = parley(env, "--demo", "complete", "len:10 once upon", AZURE_OPENAI_ENDPOINT=None)
    assert r.returncode == 0, r.stderr
    assert "once upon" in r.stdout


def test_embed_json_has_3072_dimensions(env):
    r = parley(env, "embed", "-m", "text-embedding-3-large", "hello world", "--json")
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout.splitlines()[0])
    assert obj["type"] == "embedding" and obj["dimensions"] == 3072 and len(obj["embedding"]) == 3072
    assert abs(math.fsum(v * v for v in obj["embedding"]) - 1.0) < 1e-3


def test_speak_writes_a_wav_and_transcribe_prints_text(env, tmp_path):
    out = tmp_path / "out.wav"
    r = parley(
        env, "speak", "-m", "tts-hd", "Hello from the command line.", "-o", str(out), "--voice", "nova"
    )
    assert r.returncode == 0, r.stderr
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (
            24000,
            1,
            2,
        ) and w.getnframes() > 2400
    assert "Saved" in r.stderr

    tone = tmp_path / "tone.wav"
    with wave.open(str(tone), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(
            b"".join(
                struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 16000))) for i in range(16000)
            )
        )
    r = parley(env, "transcribe", "-m", "whisper", str(tone), "--language", "en")
    assert r.returncode == 0, r.stderr
    assert "transcript" in r.stdout and r.stdout.endswith("\n")


def test_image_writes_a_png_and_a_refusal_is_exit_3(env, tmp_path):
    out = tmp_path / "cat.png"
    r = parley(
        env,
        "image",
        "-m",
        "dall-e-3",
        "a cat on a windowsill",
        "-o",
        str(out),
        "--size",
        "1792x1024",
        "--style",
        "natural",
    )
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and struct.unpack(">II", data[16:24]) == (1792, 1024)
    assert "Revised prompt:" in r.stderr

    refused = tmp_path / "no.png"
    r = parley(env, "image", "-m", "dall-e-3", "filter:image a cat", "-o", str(refused))
    assert r.returncode == 3
    assert not refused.exists()
    assert "content filter" in r.stderr.lower() and "Revised prompt:" in r.stderr
    no_traceback(r)


def test_jobs_table(env):
    r = parley(env, "jobs")
    assert r.returncode == 0, r.stderr
    assert "Fine-tuning jobs" in r.stdout and "Batches" in r.stdout


def test_emulator_command_serves_until_sigterm(env):
    p = subprocess.Popen(
        [sys.executable, "-m", "app", "emulator", "--port", "0"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    try:
        line = p.stdout.readline().strip()
        assert line.startswith("Azure OpenAI emulator at http://127.0.0.1:"), line
        url = line.rsplit(" ", 1)[1]
        assert "gpt-4o (chat)" in p.stdout.readline()
        req = urllib.request.Request(
            f"{url}/openai/deployments/gpt-4o/chat/completions?api-version={PREVIEW}",
            data=json.dumps({"messages": [{"role": "user", "content": "len:5 hi"}]}).encode(),
            headers={"api-key": "any", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            answer = json.load(resp)
        assert answer["choices"][0]["message"]["content"]
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=10)
    finally:
        p.kill()
    assert p.returncode == 0
