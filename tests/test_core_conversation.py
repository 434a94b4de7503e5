"""conversation.run_turn against the emulator: what is stored before, during and after each kind of ending."""

from __future__ import annotations

import threading

from app.core import errors
from app.core.cancel import CancelToken
from app.core.chat import ImagePart
from app.core.client import build_client
from app.core.conversation import AnswerStarted, Turn, TurnEnded, UserSaved, build_context, run_turn
from app.core.events import Delta, Done, Failed
from app.core.history import History
from app.core.profiles import demo_profile

CTX = errors.Context("chat", deployment="gpt-4o")
PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def setup(emu, tmp_path):
    client = build_client(demo_profile(emu.endpoint), api_key="demo")
    history = History.open(tmp_path / "h.sqlite3")
    cid = history.create_conversation(system_prompt="Answer briefly.").id
    return client, history, cid


def run(history, client, turn, cancel=None, **kw):
    return list(run_turn(history, client, turn, cancel=cancel or CancelToken(), ctx=CTX, **kw))


def test_a_turn_stores_question_and_answer_and_sends_the_whole_conversation(emulator, tmp_path):
    client, history, cid = setup(emulator, tmp_path)
    first = run(history, client, Turn(cid, "gpt-4o", "What is a cat?"))
    assert isinstance(first[0], UserSaved) and first[0].message.text == "What is a cat?"
    assert isinstance(first[-1], TurnEnded) and first[-1].status == "complete"
    run(
        history,
        client,
        Turn(cid, "gpt-4o", "And a dog?", images=(ImagePart(PNG_1x1, "image/png", "dot.png"),)),
    )
    stored = history.messages(cid)
    assert [m.role for m in stored] == ["user", "assistant", "user", "assistant"]
    assert stored[1].status == "complete" and stored[1].usage.completion_tokens > 0
    assert stored[2].attachments[0].data == PNG_1x1
    wire = emulator.requests[-1].json["messages"]
    assert [m["role"] for m in wire] == ["system", "user", "assistant", "user"]
    assert wire[0]["content"] == "Answer briefly."
    assert wire[2]["content"] == stored[1].text
    assert wire[3]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert history.get_conversation(cid).title == "What is a cat?"


def test_stopping_keeps_the_partial_answer_marked_stopped(emulator, tmp_path):
    client, history, cid = setup(emulator, tmp_path)
    cancel = CancelToken()
    events = []
    for event in run_turn(
        history, client, Turn(cid, "gpt-4o", "tell me a story fault:slow=50 len:400"), cancel=cancel, ctx=CTX
    ):
        events.append(event)
        if sum(isinstance(e, Delta) for e in events) == 5:
            cancel.cancel()
    answer = history.messages(cid)[1]
    assert answer.status == "stopped" and answer.finish_reason == "cancelled"
    assert answer.text == "".join(e.text for e in events if isinstance(e, Delta)) and answer.text


def test_reply_is_saved_while_it_streams(emulator, tmp_path):
    client, history, cid = setup(emulator, tmp_path)
    seen: list[str] = []
    for event in run_turn(
        history,
        client,
        Turn(cid, "gpt-4o", "story fault:slow=200 len:120"),
        cancel=CancelToken(),
        ctx=CTX,
        save_every=0.05,
    ):
        if isinstance(event, Delta) and len(seen) < 1000:
            seen.append(history.messages(cid)[-1].text)
    assert any(0 < len(text) for text in seen), "nothing was written while streaming"


def test_filtered_prompt_marks_the_question_and_makes_no_answer(emulator, tmp_path):
    client, history, cid = setup(emulator, tmp_path)
    events = run(history, client, Turn(cid, "gpt-4o", "how to hurt filter:prompt"))
    assert (
        isinstance(events[-1], TurnEnded)
        and events[-1].status == "filtered"
        and events[-1].answer_message_id is None
    )
    (question,) = history.messages(cid)
    assert question.status == "filtered" and question.problem.kind == errors.Kind.FILTERED
    assert any(c.name == "violence" and c.filtered for c in question.verdicts[0].categories)


