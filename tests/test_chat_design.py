"""The chat's look (issue #17): the chat font size pref reaches every part of a message, the reading column, the
message actions, code blocks and the icons."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QSize, Qt, QUrl
from PySide6.QtGui import QColor, QEnterEvent, QFontMetrics, QGuiApplication
from PySide6.QtWidgets import QApplication

from app.ui import design, theme
from app.ui.chat.message_widget import MessageWidget
from app.ui.common import prefs
from tests.test_chat_tab import make_tab, send, wait_idle


@pytest.fixture
def tab(qtbot, services):
    theme.apply_theme("light")  # as the window starts: palette and the base style sheet
    tab = make_tab(qtbot, services)
    yield tab
    tab.shutdown()


def _text_size(widget) -> float:
    """The point size the answer's text is laid out in (the document's font unless a fragment says otherwise)."""
    block = widget.body.document().firstBlock()
    while block.isValid():
        for item in block:
            fragment = item.fragment()
            if len(fragment.text().strip()) > 10 and block.blockFormat().headingLevel() == 0:
                return fragment.charFormat().font().pointSizeF()
        block = block.next()
    raise AssertionError("no text in the answer")


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


def test_the_reading_column_is_bounded_and_centred_on_a_wide_window(qtbot, tab):
    tab.resize(1600, 800)
    send(qtbot, tab, "hello")
    qtbot.wait(50)
    answer = tab.view.widgets[1]
    font_width = QFontMetrics(tab.view.container.font()).averageCharWidth()
    left = answer.mapTo(tab.view.viewport(), QPoint(0, 0)).x()
    right = tab.view.viewport().width() - (left + answer.width())
    assert 60 * font_width <= answer.width() <= 80 * font_width  # about 70-80 characters, not 1,300 px
    assert abs(left - right) <= 2 and left > 100
    tab.resize(560, 600)  # a narrow window: the column takes the width there is
    room = lambda: tab.view.viewport().width() - 2 * design.L  # noqa: E731
    qtbot.waitUntil(lambda: room() < tab.view.page.maximumWidth() and answer.width() >= room() - 2)
    assert answer.mapTo(tab.view.viewport(), QPoint(0, 0)).x() <= design.L + 1


def _drawn(button) -> bool:
    image = button.grab().toImage()
    colours = {image.pixel(x, y) for x in range(image.width()) for y in range(image.height())}
    return len(colours) > 2


def test_message_actions_are_icons_drawn_on_hover_and_focus_with_names(qtbot, tab):
    send(qtbot, tab, "hello")
    user, answer = tab.view.widgets
    copy = answer.button("copy")
    assert copy.isVisible() and not copy.icon().isNull() and copy.accessibleName() == "Copy this message"
    assert copy.toolTip() == "Copy" and copy.focusPolicy() & Qt.FocusPolicy.TabFocus
    assert user.button("edit").accessibleName() == "Edit this message" and user.button("edit").toolTip()
    assert answer.button("regenerate").accessibleName() == "Regenerate this answer"
    assert not answer.actions_shown() and not _drawn(copy)  # a calm conversation: nothing drawn yet
    QApplication.sendEvent(answer, QEnterEvent(QPointF(5, 5), QPointF(5, 5), QPointF(5, 5)))
    assert answer.actions_shown() and _drawn(copy)
    QApplication.sendEvent(answer, QEvent(QEvent.Type.Leave))
    assert not answer.actions_shown() and not _drawn(copy)
    tab.window().activateWindow()
    copy.setFocus(Qt.FocusReason.TabFocusReason)  # the keyboard reaches them: focus draws them
    qtbot.waitUntil(copy.hasFocus)
    assert answer.actions_shown() and _drawn(copy)


def test_a_code_block_keeps_its_lines_whole_and_offers_copy(qtbot, tab):
    long_line = "x = [" + ", ".join(str(i) for i in range(80)) + "]"
    answer = tab.view.add(MessageWidget("assistant"))
    answer.set_text(f"Here:\n\n```python\n{long_line}\nprint(x)\n```\n")
    qtbot.wait(20)
    body = answer.body
    assert (
        "python" in body.toPlainText() and "Copy" in body.toPlainText() and 'href="copy:0"' in body.toHtml()
    )
    block = body.document().find(long_line[:20]).block()
    assert block.layout().lineCount() == 1  # not wrapped
    assert body.horizontalScrollBar().maximum() > 0  # the message scrolls sideways instead
    body._on_anchor(QUrl("copy:0"))
    assert QGuiApplication.clipboard().text() == f"{long_line}\nprint(x)\n"


def test_a_blockquote_gets_a_quote_bar(qtbot, tab):
    answer = tab.view.add(MessageWidget("assistant"))
    answer.set_text("> quoted words\n\nand mine")
    assert design.LIGHT.quote in answer.body.toHtml()
    assert "quoted words" in answer.body.toPlainText()


def test_every_tab_and_the_chat_controls_have_an_icon_sharp_at_high_dpi(qtbot, services):
    from app.ui.main_window import MainWindow

    win = MainWindow(services)
    qtbot.addWidget(win)
    assert win.tabs.count() == 6
    for index in range(win.tabs.count()):
        assert not win.tabs.tabIcon(index).isNull(), win.tabs.tabText(index)
    pixmap = win.tabs.tabIcon(0).pixmap(QSize(16, 16), 2.0)
    assert pixmap.size() == QSize(32, 32) and pixmap.devicePixelRatio() == 2.0
    chat = win.tab("chat")
    for button in (chat.sidebar.new_button, chat.compose.send, chat.compose.attach):
        assert not button.icon().isNull() and button.accessibleName()
    win.close()


def test_icons_take_the_themes_text_colour(qapp):
    from app.ui.common import icons

    def darkest(dark: bool) -> int:
        theme.apply_theme("dark" if dark else "light")
        image = icons.icon("square").pixmap(QSize(24, 24)).toImage()
        return max(
            QColor(image.pixel(x, 12)).lightness() for x in range(24) if QColor(image.pixel(x, 12)).alpha()
        )

    assert darkest(False) < 80 and darkest(True) > 180
    theme.apply_theme("light")
