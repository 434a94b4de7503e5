"""The chat's look (issue #17): the chat font size pref reaches every part of a message, the reading column, the
message actions, code blocks and the icons."""

from __future__ import annotations

import pytest

from app.ui.common import prefs
from tests.test_chat_tab import make_tab, send, wait_idle


@pytest.fixture
def tab(qtbot, services):
    tab = make_tab(qtbot, services)
    yield tab
    tab.shutdown()


def _text_size(widget) -> float:
    """The point size the answer's text is laid out in (the document's font unless a fragment says otherwise)."""
    block = widget.body.document().firstBlock()
    fragment = next(iter(block)).fragment()
    return fragment.charFormat().font().pointSizeF()


def _sizes(tab):
    user, answer, failed = tab.view.widgets[0], tab.view.widgets[1], tab.view.widgets[-1]
    return {
        "question": user.plain.font().pointSizeF(),
        "answer": _text_size(answer),
        "token line": answer.usage.font().pointSizeF(),
        "card": failed.card.text.font().pointSizeF(),
        "card title": failed.card.title.font().pointSizeF(),
    }


def _expected(size: float) -> dict[str, float]:
    small = round(size * 0.85, 2)
    return {"question": size, "answer": size, "token line": small, "card": size, "card title": size}


def _rounded(sizes: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 2) for k, v in sizes.items()}


def test_the_chat_font_size_applies_at_first_start_after_a_change_and_back_to_cards_and_token_lines(
    qtbot, tab, services
):
    send(qtbot, tab, "hello")
    send(qtbot, tab, "explain fault:cut len:80")
    assert tab.view.widgets[-1].card.isVisible()
    default = services.pref(prefs.CHAT_FONT_SIZE)
    assert _rounded(_sizes(tab)) == _expected(default)
    services.set_pref(prefs.CHAT_FONT_SIZE, 15)
    assert _rounded(_sizes(tab)) == _expected(15)
    services.set_pref(prefs.CHAT_FONT_SIZE, default)
    assert _rounded(_sizes(tab)) == _expected(default)
    # Reopened from history (the widgets and the card are built before they are in the window): the same.
    conversation = tab.conversation_id
    tab.new_chat()
    with qtbot.waitSignal(tab.conversation_shown, timeout=10000):
        tab.open_conversation(conversation)
    qtbot.waitUntil(lambda: len(tab.view.widgets) == 4)
    assert _rounded(_sizes(tab)) == _expected(default)
    services.set_pref(prefs.CHAT_FONT_SIZE, 9)
    assert _rounded(_sizes(tab)) == _expected(9)
    wait_idle(qtbot, tab)
