"""Fine-tuning/batch wrappers against the emulator's routes, and the JSONL checker's line-numbered messages."""

from __future__ import annotations

import json

import pytest

from app.core import errors, jobs


@pytest.fixture
def client(emulator):
    from openai import AzureOpenAI

    return AzureOpenAI(azure_endpoint=emulator.endpoint, api_key="k", api_version="2024-10-21", max_retries=0)


def _ft(*messages):
    return json.dumps({"messages": [{"role": r, "content": c} for r, c in messages]})


def _batch(cid, **over):
    line = {
        "custom_id": cid,
        "method": "POST",
        "url": "/chat/completions",
        "body": {"model": "gpt-4o-batch", "messages": [{"role": "user", "content": "hi"}]},
    }
    line.update(over)
    return json.dumps(line)


GOOD_FT = (
    "\n".join(
        [
            _ft(("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello.")),
            _ft(("user", "2+2?"), ("assistant", "4")),
        ]
    )
    + "\n"
)
GOOD_BATCH = "\n".join(_batch(f"task-{i}") for i in range(3)) + "\n"


def test_good_files_pass():
    assert jobs.validate_jsonl(GOOD_FT, "fine-tune") == []
    assert jobs.validate_jsonl(GOOD_BATCH, "batch") == []
    assert jobs.validate_jsonl("\n" + GOOD_FT + "\n\n", "fine-tune") == []


@pytest.mark.parametrize(
    "line,needle",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object, found an array"),
        ('{"prompt": "x"}', "missing 'messages'"),
        ('{"messages": []}', "non-empty list"),
        ('{"messages": ["hi"]}', "messages[0] must be an object"),
        (_ft(("user", "hi"), ("bot", "yo")), "messages[1].role is 'bot'"),
        ('{"messages": [{"role": "user"}]}', "messages[0] has no 'content'"),
        (_ft(("system", "s"), ("user", "hi")), "no assistant message"),
    ],
)
def test_fine_tune_line_errors_name_line_and_field(line, needle):
    text = "\n".join([_ft(("user", "a"), ("assistant", "b")), line, _ft(("user", "a"), ("assistant", "b"))])
    found = jobs.validate_jsonl(text, "fine-tune")
    assert len(found) == 1 and found[0].line == 2, found
    assert needle in found[0].message
    assert str(found[0]).startswith("line 2: ")


@pytest.mark.parametrize(
    "line,needle",
    [
        (_batch(None), "missing 'custom_id'"),
        (_batch("task-0"), "'custom_id' 'task-0' repeats line 1"),
        (_batch("x", method="GET"), "'method' is 'GET'"),
        (_batch("x", url="/completions"), '"/chat/completions"'),
        (
            json.dumps(
                {"custom_id": "x", "method": "POST", "url": "/chat/completions", "body": {"messages": []}}
            ),
            "'body.model'",
        ),
        (json.dumps({"custom_id": "x", "method": "POST", "url": "/chat/completions"}), "missing 'body'"),
    ],
)
def test_batch_line_errors_name_line_and_field(line, needle):
    found = jobs.validate_jsonl("\n".join([_batch("task-0"), line]), "batch")
    assert len(found) == 1 and found[0].line == 2, found
    assert needle in found[0].message


def test_empty_file_and_unknown_kind():
    assert jobs.validate_jsonl("\n\n", "batch") == [jobs.LineError(1, "the file has no JSON lines")]
    with pytest.raises(ValueError):
        jobs.validate_jsonl(GOOD_BATCH, "embeddings")


def test_upload_a_good_file(client, emulator, tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(GOOD_FT, encoding="utf-8")
    uploaded = jobs.upload_file(client, path, "fine-tune")
    assert uploaded.id and uploaded.filename == "train.jsonl" and uploaded.purpose == "fine-tune"
    sent = [r for r in emulator.requests if r.path.endswith("/files")][-1]
    assert sent.form["purpose"] == "fine-tune"


def test_upload_a_bad_file_sends_nothing(client, emulator, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(_ft(("user", "a"), ("assistant", "b")) + "\n{oops\n" + "[]\n" * 7, encoding="utf-8")
    with pytest.raises(errors.ParleyError) as info:
        jobs.upload_file(client, path, "fine-tune")
    problem = info.value.problem
    assert problem.kind == errors.Kind.BAD_REQUEST
    assert problem.detail.startswith("line 2: not valid JSON")
    assert problem.detail.count("line ") == 5 and "(and 3 more)" in problem.detail
    assert not [r for r in emulator.requests if r.path.endswith("/files")]


def test_batch_create_list_get_cancel(client, tmp_path):
    path = tmp_path / "batch.jsonl"
    path.write_text(GOOD_BATCH, encoding="utf-8")
    uploaded = jobs.upload_file(client, path, "batch")
    created = jobs.create_batch(client, uploaded.id)
    assert isinstance(created, jobs.BatchJob) and created.id
    assert created.endpoint == "/chat/completions" and created.input_file_id == uploaded.id
    assert created.request_counts.total in (0, 3)
    listed = jobs.list_batches(client)
    assert created.id in [b.id for b in listed]
    got = jobs.get_batch(client, created.id)
    assert got.id == created.id and got.status
    cancelled = jobs.cancel_batch(client, created.id)
    assert cancelled.status in ("cancelling", "cancelled", "completed")


def test_fine_tune_list_get_events_cancel(client, tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(GOOD_FT, encoding="utf-8")
    uploaded = jobs.upload_file(client, path, "fine-tune")
    job = jobs.create_fine_tuning_job(client, uploaded.id, "gpt-4o-mini-2024-07-18")
    assert isinstance(job, jobs.FineTuneJob) and job.training_file == uploaded.id
    listed = jobs.list_fine_tuning_jobs(client)
    assert job.id in [j.id for j in listed]
    got = jobs.get_fine_tuning_job(client, job.id)
    assert got.id == job.id and got.model
    events = jobs.fine_tuning_events(client, job.id)
    assert all(isinstance(e, jobs.JobEvent) and e.message for e in events)
    cancelled = jobs.cancel_fine_tuning_job(client, job.id)
    assert cancelled.status in ("cancelled", "cancelling", "succeeded", "failed")


def test_missing_job_is_a_problem(client):
    with pytest.raises(errors.ParleyError) as info:
        jobs.get_batch(client, "batch_does_not_exist")
    assert info.value.problem.status == 404


def test_converters_accept_plain_dicts():
    job = jobs.batch_job(
        {
            "id": "b1",
            "status": "failed",
            "endpoint": "/chat/completions",
            "request_counts": {"total": 3, "completed": 1, "failed": 2},
            "errors": {"data": [{"line": 2, "message": "bad model", "code": "invalid"}]},
        }
    )
    assert job.request_counts == jobs.RequestCounts(3, 1, 2)
    assert job.errors == ("line 2: bad model (invalid)",)
    ft = jobs.fine_tune_job({"id": "ft1", "status": "failed", "error": {"message": "bad file", "code": "x"}})
    assert ft.error == "bad file (x)" and ft.model is None
