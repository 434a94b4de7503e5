"""An audit of the answer as a stack of parts (prose and code blocks, `markdown_body`, `body_parts`): what a keyboard
user, a theme change and the Markdown an assistant really writes do to it, as the user sees it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from app.ui import theme
from app.ui.chat.message_widget import MessageWidget
from tests.test_chat_tab import make_tab, send

WIDE = "x = [" + ", ".join(str(i) for i in range(80)) + "]"


@pytest.fixture
def tab(qtbot, services):
    theme.apply_theme("light")
    tab = make_tab(qtbot, services)
    yield tab
    tab.shutdown()
    theme.apply_theme("light")


def _answer(qtbot, text: str, width: int = 500) -> MessageWidget:
    answer = MessageWidget("assistant")
    qtbot.addWidget(answer)
    answer.resize(width, 400)
    answer.show()
    answer.set_text(text)
    return answer


def _streamed(qtbot, text: str, width: int = 500) -> MessageWidget:
    answer = _answer(qtbot, "", width)
    for char in text:
        answer.append(char)
        answer.flush()
    return answer


def _focus(qtbot, widget) -> None:
    widget.window().activateWindow()
    widget.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(widget.hasFocus)


def test_a_code_block_without_a_language_is_not_called_code_code(qtbot):
    """A fence with no language is labelled "code"; its Copy's tooltip read "Copy the code code" and a screen reader
    said "code code"."""
    answer = _answer(qtbot, "```\nplain\n```\n")
    code = answer.body.code_parts()[0]
    assert code.language.text() == "code"
    assert code.copy_button.toolTip() == code.copy_button.accessibleName() == "Copy the code"
    assert "code code" not in code.text.accessibleName().lower()
    assert "code code" not in code.accessibleName().lower()
    python = _answer(qtbot, "```python\nx = 1\n```\n").body.code_parts()[0]
    assert python.copy_button.toolTip() == "Copy the python code"


def test_the_conversation_follows_the_caret_of_a_keyboard_user_in_a_tall_code_block(qtbot, tab):
    """Arrow keys in a code block taller than the window moved the caret out of sight: the conversation stayed
    where it was (only the code block, as tall as its text, 'scrolled' to it)."""
    tab.resize(800, 500)
    send(qtbot, tab, "hello")
    answer = tab.view.last("assistant")
    code = "\n".join(f"line_{i} = {i}" for i in range(80))
    answer.set_text(f"Intro.\n\n```python\n{code}\n```\n\nEnd.")
    part = answer.body.code_parts()[0].text
    qtbot.waitUntil(lambda: tab.view.verticalScrollBar().maximum() > 1000)  # laid out
    tab.view.verticalScrollBar().setValue(0)
    _focus(qtbot, part)
    viewport = tab.view.viewport()

    def caret_seen() -> bool:
        rect = part.cursorRect()
        top = part.viewport().mapTo(viewport, rect.topLeft()).y()
        return 0 <= top and top + rect.height() <= viewport.height()

    for _ in range(60):
        qtbot.keyClick(part, Qt.Key.Key_Down)
        QApplication.processEvents()
        assert caret_seen(), f"the caret went out of sight at line {part.textCursor().blockNumber()}"
    for _ in range(60):
        qtbot.keyClick(part, Qt.Key.Key_Up)
        QApplication.processEvents()
        assert caret_seen(), f"the caret went out of sight at line {part.textCursor().blockNumber()}"


def test_a_theme_change_keeps_the_focus_selection_and_sideways_scroll_in_a_code_block(qtbot, tab):
    """The theme re-renders an answer (code colours are in its HTML): the focus left the code block for another
    control, the selection was lost and the block scrolled back to its start."""
    send(qtbot, tab, "hello")
    answer = tab.view.last("assistant")
    answer.set_text(f"Intro.\n\n```python\n{WIDE}\nprint(x)\n```\n\nEnd.")
    code = answer.body.code_parts()[0]
    qtbot.waitUntil(lambda: code.text.horizontalScrollBar().maximum() > 0)
    _focus(qtbot, code.text)
    qtbot.keyClick(code.text, Qt.Key.Key_End)
    qtbot.keyClick(code.text, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(code.text, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    scrolled = code.text.horizontalScrollBar().value()
    assert scrolled > 0 and code.text.textCursor().selectedText() == "9]"
    theme.apply_theme("dark")
    now = answer.body.code_parts()[0]
    qtbot.waitUntil(lambda: now.text.horizontalScrollBar().maximum() > 0)
    assert now.text.hasFocus(), f"the focus went to {QApplication.focusWidget()!r}"
    assert now.text.textCursor().selectedText() == "9]"
    qtbot.waitUntil(lambda: now.text.horizontalScrollBar().value() == scrolled, timeout=1000)


def test_a_keyboard_user_sees_which_copy_button_has_the_focus(qtbot, tab):
    """A code block's Copy took the focus by Tab without any change on screen (the base style sheet's focus
    border is not set in the conversation, and Fusion draws no focus frame on a tool button)."""
    send(qtbot, tab, "How do I sort a list?")
    button = tab.view.last("assistant").body.code_parts()[0].copy_button
    before = button.grab().toImage()
    _focus(qtbot, button)
    assert button.grab().toImage() != before


def test_a_keyboard_user_sees_which_message_action_has_the_focus(qtbot, tab):
    """Tab to a message's actions drew all three icons alike: which one Return would press was not shown."""
    send(qtbot, tab, "How do I sort a list?")
    answer = tab.view.last("assistant")
    copy, regenerate = answer.button("copy"), answer.button("regenerate")
    _focus(qtbot, regenerate)
    unfocused = copy.grab().toImage()
    _focus(qtbot, copy)
    assert answer.actions_shown() and copy.grab().toImage() != unfocused


