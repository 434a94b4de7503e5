"""Reasoning chat against the emulator with the real openai client: what goes on the wire for each family, the
one adapt-and-retry on Azure's 400s, what is learned and kept, usage with reasoning and cached tokens."""

from __future__ import annotations

import time

import pytest

from app.core import chat, errors, profiles
from app.core import client as client_mod
from app.core.cancel import CancelToken
from app.core.capabilities import ChatTraits, Family, chat_traits
from app.core.events import Delta, Done, Failed, Learned, Notice, Started, Usage
from app.core.profiles import Profile, ProfileStore

QUESTION = (chat.Message("user", "Explain WAL mode in SQLite"),)


def client_for(emu, api: str = profiles.API_DATED, version: str = profiles.PREVIEW_API_VERSION):
    return client_mod.build_client(Profile("T", emu.endpoint, api_version=version, api=api), api_key="k")


def run(client, request):
    return list(chat.stream_chat(client, request, cancel=CancelToken(), max_retries=0))


def sent(emu):
    return [r for r in emu.requests if r.path.endswith("/chat/completions")][-1].json


@pytest.mark.parametrize("api", [profiles.API_DATED, profiles.API_V1])
@pytest.mark.parametrize(
    ("deployment", "streams", "efforts"),
    [
        ("gpt-5-mini", True, ("minimal", "low", "medium", "high")),
        ("gpt-5.1", True, ("none", "low", "medium", "high")),
        ("o4-mini", True, ("low", "medium", "high")),
        ("o1", False, ("low", "medium", "high")),
    ],
)
def test_a_reasoning_deployment_gets_a_reasoning_request(emulator, api, deployment, streams, efforts):
    request = chat.ChatRequest(
        deployment,
        QUESTION,
        system="Be brief.",
        max_tokens=4000,
        temperature=0.3,
        reasoning_effort=efforts[-1],
    )
    events = run(client_for(emulator, api), request)
    body = sent(emulator)
    assert body["max_completion_tokens"] == 4000 and "max_tokens" not in body
    assert "temperature" not in body and body["reasoning_effort"] == efforts[-1]
    assert body["messages"][0] == {"role": "developer", "content": "Be brief."}
    assert bool(body.get("stream")) is streams
    notices = [e for e in events if isinstance(e, Notice)]
    assert [n.setting for n in notices] == ["temperature"] and "Temperature" in notices[0].text
    done = events[-1]
    assert isinstance(done, Done) and done.finish_reason == "stop", events
    assert done.usage.reasoning_tokens > 0 and done.usage.completion_tokens > done.usage.reasoning_tokens
    assert "".join(e.text for e in events if isinstance(e, Delta))
    assert done.model.startswith(deployment)
    lesson = chat.lesson(request, done)
    assert lesson == Learned(deployment, Family.REASONING, done.model)


@pytest.mark.parametrize("api", [profiles.API_DATED, profiles.API_V1])
def test_the_seed_chat_models_keep_max_tokens_and_temperature(emulator, api):
    for deployment in ("gpt-4o", "gpt-4o-mini", "gpt-4.1"):
        events = run(
            client_for(emulator, api),
            chat.ChatRequest(
                deployment, QUESTION, system="S", max_tokens=5, temperature=0.2, reasoning_effort="low"
            ),
        )
        body = sent(emulator)
        assert body["max_tokens"] == 5 and body["temperature"] == 0.2 and "reasoning_effort" not in body
        assert body["messages"][0]["role"] == "system"
        assert [n.setting for n in events if isinstance(n, Notice)] == ["reasoning_effort"]
        assert events[-1].finish_reason == "length" and events[-1].usage.reasoning_tokens == 0


def test_an_effort_the_model_does_not_take_is_not_sent(emulator):
    events = run(client_for(emulator), chat.ChatRequest("o4-mini", QUESTION, reasoning_effort="minimal"))
    assert "reasoning_effort" not in sent(emulator)
    note = next(e for e in events if isinstance(e, Notice))
    assert note.setting == "reasoning_effort" and "low, medium, high" in note.text
    assert isinstance(events[-1], Done)


