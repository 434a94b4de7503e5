"""Cards and messages wrap inside the space they are given (the audit of the error cards): in the conversation at
800×500 no card and no long word makes the page wider than the viewport, and no card's text is cut, sideways or
at its bottom, in the chat, Completions and Images tabs."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QLabel, QWidget

from app.ui.common.problem_card import Card
from tests.test_chat_tab import send
from tests.test_design_800 import fully_visible, show_tab
from tests.test_design_800 import window as window  # noqa: F401 - the 800×500 window fixture

LONG_WORD = "configure_the_extremely_long_snake_case_identifier_name_here_x"  # 62 characters


def sized_window(window, width, height):  # noqa: F811 - the fixture above
    window.resize(width, height)
    return window


def rect_in(widget: QWidget, ancestor: QWidget) -> QRect:
    return QRect(widget.mapTo(ancestor, QPoint(0, 0)), widget.size())


def label_whole(label: QLabel) -> bool:
    """The label shows all of its text: as tall as its words need at its width, or as wide as its one line."""
    if label.wordWrap():
        return label.height() >= label.heightForWidth(label.width())
    return label.width() >= label.sizeHint().width()


def card_problems(card: Card) -> list[str]:
    """What a user would see cut in a card: a label shorter or narrower than its text, a part outside the card,
    the request id under its Copy button."""
    out = []
    inside = card.rect()
    for part in (card.title, card.text, card.request_id, card.copy_id, *card.buttons().values()):
        if not part.isVisible():
            continue
        name = part.text()[:40]
        if isinstance(part, QLabel) and not label_whole(part):
            hfw = part.heightForWidth(part.width()) if part.wordWrap() else part.sizeHint().width()
            out.append(f"{name!r} cut: {part.size().toTuple()} needs {hfw}")
        if not inside.contains(rect_in(part, card)):
            out.append(f"{name!r} outside the card: {rect_in(part, card)} in {inside}")
        if part.width() < part.minimumSizeHint().width():
            out.append(f"{name!r} narrower than it may be: {part.width()} < {part.minimumSizeHint().width()}")
    if card.request_id.isVisible() and rect_in(card.request_id, card).intersects(rect_in(card.copy_id, card)):
        out.append("the request id is under the Copy request id button")
    return out


def settle(qtbot):
    qtbot.wait(100)


def chat_after(qtbot, window, text):
    tab = show_tab(qtbot, window, "chat")
    qtbot.waitUntil(lambda: tab.history is not None, timeout=10000)
    send(qtbot, tab, text)
    settle(qtbot)
    return tab


def no_sideways_scroll(view) -> list[str]:
    """The conversation never scrolls sideways, and every message lies within the viewport's width."""
    out = []
    if view.horizontalScrollBar().maximum() != 0:
        out.append(f"sideways scroll of {view.horizontalScrollBar().maximum()} px")
    width = view.viewport().width()
    for message in view.widgets:
        where = rect_in(message, view.viewport())
        if where.left() < 0 or where.right() >= width:
            out.append(f"{message.role} spans x {where.left()}..{where.right()} in a {width} px viewport")
    return out


@pytest.mark.parametrize("fault", ["fault:500", "fault:429", "filter:prompt"])
def test_an_error_card_wraps_within_the_conversation_at_800(qtbot, window, fault):  # noqa: F811
    tab = chat_after(qtbot, window, f"Explain sorting please {fault}")
    user = tab.view.last("user")
    assert user is not None and user._card is not None and user.card.isVisible()
    assert no_sideways_scroll(tab.view) == []
    assert card_problems(user.card) == []


