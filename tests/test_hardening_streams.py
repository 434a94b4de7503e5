"""Hardening (#16): a malformed event line, garbage bytes or a chunk of the wrong shape in the stream end as "the
answer stream broke" (exit 7) with the partial answer kept, never as exit 1 JSONDecodeError/TypeError; a 200 whose body
is not JSON (a proxy's or captive portal's page) ends every command with exit 7 and words that quote it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fault_server import FaultServer, body, chunk, finish, sse

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
KEY = "5e0c1d2a3b4f49c8a7e6d5c4b3a29180"


def parley(server: FaultServer, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "OPENAI_API_VERSION": "2024-10-01-preview",  # speech needs a preview
        **{k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "OPENAI_", "PARLEY_"))},
        "AZURE_OPENAI_ENDPOINT": server.endpoint,
        "AZURE_OPENAI_API_KEY": KEY,
        "PARLEY_HOME": str(home),
        "PARLEY_MAX_RETRIES": "0",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "bad",
    [b"data: {this is not json\n\n", b"data: \xff\xfe\xfd garbage\n\n"],
    ids=["malformed-event", "garbage-bytes"],
)
def test_a_garbled_stream_keeps_the_partial_answer_and_exits_7(tmp_path, bad):
    with FaultServer(lambda h: sse(h, chunk("Hello"), chunk(" there"), bad, chunk(" never"))) as server:
        r = parley(server, tmp_path, "ask", "hi")
    assert r.returncode == 7, r.stderr
    assert r.stdout.startswith("Hello there") and "never" not in r.stdout
    assert "stream broke" in r.stderr and "Traceback" not in r.stderr
    assert "JSONDecodeError" not in r.stderr and "UnicodeDecodeError" not in r.stderr


def test_a_200_that_is_not_json_exits_7_with_words_not_a_decoder_error(tmp_path):
    page = b"<html><body>Please sign in to the hotel Wi-Fi</body></html>"
    with FaultServer(lambda h: body(h, 200, page, "application/json")) as server:
        r = parley(server, tmp_path, "embed", "hello", "-m", "text-embedding-3-large")
    assert r.returncode == 7, r.stderr
    assert (
        "could not be read" in r.stderr and "JSONDecodeError" not in r.stderr and "Traceback" not in r.stderr
    )


WRONG_SHAPES = {
    "choices-not-a-list": b'data: {"choices": 5}\n\n',
    "a-choice-a-number": b'data: {"choices": [5]}\n\n',
    "content-a-number": b'data: {"choices":[{"index":0,"delta":{"content":5}}]}\n\n',
    "content-an-object": b'data: {"choices":[{"index":0,"delta":{"content":{"a":1}}}]}\n\n',
    "filter-results-a-string": b'data: {"choices":[{"index":0,"delta":{"content":"x"},'
    b'"content_filter_results":"oops"}]}\n\n',
    "not-an-object": b"data: [1, 2]\n\n",
}


@pytest.mark.parametrize("bad", list(WRONG_SHAPES.values()), ids=list(WRONG_SHAPES))
def test_a_chunk_of_the_wrong_shape_is_a_broken_stream_with_the_partial_answer_kept(tmp_path, bad):
    with FaultServer(lambda h: sse(h, chunk("Hello"), chunk(" there"), bad, finish(" never"))) as server:
        r = parley(server, tmp_path, "ask", "hi")
    assert r.returncode == 7, r.stderr
    assert r.stdout.startswith("Hello there") and "never" not in r.stdout
    assert "The answer stream broke" in r.stderr and "Traceback" not in r.stderr
    assert "Error:" not in r.stderr and "Something went wrong" not in r.stderr


PAGE = b"<html>hello proxy</html>"
SAYS = "Azure's reply was not what Parley expected (a text/html page, 24 bytes: '<html>hello proxy</html>')"
NOT_JSON = {
    "ask": ["ask", "hi"],
    "ask-no-stream": ["ask", "--no-stream", "hi"],
    "complete": ["complete", "hi", "-m", "instruct"],
    "embed": ["embed", "-m", "e", "hi"],
    "image": ["image", "a cat", "-m", "dall-e-3", "-o", "{tmp}/o.png"],
    "transcribe": ["transcribe", "-m", "whisper", "{tmp}/a.wav"],
    "transcribe-stream": ["transcribe", "--stream", "-m", "gpt-4o-transcribe", "{tmp}/a.wav"],
    "speak": ["speak", "-m", "tts", "hi", "-o", "{tmp}/b.wav"],
}


@pytest.mark.parametrize("command", list(NOT_JSON))
def test_a_200_page_that_is_not_json_exits_7_quoting_it_and_writes_nothing(tmp_path, command):
    from test_hardening_cli import silent_wav

    silent_wav(tmp_path / "a.wav", amplitude=8000)
    args = [a.replace("{tmp}", str(tmp_path)) for a in NOT_JSON[command]]
    with FaultServer(lambda h: body(h, 200, PAGE, "text/html")) as server:
        r = parley(server, tmp_path / "home", *args)
    assert r.returncode == 7, r.stderr
    assert SAYS in r.stderr and "proxy or a captive portal" in r.stderr, r.stderr
    assert r.stdout == "" and "Traceback" not in r.stderr and "Error:" not in r.stderr
    assert not {p.name for p in tmp_path.iterdir()} - {"a.wav", "home"}


def test_a_200_page_with_json_events_prints_a_problem_not_an_empty_answer(tmp_path):
    with FaultServer(lambda h: body(h, 200, PAGE, "text/html")) as server:
        r = parley(server, tmp_path, "ask", "--no-stream", "--json", "hi")
    assert r.returncode == 7, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    assert [e["type"] for e in events] == ["problem"], events
    assert events[0]["kind"] == "network" and SAYS in events[0]["detail"]


def test_a_long_page_is_quoted_briefly_and_without_the_key(tmp_path):
    page = b"<html><body>" + KEY.encode() + b" Sign in to the hotel Wi-Fi" * 40_000 + b"</body></html>"
    with FaultServer(lambda h: body(h, 200, page, "text/html")) as server:
        r = parley(server, tmp_path, "embed", "-m", "e", "hi")
    assert r.returncode == 7, r.stderr
    assert f"{len(page):,} bytes" in r.stderr and "«redacted» Sign in to the hotel Wi-Fi" in r.stderr
    assert len(r.stderr) < 1000 and KEY not in r.stderr, r.stderr


def test_speech_that_is_json_not_audio_writes_no_file(tmp_path):
    with FaultServer(lambda h: body(h, 200, b'{"status": "ok"}', "application/json")) as server:
        r = parley(server, tmp_path / "home", "speak", "-m", "tts", "hi", "-o", str(tmp_path / "b.wav"))
    assert r.returncode == 7, r.stderr
    assert (
        'not what Parley expected (a reply of type application/json, 16 bytes: \'{"status": "ok"}\')'
        in r.stderr
    )
    assert list(tmp_path.iterdir()) == [tmp_path / "home"]


def test_the_connection_test_does_not_pass_a_proxy_page_for_an_answer(tmp_path):
    with FaultServer(lambda h: body(h, 200, PAGE, "text/html")) as server:
        r = parley(server, tmp_path, "check")
    assert r.returncode == 7, r.stdout + r.stderr
    assert "✗" in r.stdout and "0 of 1 deployments answered" in r.stdout
    assert SAYS in r.stderr, r.stderr