def test_an_opaque_name_learns_from_azures_400_adapts_once_and_remembers(emulator, parley_home):
    # "prod-reason" names nothing; what it serves is only known from Azure. The emulator's o4-mini stands in, seen
    # through a profile that believes it a chat model (as a name-less deployment would be).
    profile = Profile("Work", emulator.endpoint, families={"o4-mini": "chat"})
    ProfileStore(profiles=[profile], active="Work").save()
    request = chat.ChatRequest(
        "o4-mini", QUESTION, max_tokens=900, temperature=0.5, traits=profile.chat_traits("o4-mini")
    )
    emulator.clear()
    events = run(client_for(emulator), request)
    bodies = [r.json for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert len(bodies) == 2  # the rejected one and one retry: never a loop
    assert bodies[0]["max_tokens"] == 900 and bodies[0]["temperature"] == 0.5
    assert bodies[1]["max_completion_tokens"] == 900 and "temperature" not in bodies[1]
    learned = [e for e in events if isinstance(e, Learned)]
    assert learned == [Learned("o4-mini", Family.REASONING)]
    assert not any(isinstance(e, Failed) for e in events) and events[-1].finish_reason == "stop"
    assert any(isinstance(e, Notice) and e.setting == "temperature" for e in events)
    store = ProfileStore.load()
    assert store.remember("Work", "o4-mini", Family.REASONING, events[-1].model)
    kept = ProfileStore.load().get("Work")
    assert kept.family("o4-mini") == Family.REASONING and kept.chat_traits("o4-mini").reasoning
    assert not ProfileStore.load().remember("Work", "o4-mini", Family.REASONING, events[-1].model)


def test_o1_behind_a_chat_guess_is_sent_again_unstreamed(emulator):
    traits = chat_traits(Family.REASONING, "some-reasoner")  # streams, as most reasoning models do
    emulator.clear()
    events = run(client_for(emulator), chat.ChatRequest("o1", QUESTION, traits=traits))
    bodies = [r.json for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert [bool(b.get("stream")) for b in bodies] == [True, False]
    assert isinstance(events[-1], Done) and events[-1].finish_reason == "stop"


def test_a_second_rejection_is_reported_not_retried_again(emulator):
    # Adapted for the effort o1 refuses, the retry is still streamed, which o1 refuses too: one retry only, then
    # Azure's answer.
    traits = ChatTraits(
        reasoning=True, efforts=("minimal", "low"), stream=True, sampling=False
    )  # wrong twice
    emulator.clear()
    request = chat.ChatRequest("o1", QUESTION, reasoning_effort="minimal", traits=traits)
    events = run(client_for(emulator), request)
    assert len([r for r in emulator.requests if r.path.endswith("/chat/completions")]) == 2
    assert isinstance(events[-1], Failed) and events[-1].problem.code == "unsupported_value"


def test_an_old_api_version_says_which_one_reasoning_needs(emulator):
    events = run(client_for(emulator, version="2024-10-21"), chat.ChatRequest("gpt-5-mini", QUESTION))
    problem = events[-1].problem
    assert problem.kind == errors.Kind.API_VERSION and problem.exit_code == 5 and problem.fix_in_settings
    assert "2024-12-01-preview" in problem.detail and "v1" in problem.action
    assert "enabled only for api versions" in problem.detail


def test_model_router_names_the_model_that_answered(emulator):
    request = chat.ChatRequest("model-router", (chat.Message("user", "Hi there"),), reasoning_effort="low")
    events = run(client_for(emulator), request)
    done = events[-1]
    assert done.model == "gpt-4.1-mini-2025-04-14"
    assert "reasoning_effort" not in sent(emulator)
    assert chat.lesson(request, done) == Learned("model-router", Family.REASONING, None)
    long = run(client_for(emulator), chat.ChatRequest("model-router", QUESTION))[-1]
    assert long.model == "gpt-5-mini-2025-08-07" and long.usage.reasoning_tokens > 0


def test_usage_carries_cached_tokens_of_a_long_prompt(emulator):
    long_text = "word " * 1500
    events = run(client_for(emulator), chat.ChatRequest("gpt-4o", (chat.Message("user", long_text),)))
    usage = events[-1].usage
    assert usage.prompt_tokens >= 1024 and usage.cached_tokens > 0 and usage.cached_tokens % 128 == 0
    assert Usage.from_obj(usage.to_json()) == usage  # the flat form (as stored and printed) reads back


def test_the_first_token_waits_for_the_thinking_phase(emulator):
    emulator.think_seconds = 0.6
    try:
        start = time.monotonic()
        first_delta = None
        for event in chat.stream_chat(
            client_for(emulator), chat.ChatRequest("gpt-5-mini", QUESTION), cancel=CancelToken()
        ):
            if isinstance(event, Started):
                started = time.monotonic() - start
            if isinstance(event, Delta) and first_delta is None:
                first_delta = time.monotonic() - start
        assert first_delta is not None and first_delta >= 0.55 and started < 0.5
    finally:
        emulator.think_seconds = 0.0


def test_reasoning_and_cached_tokens_are_stored_with_the_answer(tmp_path):
    from app.core.events import Usage
    from app.core.history import History
    from app.core.turns import MessageStatus

    history = History.open(tmp_path / "h.sqlite3")
    cid = history.create_conversation().id
    answer = history.begin_assistant(cid)
    history.finish_message(
        answer.id,
        "hi",
        MessageStatus.COMPLETE,
        usage=Usage(1200, 300, 1500, cached_tokens=1024, reasoning_tokens=256),
    )
    stored = history.get_message(answer.id).usage
    assert (stored.cached_tokens, stored.reasoning_tokens) == (1024, 256)
