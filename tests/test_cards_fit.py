"""Cards and messages wrap inside the space they are given (the audit of the error cards): in the conversation at
800×500 no card and no long word makes the page wider than the viewport, and no card's text is cut, sideways or
at its bottom, in the chat, Completions and Images tabs."""

from __future__ import annotations

import unicodedata

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QTextDocument, QTextOption
from PySide6.QtWidgets import QApplication, QLabel, QWidget

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


def shown(text: str) -> str:
    """What a reader sees of a text: without the invisible format characters (zero-width joiners and the like)."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def words_shown(label: QLabel) -> str:
    doc = QTextDocument()
    doc.setHtml(QLabel.text(label))  # what Qt shows (not a subclass's idea of its text)
    return shown(doc.toPlainText())


def split_links(label: QLabel) -> list[str]:
    """The links a word-wrapped rich-text label shows across two lines, or wider than the label (cut at its edge),
    laid out as QLabel lays them out: its own text, its font, its width, word wrap."""
    doc = QTextDocument()
    doc.setDocumentMargin(0)
    doc.setDefaultFont(label.font())
    option = doc.defaultTextOption()
    option.setWrapMode(QTextOption.WrapMode.WordWrap)
    doc.setDefaultTextOption(option)
    doc.setHtml(QLabel.text(label))  # what Qt shows (not a subclass's idea of its text)
    width = label.contentsRect().width()
    doc.setTextWidth(width)
    doc.size()  # lays it out
    out = []
    block = doc.begin()
    while block.isValid():
        layout, it = block.layout(), block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            it += 1
            if not fragment.charFormat().isAnchor():
                continue
            start = fragment.position() - block.position()
            end = start + fragment.length() - 1
            first, last = layout.lineForTextPosition(start), layout.lineForTextPosition(end)
            words = shown(fragment.text())
            if first.lineNumber() != last.lineNumber():
                out.append(
                    f"{words!r} split over lines {first.lineNumber()}-{last.lineNumber()} at {width} px"
                )
            elif first.naturalTextWidth() > width + 1:
                out.append(f"{words!r}'s line is {first.naturalTextWidth():.0f} px in {width} px")
        block = block.next()
    return out


RATE_LIMIT = (
    "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2025-04-01-preview have "
    "exceeded token rate limit of your current AIServices S0 pricing tier. Please retry after 1 second. Please go "
    "here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."
)


def test_a_link_in_a_card_is_never_split_across_lines_at_any_width(qtbot):
    """The 429 card's address broke after "https://" or "aka.ms/oai/" at some widths (Qt breaks after a slash):
    a web address is one unbroken run, wherever the line ends, and the card still fits every width."""
    from app.ui import theme

    theme.apply_theme("light")
    card = Card()
    qtbot.addWidget(card)
    card.show_message("problem", "Azure asked to wait", RATE_LIMIT, request_id="abc-123")
    card.show()
    problems = []
    for width in range(260, 640, 6):
        card.resize(width, card.heightForWidth(width))
        QApplication.processEvents()
        problems += split_links(card.text) + [f"at {width} px: {p}" for p in card_problems(card)]
    assert problems == []
    assert "https://aka.ms/oai/quotaincrease" in card.plain_text()


def test_a_copy_of_a_cards_text_has_the_address_as_written(qtbot):
    """What keeps an address on one line is invisible and stays out of what the user copies."""
    from PySide6.QtGui import QGuiApplication, QKeySequence

    card = Card()
    qtbot.addWidget(card)
    card.show_message("problem", "Azure asked to wait", RATE_LIMIT)
    card.show()
    card.resize(300, card.heightForWidth(300))
    QApplication.processEvents()
    doc = QTextDocument()
    doc.setHtml(QLabel.text(card.text))
    card.text.setSelection(0, doc.characterCount() - 1)
    qtbot.keySequence(card.text, QKeySequence.StandardKey.Copy)
    assert QGuiApplication.clipboard().text() == RATE_LIMIT


def test_the_rate_limit_link_is_whole_on_one_line_in_the_chat(qtbot, window):  # noqa: F811
    tab = chat_after(qtbot, window, "Explain sorting please fault:429")
    card = tab.view.last("user").card
    for width in range(
        800, 1000, 12
    ):  # the conversation's column, and the card in it, narrow with the window
        window.resize(width, 500)
        settle(qtbot)
        assert split_links(card.text) == [], width
        assert card_problems(card) == [] and no_sideways_scroll(tab.view) == [], width


def test_a_card_with_a_long_address_fits_a_narrow_column(qtbot):
    """A web address longer than the column is shown shortened in its middle on one line, rather than widening
    the card or breaking the address in two; its link, the words read out and a copy keep it whole."""
    from app.ui import theme

    theme.apply_theme("light")
    card = Card()
    qtbot.addWidget(card)
    long_url = "https://learn.microsoft.com/azure/ai-services/openai/concepts/content-filter-severity-levels?tabs=text"
    card.show_message("problem", "Something went wrong", f"Read {long_url} about it.", request_id="abc-123")
    assert card.minimumSizeHint().width() <= 300
    card.show()
    card.resize(300, card.heightForWidth(300))
    QApplication.processEvents()
    assert card_problems(card) == [] and split_links(card.text) == []
    assert long_url in card.plain_text()  # read and spoken whole
    assert f'href="{long_url}"' in QLabel.text(card.text)  # and opened whole
    visible = words_shown(card.text)
    assert "…" in visible and "Read https://learn.micro" in visible and long_url not in visible
    card.resize(900, card.heightForWidth(900))  # room for it: shown whole
    QApplication.processEvents()
    assert long_url in words_shown(card.text) and split_links(card.text) == []


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
