"""Hardening (#16): a malformed event line, garbage bytes or a chunk of the wrong shape in the stream end as "the
answer stream broke" (exit 7) with the partial answer kept, never as exit 1 JSONDecodeError/TypeError; a 200 whose body
is not JSON (a proxy's or captive portal's page) ends every command with exit 7 and words that quote it."""

from __future__ import annotations

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
