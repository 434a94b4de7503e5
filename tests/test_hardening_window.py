"""Issue #16 in the window: failed turns stay in the conversation, Retry never sends twice, faults end in the right
card with the text kept. Against the emulator with the real client (and tests/fault_server.py where the emulator,
faithful to Azure, cannot misbehave that way)."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from test_chat_tab import chat_requests, make_tab, send, stored, wait_idle

from app.core import errors
from app.core.history import History


@pytest.fixture
def tab(qtbot, services):
    tab = make_tab(qtbot, services)
    yield tab
    tab.shutdown()


def reopened(qtbot, services, cid):
    """A new chat tab (as after a restart) showing conversation `cid`."""
    again = make_tab(qtbot, services)
    qtbot.waitUntil(lambda: again.conversation_id == cid and bool(again.view.widgets), timeout=10000)
    return again


@pytest.mark.parametrize(
    ("question", "status", "kind"),
    [
        ("how to hurt someone filter:prompt", "filtered", errors.Kind.FILTERED),
        ("busy now fault:429", "failed", errors.Kind.RATE_LIMIT),
    ],
)
def test_a_failed_question_stays_with_its_card_after_the_next_message_and_reopening(
    qtbot, tab, services, question, status, kind
):
    send(qtbot, tab, question)
    assert tab.compose.text() == question  # kept in the box to fix and send again
    send(qtbot, tab, "a different question")
    users = [w for w in tab.view.widgets if w.role == "user"]
    assert [w.text for w in users] == [question, "a different question"]
    assert users[0].status == status and users[0].card.problem is not None
    assert users[0].card.problem.kind == kind and not users[0].card.isHidden()
    saved = stored(tab)
    assert [(m.role, m.text) for m in saved][:2] == [("user", question), ("user", "a different question")]
    assert saved[0].status == status and saved[0].problem is not None and saved[0].problem.kind == kind
    # The refused question never goes on the wire again.
    assert chat_requests(services)[-1].json["messages"] == [
        {"role": "user", "content": "a different question"}
    ]
    # Retry on it now would resend it and drop what came after: only the last message's card offers Retry.
    assert "retry" not in users[0].card.buttons() or users[0].card.buttons()["retry"].isHidden()

    cid = tab.conversation_id
    tab.shutdown()
    again = reopened(qtbot, services, cid)
    try:
        first = again.view.widgets[0]
        assert first.text == question and first.status == status
        assert (
            first.card.problem is not None and first.card.problem.kind == kind and not first.card.isHidden()
        )
        assert [w.role for w in again.view.widgets] == ["user", "user", "assistant"]
    finally:
        again.shutdown()


def test_a_failed_answer_stays_after_the_next_message(qtbot, tab):
    send(qtbot, tab, "explain fault:cut len:80")
    partial = tab.view.widgets[-1].text
    send(qtbot, tab, "next one")
    saved = stored(tab)
    assert [(m.role, m.status) for m in saved] == [
        ("user", "complete"),
        ("assistant", "failed"),
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    assert saved[1].text == partial and saved[1].problem is not None
    assert tab.view.widgets[1].card.problem is not None


def test_retry_that_succeeds_empties_the_box_so_enter_does_not_send_it_again(qtbot, tab, services):
    tab.deployment.setCurrentText("gpt-9")
    send(qtbot, tab, "hello there")
    (user,) = tab.view.widgets
    assert tab.compose.text() == "hello there" and "retry" in user.card.buttons()
    tab.deployment.setCurrentText(services.connection.profile.deployments.chat)
    qtbot.mouseClick(user.card.buttons()["retry"], Qt.MouseButton.LeftButton)
    wait_idle(qtbot, tab)
    assert [w.role for w in tab.view.widgets] == ["user", "assistant"]
    assert tab.view.widgets[-1].status == "complete"
    assert tab.compose.text() == ""
    before = len(chat_requests(services))
    qtbot.keyClick(tab.compose.edit, Qt.Key.Key_Return)
    wait_idle(qtbot, tab)
    assert len(chat_requests(services)) == before
    assert [m.text for m in History.open().messages(tab.conversation_id) if m.role == "user"] == [
        "hello there"
    ]


def test_retry_keeps_what_the_user_typed_since(qtbot, tab, services):
    tab.deployment.setCurrentText("gpt-9")
    send(qtbot, tab, "hello there")
    tab.compose.set_text("something else entirely")
    tab.deployment.setCurrentText(services.connection.profile.deployments.chat)
    qtbot.mouseClick(tab.view.widgets[0].card.buttons()["retry"], Qt.MouseButton.LeftButton)
    wait_idle(qtbot, tab)
    assert tab.view.widgets[-1].status == "complete"
    assert tab.compose.text() == "something else entirely"


def slow_to_close(monkeypatch, seconds: float = 0.4) -> None:
    """Each turn's worker ends `seconds` after the turn stored its outcome (its stream's connection closing, say):
    on a loaded machine that gap is real, and the window must wait for the job's end, not the outcome's."""
    from app.ui.chat import turns

    real = turns._run

    def run(*args, **kwargs):
        yield from real(*args, **kwargs)
        time.sleep(seconds)

    monkeypatch.setattr(turns, "_run", run)


def test_questions_handed_over_during_a_turn_are_all_answered_when_its_job_ends_late(qtbot, tab, monkeypatch):
    """CI, twice: of two `parley --send` launches at once, the question queued behind the first answer was never
    sent, because the queue was looked at when the answer was stored and the job had not ended yet."""
    slow_to_close(monkeypatch)
    tab.send_text("alpha question", new_chat=True)
    tab.send_text("beta question", new_chat=True)
    history = tab.history

    def answered() -> list[str]:
        out = []
        for conversation in history.list_conversations():
            messages = history.messages(conversation.id)
            if len(messages) >= 2 and messages[1].status == "complete":
                out.append(messages[0].text)
        return sorted(out)

    qtbot.waitUntil(lambda: answered() == ["alpha question", "beta question"], timeout=20000)
    assert [w.text for w in tab.view.widgets if w.role == "user"] == ["beta question"]


def test_enter_as_soon_as_an_answer_ends_sends_even_when_its_job_ends_late(qtbot, tab, services, monkeypatch):
    """The box says it is ready (not busy) only when a new question can go: Enter then always sends."""
    slow_to_close(monkeypatch)
    send(qtbot, tab, "a first question", wait=False)
    qtbot.waitUntil(lambda: tab.view.widgets[-1].status == "complete", timeout=20000)
    qtbot.waitUntil(lambda: not tab.compose.busy, timeout=20000)
    send(qtbot, tab, "a second question")
    assert [w.text for w in tab.view.widgets if w.role == "user"] == ["a first question", "a second question"]
    assert tab.compose.text() == ""
    assert [m.text for m in stored(tab) if m.role == "user"] == ["a first question", "a second question"]


def fill_the_disk(history: History) -> None:
    """SQLite's own "database or disk is full": the file may not grow by a page (as on a full disk)."""
    conn = history._conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")


