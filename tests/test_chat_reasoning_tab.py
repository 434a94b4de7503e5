"""The Chat tab with today's deployments (issue #14), against the emulator with the real client: reasoning effort
in the header as the family takes it, the thinking time, the token line with cached/reasoning tokens and cost (also
after reopening), model-router's pick, notices said once, and what was learned kept in the profile."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt

from app.core.capabilities import Family
from app.core.events import Learned, Notice
from app.core.profiles import Profile, ProfileStore
from app.ui.chat.prices import Price
from app.ui.chat.tab import ChatTab


@pytest.fixture
def tab(qtbot, services):
    tab = ChatTab(services)
    qtbot.addWidget(tab)
    tab.resize(1100, 700)
    tab.show()
    qtbot.waitUntil(lambda: tab.history is not None, timeout=10000)
    tab.on_connection(services.connection)
    yield tab
    tab.shutdown()


def chat_requests(services):
    return [r for r in services.connection.emulator.requests if r.path.endswith("/chat/completions")]


def use(tab, deployment):
    tab.deployment.setCurrentText(deployment)
    tab.header._on_deployment_chosen(0)


def send(qtbot, tab, text, *, wait=True):
    tab.compose.set_text(text)
    qtbot.keyClick(tab.compose.edit, Qt.Key.Key_Return)
    if wait:
        qtbot.waitUntil(lambda: tab.turns.job is None, timeout=20000)


def efforts(tab):
    return [tab.header.effort.itemText(i) for i in range(tab.header.effort.count())]


def test_reasoning_effort_offers_the_familys_values_and_goes_on_the_wire(qtbot, tab, services):
    assert tab.deployment.currentText() == "gpt-5-mini"
    assert not tab.header.effort.isHidden()
    assert efforts(tab) == ["default", "minimal", "low", "medium", "high"]
    tab.header.effort.setCurrentIndex(efforts(tab).index("low"))
    tab.header._on_effort_chosen(0)
    tab.header.set_system_text("Answer briefly.")
    send(qtbot, tab, "Why is the sky blue?")
    sent = chat_requests(services)[-1].json
    assert sent["reasoning_effort"] == "low"
    assert sent["messages"][0] == {"role": "developer", "content": "Answer briefly."}
    assert "max_tokens" not in sent and "temperature" not in sent
    answer = tab.view.widgets[-1]
    assert answer.status == "complete"
    line = answer.usage.text()
    assert " in" in line and "reasoning" in line and " out" in line, line
    assert answer.usage_value.reasoning_tokens > 0

    use(tab, "gpt-5.1")  # 'none' replaces 'minimal'
    assert efforts(tab) == ["default", "none", "low", "medium", "high"]
    assert tab.header.chosen_effort() == "low"  # the choice is kept where the new family takes it
    use(tab, "gpt-4.1")  # a chat model: no effort at all
    assert tab.header.effort.isHidden() and tab.header.chosen_effort() is None
    send(qtbot, tab, "And at sunset?")
    assert "reasoning_effort" not in chat_requests(services)[-1].json
    assert "reasoning" not in tab.view.widgets[-1].usage.text()


def test_thinking_state_counts_seconds_until_the_first_token(qtbot, tab):
    send(qtbot, tab, "Plan a trip think:2.2", wait=False)
    answer = tab.view.widgets[-1]
    qtbot.waitUntil(lambda: "Thinking… 1 s" in answer.state.text(), timeout=5000)
    assert not answer.text  # nothing visible yet: the model is thinking
    qtbot.waitUntil(lambda: bool(answer.text), timeout=10000)
    assert "Thinking" not in answer.state.text()
    qtbot.waitUntil(lambda: tab.turns.job is None, timeout=20000)
    assert tab.turns.thinking_seconds is not None and 2.0 <= tab.turns.thinking_seconds < 6
    assert answer.status == "complete" and "Thinking" not in answer.state.text()


def test_model_router_names_the_model_that_answered(qtbot, tab, services):
    use(tab, "model-router")
    assert tab.header.effort.isHidden()  # model-router takes no reasoning effort
    send(qtbot, tab, "Hi")
    answer = tab.view.widgets[-1]
    assert "reasoning_effort" not in chat_requests(services)[-1].json
    assert answer.answered_by and answer.answered_by != "model-router"
    assert f"model-router → {answer.answered_by}" in answer.who.text()
    # only its family is learned: each answer may come from another model
    assert services.connection.profile.families.get("model-router") == "reasoning"
    assert "model-router" not in services.connection.profile.models


def test_token_line_and_costs_from_the_price_table_also_after_reopening(qtbot, tab):
    tab.bits.set_prices({"gpt-5-mini": Price(input=2.0, cached=0.5, output=8.0)})
    send(qtbot, tab, "Explain caching " + "word " * 1200)  # over 1024 prompt tokens: Azure caches a part
    answer = tab.view.widgets[-1]
    usage = answer.usage_value
    assert usage.cached_tokens > 0 and usage.reasoning_tokens > 0
    line = answer.usage.text()
    assert f"({usage.cached_tokens:,} cached)" in line and f"{usage.reasoning_tokens:,} reasoning" in line
    cost = ((usage.prompt_tokens - usage.cached_tokens) * 2.0 + usage.cached_tokens * 0.5) / 1e6
    cost += usage.completion_tokens * 8.0 / 1e6
    assert line.endswith(f"${cost:.3f}" if cost >= 0.01 else f"{cost:.5f}".rstrip("0").rstrip(".")), line
    send(qtbot, tab, "Short one")
    assert tab.header.cost.text().startswith("This chat: $") and not tab.header.cost.isHidden()
    shown = [w.usage.text() for w in tab.view.widgets if w.role == "assistant"]
    cid = tab.conversation_id
    tab.new_chat()
    assert tab.header.cost.isHidden()
    with qtbot.waitSignal(tab.conversation_shown, timeout=10000):
        tab.open_conversation(cid)
    assert [w.usage.text() for w in tab.view.widgets if w.role == "assistant"] == shown
    assert tab.header.cost.text().startswith("This chat: $")
    # the table is a preference row: a new tab reads it back
    assert tab.services.pref("chat/prices").count("gpt-5-mini") == 1


def test_a_setting_not_sent_is_said_once_where_it_lives(qtbot, tab):
    tab.turns.turn = type("T", (), {"deployment": "o4-mini"})()
    notice = Notice(
        "Reasoning effort 'minimal' does not apply to 'o4-mini'; it was not sent.", "reasoning_effort"
    )
    tab.turns.notice.emit(notice)
    assert "does not apply" in tab.notice.text.text() and "chat header" in tab.notice.text.text()
    tab.notice.clear()
    tab.turns.notice.emit(notice)
    assert tab.notice.isHidden() or not tab.notice.text.text()


def test_what_a_chat_learned_is_kept_in_the_stored_profile(qtbot, tab, services):
    connection = services.connection
    store = ProfileStore.load()
    store.upsert(Profile(name=connection.profile.name, endpoint=connection.profile.endpoint))
    store.save()
    connection.source = "profile"  # as if this were the user's own stored profile
    send(qtbot, tab, "Hello")
    qtbot.waitUntil(
        lambda: (
            ProfileStore.load().get(connection.profile.name).models.get("gpt-5-mini")
            == "gpt-5-mini-2025-08-07"
        ),
        timeout=5000,
    )
    assert ProfileStore.load().get(connection.profile.name).families["gpt-5-mini"] == "reasoning"
    # a family learned from a 400 also reaches the window at once
    tab.turns.learned.emit(Learned("prod-chat", Family.REASONING))
    use(tab, "prod-chat")
    assert not tab.header.effort.isHidden()
    qtbot.waitUntil(
        lambda: ProfileStore.load().get(connection.profile.name).families.get("prod-chat") == "reasoning",
        timeout=5000,
    )


def test_a_model_that_cannot_stream_thinks_until_the_whole_answer(qtbot, tab, services):
    use(tab, "o1")
    assert efforts(tab) == ["default", "low", "medium", "high"]
    # 2.5 s of thinking: the "1 s" tick has a whole second and a half to show on a loaded machine
    send(qtbot, tab, "Prove it think:2.5", wait=False)
    answer = tab.view.widgets[-1]
    qtbot.waitUntil(lambda: re.search(r"Thinking… [12] s", answer.state.text()), timeout=5000)
    qtbot.waitUntil(lambda: tab.turns.job is None, timeout=20000)
    assert chat_requests(services)[-1].json.get("stream") in (None, False)
    assert answer.status == "complete" and answer.text and tab.turns.thinking_seconds >= 2.5
    assert "reasoning" in answer.usage.text()
