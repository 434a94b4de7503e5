"""Hardening: a 200 that is not the answer outside chat streams. `parley jobs` against a proxy's page, and JSON whose
inner shape is wrong (`{"data": 5}`, `{"data": [5]}`, `{"text": 5}`, `{"choices": "x"}`) from embed, image,
transcribe and `ask --no-stream`, end with exit 7 and the unexpected-reply words quoting the body, never exit 1 with
an AttributeError or a TypeError. The jobs wrappers the Tools tab calls (get, events, create, cancel, upload) too."""

from __future__ import annotations

import json

import pytest
from fault_server import FaultServer, body
from test_hardening_streams import KEY, PAGE, SAYS, parley

from app.core import errors, jobs

pytestmark = pytest.mark.e2e

JOBS = {"both": ["jobs"], "fine-tuning": ["jobs", "fine-tuning"], "batches": ["jobs", "batches"]}


@pytest.mark.parametrize("command", list(JOBS))
def test_jobs_against_a_proxy_page_exits_7_quoting_it(tmp_path, command):
    with FaultServer(lambda h: body(h, 200, PAGE, "text/html")) as server:
        r = parley(server, tmp_path, *JOBS[command])
    assert r.returncode == 7, r.stderr
    assert SAYS in r.stderr and "proxy or a captive portal" in r.stderr, r.stderr
    assert "AttributeError" not in r.stderr and "Traceback" not in r.stderr and r.stdout == ""


@pytest.mark.parametrize("reply", [b'{"data": 5}', b'{"data": [5]}', b'{"data": "x"}', b'{"object": "list"}'])
@pytest.mark.parametrize("command", ["fine-tuning", "batches"])
def test_jobs_json_of_another_shape_exits_7_quoting_it(tmp_path, command, reply):
    with FaultServer(lambda h: body(h, 200, reply)) as server:
        r = parley(server, tmp_path, "jobs", command, "--json")
    assert r.returncode == 7, r.stderr
    said = f"(a reply of type application/json, {len(reply)} bytes: '{reply.decode()}')"
    assert said in r.stderr and "Error:" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(e["type"], e["kind"]) for e in events] == [("problem", "network")]
    assert said in events[0]["detail"]


@pytest.fixture
def fault_client():
    from openai import AzureOpenAI

    def make(server: FaultServer) -> AzureOpenAI:
        return AzureOpenAI(
            azure_endpoint=server.endpoint, api_key=KEY, api_version="2024-10-21", max_retries=0
        )

    return make


CALLS = {
    "get-fine-tuning": lambda c, f: jobs.get_fine_tuning_job(c, "ftjob-1", max_retries=0),
    "events": lambda c, f: jobs.fine_tuning_events(c, "ftjob-1", max_retries=0),
    "cancel-fine-tuning": lambda c, f: jobs.cancel_fine_tuning_job(c, "ftjob-1"),
    "create-fine-tuning": lambda c, f: jobs.create_fine_tuning_job(c, "file-1", "gpt-4o-mini"),
    "get-batch": lambda c, f: jobs.get_batch(c, "batch-1", max_retries=0),
    "create-batch": lambda c, f: jobs.create_batch(c, "file-1"),
    "cancel-batch": lambda c, f: jobs.cancel_batch(c, "batch-1"),
    "upload": lambda c, f: jobs.upload_file(c, f, "fine-tune"),
}
GOOD_LINE = b'{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]}\n'


WRONG_INSIDE = b'{"data": 5, "id": "x", "request_counts": "many", "error": 5, "bytes": "x"}'


@pytest.mark.parametrize(
    "reply,ctype,said",
    [
        (PAGE, "text/html", SAYS),
        (b"[5]", "application/json", "(a reply of type application/json, 3 bytes: '[5]')"),
        (WRONG_INSIDE, "application/json", f"'{WRONG_INSIDE.decode()}'"),
    ],
    ids=["page", "a-list", "wrong-inside"],
)
@pytest.mark.parametrize("call", list(CALLS))
def test_every_jobs_call_turns_a_reply_that_is_not_the_answer_into_words(
    tmp_path, fault_client, call, reply, ctype, said
):
    train = tmp_path / "train.jsonl"
    train.write_bytes(GOOD_LINE)
    with FaultServer(lambda h: body(h, 200, reply, ctype)) as server:
        with pytest.raises(errors.ParleyError) as caught:
            CALLS[call](fault_client(server), train)
    problem = caught.value.problem
    assert problem.kind is errors.Kind.NETWORK and problem.exit_code == 7, problem
    assert "not what Parley expected" in problem.detail and said in problem.detail, problem.detail


SHAPES = {
    "embed-data-a-number": (["embed", "-m", "e", "hi"], b'{"data": 5}'),
    "embed-data-of-numbers": (["embed", "-m", "e", "hi"], b'{"data": [5]}'),
    "embed-bad-base64": (["embed", "-m", "e", "hi"], b'{"data": [{"index": 0, "embedding": "x"}]}'),
    "image-data-of-numbers": (["image", "a cat", "-m", "dall-e-3", "-o", "{tmp}/o.png"], b'{"data": [5]}'),
    "image-data-a-string": (["image", "a cat", "-m", "dall-e-3", "-o", "{tmp}/o.png"], b'{"data": "x"}'),
    "image-b64-a-number": (
        ["image", "a cat", "-m", "gpt-image-1", "-o", "{tmp}/o.png"],
        b'{"data": [{"b64_json": 5}]}',
    ),
    "transcribe-text-a-number": (["transcribe", "-m", "whisper", "{tmp}/a.wav"], b'{"text": 5}'),
    "ask-choices-of-numbers": (["ask", "--no-stream", "hi"], b'{"choices": [5]}'),
    "ask-choices-a-string": (["ask", "--no-stream", "hi"], b'{"choices": "x"}'),
}


@pytest.mark.parametrize("case", list(SHAPES))
def test_json_of_another_shape_exits_7_quoting_it_and_writes_nothing(tmp_path, case):
    from test_hardening_cli import silent_wav

    silent_wav(tmp_path / "a.wav", amplitude=8000)
    command, reply = SHAPES[case]
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    with FaultServer(lambda h: body(h, 200, reply)) as server:
        r = parley(server, tmp_path / "home", *args)
    assert r.returncode == 7, r.stderr
    said = (
        f"not what Parley expected (a reply of type application/json, {len(reply)} bytes: '{reply.decode()}')"
    )
    assert said in r.stderr, r.stderr
    assert "TypeError" not in r.stderr and "Error:" not in r.stderr and "Traceback" not in r.stderr
    assert r.stdout == "" and not {p.name for p in tmp_path.iterdir()} - {"a.wav", "home"}


def test_a_long_reply_of_another_shape_is_quoted_briefly_and_without_the_key(tmp_path):
    reply = b'{"data": 5, "note": "' + KEY.encode() + b" " + b"x" * 5000 + b'"}'
    with FaultServer(lambda h: body(h, 200, reply)) as server:
        r = parley(server, tmp_path, "embed", "-m", "e", "hi")
    assert r.returncode == 7, r.stderr
    assert f"{len(reply):,} bytes" in r.stderr and "«redacted»" in r.stderr
    assert KEY not in r.stderr and len(r.stderr) < 1000, r.stderr