def free_the_disk(history: History) -> None:
    history._conn.execute("PRAGMA max_page_count = 1073741823")


LONG = "Please keep this question safe. " * 800  # needs new pages


def test_disk_full_says_what_happened_and_keeps_the_question_in_the_box(qtbot, tab, services):
    send(qtbot, tab, "a first question")
    fill_the_disk(tab.history)
    try:
        send(qtbot, tab, LONG)
        shown = tab.notice.plain_text() + " ".join(w.card.plain_text() for w in tab.view.widgets)
        assert "disk is full" in shown.lower() and "free" in shown.lower()
        assert "OperationalError" not in shown and "database or disk is full" not in shown
        assert tab.compose.text() == LONG
        # Nothing is on screen that is not stored.
        assert [w.text for w in tab.view.widgets if w.role == "user"] == ["a first question"]
    finally:
        free_the_disk(tab.history)
    send(qtbot, tab, tab.compose.text())
    assert [m.text for m in stored(tab) if m.role == "user"] == ["a first question", LONG]
    assert tab.compose.text() == "" and not tab.notice.isVisible()


def test_disk_full_keeps_a_send_question_in_the_box(qtbot, tab):
    send(qtbot, tab, "a first question")
    fill_the_disk(tab.history)
    try:
        tab.send_text(LONG, new_chat=True)
        wait_idle(qtbot, tab)
        qtbot.waitUntil(lambda: tab.compose.text() == LONG, timeout=5000)
        assert "disk is full" in tab.notice.plain_text().lower()
    finally:
        free_the_disk(tab.history)


