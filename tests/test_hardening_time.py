"""Hardening (#16): every request is bounded in time. A server that hangs before its headers costs one timeout,
not one per retry; a stream that only trickles keep-alive comments ends; environment setups set the timeout too."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fault_server import FaultServer, chunk, hang, trickle

from app.core import errors
from app.core.cancel import CancelToken
from app.core.chat import ChatRequest, Message, stream_chat
from app.core.client import build_client
from app.core.events import Delta, Failed
from app.core.profiles import Profile, profile_from_env

ROOT = Path(__file__).resolve().parents[1]
KEY = "5e0c1d2a3b4f49c8a7e6d5c4b3a29180"


def _ask(
    server: FaultServer, timeout: float, max_retries: int = 2, *, stream: bool = True
) -> tuple[list, float]:
    client = build_client(Profile(name="t", endpoint=server.endpoint, timeout=timeout), api_key=KEY)
    request = ChatRequest("gpt-4o", (Message("user", "hi"),), stream=stream)
    started = time.monotonic()
    events = list(stream_chat(client, request, cancel=CancelToken(), max_retries=max_retries))
    return events, time.monotonic() - started


def test_a_server_that_hangs_before_headers_costs_one_timeout_not_three():
    with FaultServer(hang) as server:
        events, seconds = _ask(server, timeout=1.5)
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.problem.kind == errors.Kind.TIMEOUT
    assert (
        "did not start answering within 2 s" in failed.problem.detail or "within 1 s" in failed.problem.detail
    )
    assert seconds < 4, seconds
    assert server.requests == 1


def test_a_whole_answer_is_bounded_per_operation_too_not_per_attempt():
    """`ask --no-stream` (and a model that cannot stream): the timeout covers the request and its retries."""
    with FaultServer(hang) as server:
        events, seconds = _ask(server, timeout=1.5, stream=False)
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.problem.kind == errors.Kind.TIMEOUT, failed
    assert seconds < 2.5, seconds  # was 3 attempts of 1.5 s each
    assert server.requests == 1


def test_keep_alive_comments_do_not_keep_a_silent_stream_alive():
    with FaultServer(lambda h: trickle(h, chunk("Hello"))) as server:
        events, seconds = _ask(server, timeout=1.5)
    assert [e.text for e in events if isinstance(e, Delta)] == ["Hello"]
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.problem.kind == errors.Kind.TIMEOUT
    assert "fell silent" in failed.problem.detail and "partial answer is kept" in failed.problem.action
    assert 1.4 < seconds < 5, seconds


def test_the_connect_timeout_is_short():
    client = build_client(Profile(name="t", endpoint="https://res.openai.azure.com/"), api_key=KEY)
    assert client.timeout.connect == 10 and client.timeout.read == 60


def test_environment_setups_set_their_timeout():
    env = {"AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com/", "AZURE_OPENAI_API_KEY": KEY}
    assert profile_from_env(env).timeout == 60
    assert profile_from_env({**env, "PARLEY_TIMEOUT": "5"}).timeout == 5


@pytest.mark.e2e
def test_cli_against_a_hung_server_exits_7_after_one_timeout(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "OPENAI_", "PARLEY_"))},
        "AZURE_OPENAI_API_KEY": KEY,
        "PARLEY_HOME": str(tmp_path),
        "PARLEY_TIMEOUT": "2",
        "PYTHONPATH": str(ROOT),
    }
    with FaultServer(hang) as server:
        started = time.monotonic()
        r = subprocess.run(
            [sys.executable, "-m", "app", "ask", "hi"],
            env={**env, "AZURE_OPENAI_ENDPOINT": server.endpoint},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        seconds = time.monotonic() - started
    assert r.returncode == 7, r.stderr
    assert "did not start answering within 2 s" in r.stderr and "Traceback" not in r.stderr
    assert seconds < 8, seconds


def test_a_jobs_list_is_bounded_per_operation_not_per_attempt():
    from app.core.jobs import list_batches

    with FaultServer(hang) as server:
        client = build_client(Profile(name="t", endpoint=server.endpoint, timeout=1.5), api_key=KEY)
        started = time.monotonic()
        with pytest.raises(errors.ParleyError) as caught:
            list_batches(client, cancel=CancelToken(), max_retries=2)
        seconds = time.monotonic() - started
    assert caught.value.problem.kind == errors.Kind.TIMEOUT, caught.value.problem
    assert seconds < 2.5, seconds  # was one read timeout per attempt, three attempts
    assert server.requests == 1
