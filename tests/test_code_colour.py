"""Code blocks keep their colours however they arrive (streamed in small deltas, or all at once as when a stored
conversation opens), while no single render colours more than CODE_SLICE characters: Pygments is the costliest
step of rendering (a 2,500-character slice of code took 15-25 ms, the longest stall of a 10 MB answer)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QTextCursor

from app.ui.chat import markdown_body
from app.ui.chat.message_widget import MessageWidget
from app.ui.common import markdown_render

LINE = "    total = sum(value * weight for value, weight in pairs)  # keep going\n"


def coloured_lines(body) -> tuple[int, int]:
    """(code lines whose `for` keyword has a colour of its own, code lines) in what the message shows."""
    coloured = total = 0
    blocks = []
    for part in body.code_parts():
        block = part.text.document().begin()
        while block.isValid():
            blocks.append(block)
            block = block.next()
    for block in blocks:
        text = block.text()
        at = text.find(" for ")
        if "total = sum(" in text and at >= 0:
            total += 1
            cursor = QTextCursor(block)
            cursor.setPosition(block.position() + at + 2)  # inside "for"
            keyword = cursor.charFormat().foreground().color()
            cursor.setPosition(block.position() + text.find("total") + 2)
            name = cursor.charFormat().foreground().color()
            coloured += keyword != name
    return coloured, total


def drain(body) -> None:
    body.render_now()
    while body._timer.isActive() and body._timer.interval() == 0:
        body.render_now()


def streamed(qtbot, text: str, delta: int) -> MessageWidget:
    """An answer that arrived in `delta`-character pieces, each rendered as the window would, then finished."""
    widget = MessageWidget("assistant")
    qtbot.addWidget(widget)
    for i in range(0, len(text), delta):
        widget.append(text[i : i + delta])
        drain(widget.body)
    widget.flush()
    return widget


@pytest.mark.parametrize("delta", [40, 100_000], ids=["streamed", "all-at-once"])
def test_a_long_code_block_is_coloured_to_its_last_line(qtbot, monkeypatch, delta):
    lexed: list[int] = []
    highlight = markdown_render.highlight
    monkeypatch.setattr(
        markdown_render,
        "highlight",
        lambda code, *a, **k: lexed.append(len(code)) or highlight(code, *a, **k),
    )
    lines = 120  # ~8,800 characters: past TAIL_LIMIT and SLICE, where the rest used to be plain
    text = "Here it is:\n\n```python\n" + LINE * lines + "```\n\nThat is all.\n"
    widget = streamed(qtbot, text, delta)
    assert coloured_lines(widget.body) == (lines, lines)
    assert max(lexed) <= markdown_body.CODE_SLICE  # no render lexes more than that
    assert (
        widget.body.plain_text().count("total = sum(") == lines and "That is all." in widget.body.plain_text()
    )


def test_past_the_colour_limit_the_rest_of_a_huge_block_is_plain_and_whole(qtbot, monkeypatch):
    monkeypatch.setattr(markdown_body, "COLOUR_LIMIT", 3_000)
    lines = 100
    widget = streamed(qtbot, "```python\n" + LINE * lines + "```\n", 100_000)
    coloured, total = coloured_lines(widget.body)
    assert total == lines and 3_000 // len(LINE) <= coloured < 3_000 // len(LINE) + 800 // len(LINE) + 2


@pytest.mark.parametrize("delta", [40, 100_000], ids=["streamed", "all-at-once"])
def test_a_code_line_longer_than_one_colouring_stays_one_line(qtbot, delta):
    long_line = "data = [" + ", ".join(str(n) for n in range(300)) + "]"  # ~1,500 characters, one line
    assert markdown_body.CODE_SLICE < len(long_line) < markdown_body.TAIL_LIMIT
    widget = streamed(qtbot, "```python\n" + LINE * 5 + long_line + "\n" + LINE * 5 + "```\n", delta)
    lines = widget.body.plain_text().splitlines()
    assert long_line in lines  # not broken across lines
    assert coloured_lines(widget.body) == (10, 10)


def test_a_code_block_in_a_list_is_lifted_out_and_the_list_numbers_on_after_it():
    text = "1. Install:\n\n   ```bash\n   pip install parley\n   ```\n\n   Then check.\n\n2. Run it.\n"
    blocks = markdown_render.render_blocks(text)
    assert [(b.kind, b.indent) for b in blocks] == [("html", 0), ("code", 1), ("html", 0)]
    assert blocks[1].code == "pip install parley\n" and blocks[1].language == "bash"
    # The list is closed before the code and opened again after it, numbering on (no new "1.").
    assert blocks[0].html.count("<ol>") == 1 and blocks[0].html.endswith("</li></ol>")
    rest = blocks[2].html
    assert rest.startswith(f'<div style="margin-left: {markdown_render.LIST_INDENT}px;"><p>Then check.</p>')
    assert '<ol start="2" style="-qt-list-indent: 1;">' in rest and "Run it." in rest


def test_a_code_block_in_a_quote_stays_in_the_quote():
    blocks = markdown_render.render_blocks("> Look:\n>\n> ```\n> x = 1\n> ```\n")
    assert [b.kind for b in blocks] == ["html"] and "x = 1" in blocks[0].html
