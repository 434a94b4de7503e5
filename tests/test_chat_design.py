"""The chat's look (issue #17): the chat font size pref reaches every part of a message, the reading column, the
message actions, code blocks and the icons."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QSize, Qt
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
    block = widget.body.prose_parts()[0].document().firstBlock()
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


def test_message_and_code_icons_grow_with_a_large_chat_font(qtbot, tab, services):
    """At the default size the icons are as designed (16 px actions, a 14 px Copy beside the code); a large chat
    font makes them as large as the small text beside them, not left tiny next to it."""
    send(qtbot, tab, "hello")
    send(qtbot, tab, "show me code")
    qtbot.waitUntil(lambda: any(w.body.code_parts() for w in tab.view.widgets if w.role == "assistant"))
    answer = next(w for w in tab.view.widgets if w.role == "assistant" and w.body.code_parts())
    copy, code_copy = answer.button("copy"), answer.body.code_parts()[0].copy_button
    sides = lambda: (copy.iconSize().width(), code_copy.iconSize().width())  # noqa: E731
    default = services.pref(prefs.CHAT_FONT_SIZE)
    assert sides() == (16, 14)
    services.set_pref(prefs.CHAT_FONT_SIZE, 24)
    action, code = sides()
    small_text = QFontMetrics(answer.usage.font()).ascent()
    assert action >= small_text and code >= small_text and action > 16 and code > 14, (
        action,
        code,
        small_text,
    )
    assert copy.iconSize().height() == action  # square
    services.set_pref(prefs.CHAT_FONT_SIZE, default)
    assert sides() == (16, 14)


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


def test_a_wide_code_block_scrolls_sideways_alone_and_its_prose_keeps_wrapping(qtbot, tab):
    long_line = "x = [" + ", ".join(str(i) for i in range(80)) + "]"
    prose = "The keeper climbed the stairs and lit the lamp before the ships came in sight. " * 4
    text = f"{prose}\n\n```python\n{long_line}\nprint(x)\n```\n\nAfter the code, {prose}"
    answer = MessageWidget("assistant")
    qtbot.addWidget(answer)
    answer.resize(640, 1000)
    answer.show()
    answer.set_text(text)
    body = answer.body
    qtbot.waitUntil(lambda: len(body.parts()) == 3 and all(p.width() > 300 for p in body.parts()))
    assert [p.kind for p in body.parts()] == ["prose", "code", "prose"]
    code = body.code_parts()[0]
    assert code.language.text() == "python"
    block = code.text.document().find(long_line[:20]).block()
    assert block.layout().lineCount() == 1  # the code line stays whole
    bar = code.text.horizontalScrollBar()
    assert bar.isVisibleTo(code) and bar.maximum() > 0
    for part in body.prose_parts():  # the prose wraps to the column and has nothing to scroll
        assert part.horizontalScrollBar().maximum() == 0
        assert part.document().size().height() > 2 * part.fontMetrics().lineSpacing()  # wrapped, not one line
    first, after = body.prose_parts()
    qtbot.wait(50)  # heights settled
    where = first.mapTo(answer, QPoint(0, 0)), after.mapTo(answer, QPoint(0, 0))
    head = code.copy_button.mapTo(answer, QPoint(0, 0))
    # By keyboard: in the code, End goes to the end of the line and the block scrolls to show it.
    code.text.setFocus()
    qtbot.waitUntil(code.text.hasFocus)
    qtbot.keyClick(code.text, Qt.Key.Key_End)
    qtbot.waitUntil(lambda: bar.value() > 0)
    assert first.horizontalScrollBar().value() == after.horizontalScrollBar().value() == 0
    assert (first.mapTo(answer, QPoint(0, 0)), after.mapTo(answer, QPoint(0, 0))) == where  # the prose stays
    assert code.copy_button.mapTo(answer, QPoint(0, 0)) == head  # so do the language and Copy
    code.copy_button.click()
    assert QGuiApplication.clipboard().text() == f"{long_line}\nprint(x)\n"
    assert code.copy_button.focusPolicy() != Qt.FocusPolicy.NoFocus
    assert code.copy_button.accessibleName() == "Copy the python code"


def test_a_wheel_over_code_scrolls_the_conversation_and_shift_wheel_the_code(qtbot, tab):
    from PySide6.QtGui import QWheelEvent

    send(qtbot, tab, "Hello")
    answer = tab.view.last("assistant")
    filler = "A line of prose to make the chat taller than its window.\n\n" * 30
    wide = "x = [" + ", ".join(str(i) for i in range(80)) + "]"
    answer.set_text(f"{filler}```python\n{wide}\n```\n\n{filler}")
    code = answer.body.code_parts()[0]
    tab.view.ensureWidgetVisible(code)
    qtbot.waitUntil(lambda: code.text.horizontalScrollBar().maximum() > 0)
    view_bar, code_bar = tab.view.verticalScrollBar(), code.text.horizontalScrollBar()

    def wheel(dx: int, dy: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
        at = QPointF(code.text.viewport().rect().center())
        event = QWheelEvent(
            at,
            code.text.viewport().mapToGlobal(at),
            QPoint(),
            QPoint(dx, dy),
            Qt.MouseButton.NoButton,
            modifiers,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(code.text.viewport(), event)

    before = view_bar.value()
    wheel(0, -120)  # down: the conversation moves, the code stays
    qtbot.waitUntil(lambda: view_bar.value() > before)
    assert code_bar.value() == 0
    wheel(-120, 0)  # a sideways wheel moves the code alone
    qtbot.waitUntil(lambda: code_bar.value() > 0)
    code_bar.setValue(0)
    at = view_bar.value()
    wheel(0, -120, Qt.KeyboardModifier.ShiftModifier)  # Shift+wheel too
    qtbot.waitUntil(lambda: code_bar.value() > 0)
    assert view_bar.value() == at


def test_a_streamed_answer_is_cut_into_the_same_parts_as_the_whole(qtbot, tab):
    text = (
        "Intro line.\n\n```bash\nls -la\n```\n\nMiddle.\n\n```python\nprint(1)\n```\n```js\nf()\n```\nEnd.\n"
    )
    whole = tab.view.add(MessageWidget("assistant"))
    whole.set_text(text)
    streamed = tab.view.add(MessageWidget("assistant"))
    for i in range(0, len(text), 3):
        streamed.append(text[i : i + 3])
        streamed.flush()
    visible = lambda w: [p.kind for p in w.body.parts() if not p.isHidden()]  # noqa: E731
    assert visible(streamed) == visible(whole)
    assert [p.kind for p in whole.body.parts()] == ["prose", "code", "prose", "code", "code", "prose"]
    assert streamed.body.codes == whole.body.codes == ["ls -la\n", "print(1)\n", "f()\n"]
    assert streamed.body.plain_text() == whole.body.plain_text()
    assert [c.language.text() for c in streamed.body.code_parts()] == ["bash", "python", "js"]


def test_a_blockquote_gets_a_quote_bar(qtbot, tab):
    answer = tab.view.add(MessageWidget("assistant"))
    answer.set_text("> quoted words\n\nand mine")
    assert design.LIGHT.quote in answer.body.rich_text()
    assert "quoted words" in answer.body.plain_text()


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


SAMPLES = [
    "Intro.\n\n```python\n"
    + "".join(f"value_{i} = compute({i})  # step {i}\n" for i in range(60))
    + "```\n\nDone.\n",
    # (A quote or table streamed after a paragraph sits 8 px lower than rendered whole, where Qt lets the table's
    # margin take the paragraph's: not covered here.)
    "- a list\n- with items\n\n```\nplain\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~~sh\necho hi\n~~~\n\n"
    "> quoted\n\nAfter.\n",
    "```js\nconst a = 1;\n```\n```css\nbody { color: red; }\n```\n",
    "Words " * 700 + "\n\n```text\n" + "x" * 3000 + "\n```\n",
    "```python\nunclosed = True\nprint(unclosed)\n",
    "Steps:\n\n1. Install:\n\n   ```bash\n   pip install parley\n   ```\n\n   Then check.\n\n2. Run:\n\n   ```\n   parley\n"
    "   ```\n3. Done.\n\n- Outer\n  - Inner:\n\n    ```python\n    a = 1\n\n    b = 2\n    ```\n\n  - next\n\nThe end.\n",
]


@pytest.mark.parametrize("sample", range(len(SAMPLES)))
@pytest.mark.parametrize("step", [1, 7, 64, 997])
def test_any_stream_of_an_answer_ends_in_the_parts_of_the_whole(qtbot, monkeypatch, sample, step):
    """However an answer arrives (a character at a time, or pieces cut anywhere, with the tail's forced cuts made
    small), it ends as the same parts as the whole text rendered at once: the same code blocks, whole, and the same
    text at the same height (but where a forced cut split one huge paragraph, as markdown_body says it may)."""
    from app.ui.chat import markdown_body

    monkeypatch.setattr(markdown_body, "TAIL_LIMIT", 300)
    monkeypatch.setattr(markdown_body, "SLICE", 500)
    text = SAMPLES[sample]
    whole, streamed = MessageWidget("assistant"), MessageWidget("assistant")
    for widget in (whole, streamed):
        qtbot.addWidget(widget)
        widget.resize(600, 400)
        widget.show()
    whole.set_text(text)
    for i in range(0, len(text), step):
        streamed.append(text[i : i + step])
        if i // step % 3 == 0:
            streamed.flush()
    for widget in (whole, streamed):
        widget.flush()
        while widget.body._timer.isActive():  # frozen text still queued in slices
            widget.flush()

    def shown(widget):
        return [p.kind for p in widget.body.parts() if not p.isHidden()]

    assert shown(streamed) == shown(whole)
    assert streamed.body.codes == whole.body.codes
    if sample == 3:  # one paragraph of 4,200 characters: cut where the tail grew too long
        return

    def seen(widget):  # the visible text (an empty block left between two tables is hidden) and heights
        QApplication.processEvents()
        text = "\n".join(line for line in widget.body.plain_text().splitlines() if line.strip())
        return text, [p.height() for p in widget.body.parts() if not p.isHidden()]

    qtbot.waitUntil(lambda: seen(streamed) == seen(whole))