def test_filtered_answer_keeps_the_text_and_the_verdict(emulator, tmp_path):
    client, history, cid = setup(emulator, tmp_path)
    run(history, client, Turn(cid, "gpt-4o", "a fight filter:answer"))
    answer = history.messages(cid)[1]
    assert answer.status == "filtered" and answer.text
    assert answer.verdicts and answer.verdicts[0].filtered


def test_cut_connection_keeps_partial_text_and_continue_appends(emulator, tmp_path):
    client, history, cid = setup(emulator, tmp_path)
    events = run(history, client, Turn(cid, "gpt-4o", "explain fault:cut len:60"))
    assert isinstance(events[-2], Failed) and events[-2].problem.kind == errors.Kind.NETWORK
    partial = history.messages(cid)[1]
    assert partial.status == "failed" and partial.text and partial.problem.title == "Connection lost"
    events = run(history, client, Turn(cid, "gpt-4o", continue_id=partial.id))
    started = next(e for e in events if isinstance(e, AnswerStarted))
    assert started.message_id == partial.id and started.prefix == partial.text
    after = history.get_message(partial.id)
    assert (
        after.status == "complete"
        and after.text.startswith(partial.text)
        and len(after.text) > len(partial.text)
    )
    assert after.problem is None
    wire = emulator.requests[-1].json["messages"]
    assert wire[-2] == {"role": "assistant", "content": partial.text} and "Continue" in wire[-1]["content"]


def test_regenerate_and_edit_replace_what_followed(emulator, tmp_path):
    client, history, cid = setup(emulator, tmp_path)
    run(history, client, Turn(cid, "gpt-4o", "first question"))
    run(history, client, Turn(cid, "gpt-4o", "second question"))
    first_user = history.messages(cid)[0]
    run(history, client, Turn(cid, "gpt-4o", "first question, edited", resend_id=first_user.id))
    stored = history.messages(cid)
    assert [m.text for m in stored if m.role == "user"] == ["first question, edited"]
    assert len(stored) == 2 and stored[1].status == "complete"
    assert emulator.requests[-1].json["messages"][-1]["content"] == "first question, edited"


def test_failed_question_left_out_of_the_next_request(emulator, tmp_path):
    client, history, cid = setup(emulator, tmp_path)
    run(history, client, Turn(cid, "gpt-4o", "bad filter:prompt"))
    run(history, client, Turn(cid, "gpt-4o", "good one"))
    wire = emulator.requests[-1].json["messages"]
    assert [m["content"] for m in wire if m["role"] == "user"] == ["good one"]
    assert build_context(history.messages(cid), history.messages(cid)[-1].id)[-1].role == "assistant"


def test_unknown_deployment_fails_on_the_question(emulator, tmp_path):
    client, history, cid = setup(emulator, tmp_path)
    events = run(history, client, Turn(cid, "gpt-9", "hello"), max_retries=0)
    failed = next(e for e in events if isinstance(e, Failed))
    assert failed.problem.kind == errors.Kind.DEPLOYMENT_NOT_FOUND
    (question,) = history.messages(cid)
    assert question.status == "failed" and question.problem.request_id


def test_cancel_from_another_thread_before_headers(emulator, tmp_path):
    client, history, cid = setup(emulator, tmp_path)
    cancel = CancelToken()
    threading.Timer(0.3, cancel.cancel).start()
    events = run(history, client, Turn(cid, "gpt-4o", "wait fault:hang"), cancel=cancel)
    assert isinstance(events[-2], Done) and events[-2].finish_reason == "cancelled"
    assert (
        events[-1].answer_message_id is None
        or history.get_message(events[-1].answer_message_id).status == "stopped"
    )