def test_a_card_with_a_long_address_fits_a_narrow_column(qtbot):
    """A web address longer than the column breaks (at its dashes and slashes) rather than widening the card."""
    from app.ui import theme

    theme.apply_theme("light")
    card = Card()
    qtbot.addWidget(card)
    long_url = "https://learn.microsoft.com/azure/ai-services/openai/concepts/content-filter-severity-levels?tabs=text"
    card.show_message("problem", "Something went wrong", f"Read {long_url} about it.", request_id="abc-123")
    assert card.minimumSizeHint().width() <= 300
    card.resize(300, card.heightForWidth(300))
    assert card_problems(card) == []
    assert long_url in card.plain_text()  # read and spoken whole


def test_the_rate_limit_card_shows_its_whole_hint_and_request_id_at_1280(qtbot, window):  # noqa: F811
    sized_window(window, 1280, 800)
    tab = chat_after(qtbot, window, "Explain sorting please fault:429")
    card = tab.view.last("user").card
    assert "tokens-per-minute quota in Azure AI Foundry" in card.plain_text()
    assert card_problems(card) == []
    assert no_sideways_scroll(tab.view) == []


def test_a_long_word_in_a_question_wraps_instead_of_widening_the_conversation(qtbot, window):  # noqa: F811
    tab = chat_after(qtbot, window, f"Why does {LONG_WORD} fail when I call it twice?")
    assert no_sideways_scroll(tab.view) == []
    user = tab.view.last("user")
    assert user.text == f"Why does {LONG_WORD} fail when I call it twice?"  # Copy and edit get it unbroken
    # The bubble's text is as tall as its wrapped lines: the long word is split over two of them, all shown.
    shown = user.plain
    assert shown.width() <= user.width()
    assert shown.height() >= 3 * shown.fontMetrics().lineSpacing()
    answer = tab.view.last("assistant")  # (its code block may scroll sideways by itself, its prose never)
    assert answer is not None and rect_in(answer, tab.view.viewport()).right() < tab.view.viewport().width()


def test_a_long_word_in_an_answer_wraps_in_its_prose(qtbot, window):  # noqa: F811
    tab = chat_after(qtbot, window, "Hello")
    answer = tab.view.last("assistant")
    answer.set_text(f"Call {LONG_WORD}{LONG_WORD} before anything else.")
    answer.flush()
    settle(qtbot)
    assert no_sideways_scroll(tab.view) == []
    assert [p.horizontalScrollBar().maximum() for p in answer.body.prose_parts()] == [0]


def test_the_completions_card_is_whole_at_800x500(qtbot, window):  # noqa: F811
    tab = show_tab(qtbot, window, "completions")
    tab.prompt.setPlainText("Hi fault:429")
    tab._on_run()
    qtbot.waitUntil(lambda: not tab.running, timeout=20000)
    settle(qtbot)
    assert tab.card.isVisible() and tab.card.kind == "problem"
    assert fully_visible(tab.card)
    assert "aka.ms/oai/quotaincrease" in tab.card.plain_text()
    assert card_problems(tab.card) == []


def test_the_images_refusal_card_is_whole_at_800x500_and_speaks_of_the_prompt(qtbot, window):  # noqa: F811
    from tests.test_images_tab import choose_dalle, generate

    tab = show_tab(qtbot, window, "images")
    choose_dalle(tab)
    generate(qtbot, tab, "filter:image something not allowed")
    settle(qtbot)
    assert tab.card.isVisible() and tab.card.kind == "refusal"
    assert fully_visible(tab.card)
    assert card_problems(tab.card) == []
    words = tab.card.plain_text()
    assert "prompt" in words.lower() and "your message" not in words.lower(), words


def test_a_refusal_after_an_image_is_whole_at_800x500_beside_the_gallery(qtbot, window):  # noqa: F811
    from tests.test_images_tab import choose_dalle, generate

    tab = show_tab(qtbot, window, "images")
    choose_dalle(tab)
    generate(qtbot, tab, "a red fox in the snow")
    qtbot.waitUntil(tab.result.isVisible, timeout=5000)
    generate(qtbot, tab, "filter:image something not allowed")
    settle(qtbot)
    assert tab.card.isVisible() and fully_visible(tab.card)
    assert card_problems(tab.card) == []