def test_a_read_only_history_says_so(qtbot, tab, parley_home):
    send(qtbot, tab, "a first question")
    tab.history._conn.execute("PRAGMA query_only = ON")  # SQLite refuses writes as for a read-only file
    try:
        send(qtbot, tab, "another question")
        shown = tab.notice.plain_text()
        assert "read-only" in shown.lower() and "OperationalError" not in shown
        assert tab.compose.text() == "another question"
    finally:
        tab.history._conn.execute("PRAGMA query_only = OFF")


def test_a_huge_code_block_or_paragraph_streams_with_a_bounded_tail_and_copies_whole(qtbot):
    from PySide6.QtGui import QGuiApplication

    from app.ui.chat import markdown_body
    from app.ui.chat.message_widget import MessageWidget

    line = "    total = sum(value * weight for value, weight in pairs)\n"
    code = "```python\n" + line * 400 + "```\n\n"
    prose = "the keeper climbed the stairs again " * 800
    widget = MessageWidget("assistant")
    qtbot.addWidget(widget)
    body = widget.body
    longest_tail = 0
    for i in range(0, len(code + prose), 300):
        widget.append((code + prose)[i : i + 300])
        body.render_now()
        while body._timer.isActive() and body._timer.interval() == 0:
            body.render_now()
        longest_tail = max(longest_tail, len(body._pending))
    widget.flush()
    assert longest_tail <= markdown_body.TAIL_LIMIT + markdown_body.SLICE
    assert widget.text == code + prose
    shown = body.plain_text()
    assert shown.count("total = sum(") == 400 and "the keeper climbed" in shown
    assert len(body.code_parts()) == 1  # one block, though it was cut in pieces as it arrived
    body.code_parts()[0].copy_button.click()
    assert QGuiApplication.clipboard().text() == line * 400  # the one block, whole, though it was split


def test_an_answer_beyond_what_is_shown_says_so_and_keeps_all_its_text(qtbot, monkeypatch):
    from app.ui.chat import markdown_body, message_widget

    monkeypatch.setattr(markdown_body, "DISPLAY_LIMIT", 5_000)
    monkeypatch.setattr(message_widget, "DISPLAY_LIMIT", 5_000)
    widget = message_widget.MessageWidget("assistant")
    qtbot.addWidget(widget)
    text = "word " * 4_000
    for i in range(0, len(text), 1000):
        widget.append(text[i : i + 1000])
    qtbot.waitUntil(lambda: not widget.body._timer.isActive(), timeout=5000)
    widget.flush()
    assert widget.text == text[:5_000] and not widget.has_all_text  # the window keeps what it shows
    assert len(widget.body.plain_text()) <= 5_100
    assert not widget.more.isHidden() and "20,000 characters" in widget.more.text()


def test_copy_of_an_answer_beyond_what_is_shown_copies_all_of_it_from_history(qtbot, services, monkeypatch):
    from test_chat_tab import make_tab, send, stored

    from app.ui.chat import markdown_body, message_widget

    monkeypatch.setattr(markdown_body, "DISPLAY_LIMIT", 5_000)
    monkeypatch.setattr(message_widget, "DISPLAY_LIMIT", 5_000)
    tab = make_tab(qtbot, services)
    send(qtbot, tab, "len:3000 tell me a long story")
    _user, answer = tab.view.widgets
    whole = stored(tab)[-1].text
    assert len(whole) > 10_000 and answer.status == "complete"
    assert answer.text == whole[:5_000] and not answer.more.isHidden()
    QGuiApplication.clipboard().setText("")
    answer.button("copy").click()
    qtbot.waitUntil(lambda: QGuiApplication.clipboard().text() == whole, timeout=5000)
    conversation = tab.conversation_id
    tab.new_chat()  # and opened again from history: the same
    tab.open_conversation(conversation)
    qtbot.waitUntil(lambda: len(tab.view.widgets) == 2, timeout=5000)
    reopened = tab.view.widgets[-1]
    assert reopened.text == whole[:5_000] and not reopened.has_all_text