# -- Markdown an assistant writes: a code block inside a list item ----------------------------------------------
LIST_FENCE = (
    "Steps:\n\n1. Install it:\n\n   ```bash\n   pip install " + "very-long-package-name " * 8 + "\n   ```\n\n"
    "2. Run it.\n"
)


def test_a_code_block_in_a_list_item_is_a_code_part_and_the_prose_never_scrolls(qtbot):
    whole = _answer(qtbot, LIST_FENCE)
    streamed = _streamed(qtbot, LIST_FENCE)
    for answer in (whole, streamed):
        qtbot.waitUntil(lambda a=answer: all(p.width() > 300 for p in a.body.parts() if not p.isHidden()))
        for part in answer.body.prose_parts():
            assert part.horizontalScrollBar().maximum() == 0  # the list text wraps and stays put
        assert [c.language.text() for c in answer.body.code_parts()] == ["bash"]
    assert whole.body.codes == streamed.body.codes
    # Indented as the list's text, the same streamed as reopened; the list numbers on after it.
    assert (
        [c.indent for c in whole.body.code_parts()] == [c.indent for c in streamed.body.code_parts()] == [40]
    )
    for answer in (whole, streamed):
        assert "2.\tRun it." in answer.body.plain_text() or "Run it." in answer.body.plain_text()


DEEP_FENCE = "- Outer\n  - Inner item:\n\n    ```python\n    a = 1\n\n    b = 2\n    ```\n\n  - next\n"


def test_a_streamed_code_block_nested_in_a_list_is_not_split_at_its_blank_line(qtbot):
    streamed = _streamed(qtbot, DEEP_FENCE)
    whole = _answer(qtbot, DEEP_FENCE)
    assert "```" not in streamed.body.plain_text()
    assert streamed.body.plain_text() == whole.body.plain_text()


def test_copying_a_quote_from_the_prose_gives_no_blank_lines_before_it(qtbot):
    answer = _answer(qtbot, "> quoted words\n\nand mine\n")
    prose = answer.body.prose_parts()[0]
    _focus(qtbot, prose)
    qtbot.keyClick(prose, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(prose, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "quoted words\nand mine"


def test_the_code_block_scrolled_into_view_by_tab_shows_its_copy_button(qtbot, tab):
    """Tab to a code block's Copy brings the block into view (checked fine in the audit; kept as a guard)."""
    tab.resize(800, 500)
    send(qtbot, tab, "hello")
    answer = tab.view.last("assistant")
    filler = "A line of prose to make the chat taller than its window.\n\n" * 30
    answer.set_text(f"{filler}```python\n{WIDE}\n```\n\n{filler}")
    tab.view.verticalScrollBar().setValue(0)
    code = answer.body.code_parts()[0]
    _focus(qtbot, answer.body.prose_parts()[0])
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    qtbot.waitUntil(code.copy_button.hasFocus)
    top = code.copy_button.mapTo(tab.view.viewport(), QPoint(0, 0)).y()
    assert 0 <= top <= tab.view.viewport().height() - code.copy_button.height()


def test_a_code_block_cut_at_the_display_limit_says_its_copy_copies_what_is_shown(qtbot, monkeypatch):
    """Its Copy copied the lines shown, ending mid-line, while the note said "Copy copies all of it": the block
    says what its Copy copies, and the note names the message's Copy (which reads the answer from history)."""
    from app.ui.chat import markdown_body

    monkeypatch.setattr(markdown_body, "DISPLAY_LIMIT", 2_000)
    code = "".join(f"row_{i} = compute({i})\n" for i in range(400))
    answer = _answer(qtbot, f"Intro.\n\n```python\n{code}```\n\nEnd.")
    while answer.body._timer.isActive():
        answer.flush()
    assert answer.more.isVisible()  # the answer says it is longer than shown
    assert "The message's Copy copies all of it" in answer.more.text()
    button = answer.body.code_parts()[0].copy_button
    assert button.text() == "Copy shown" and "goes on past what the window shows" in button.toolTip()
    button.click()
    assert code.startswith(QGuiApplication.clipboard().text()) and len(
        QGuiApplication.clipboard().text()
    ) < len(code)
    short = "".join(code.splitlines(keepends=True)[:20])
    whole = _answer(qtbot, f"```python\n{short}```\n\n" + "More words. " * 300)  # cut in prose, not code
    while whole.body._timer.isActive():
        whole.flush()
    assert whole.more.isVisible() and whole.body.code_parts()[0].copy_button.text() == "Copy"
