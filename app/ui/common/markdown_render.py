"""Markdown to Qt rich text, block by block: prose blocks become HTML, fenced code becomes highlighted code blocks.

markdown-it-py parses (CommonMark plus tables and strikethrough); Pygments colours code. Streaming stays cheap
because `stable_prefix` finds where the text can be cut into blocks that will not change as more tokens arrive:
those are rendered once, and only the unfinished tail is rendered again on each update.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True)
class Block:
    kind: str  # "html" or "code"
    html: str
    code: str = ""  # the raw code, for Copy
    language: str = ""


@lru_cache(maxsize=1)
def _md() -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    return md


@lru_cache(maxsize=4)
def _formatter(dark: bool) -> Any:
    from pygments.formatters import HtmlFormatter

    # Inline styles: QLabel's rich text has no stylesheet classes to hook onto.
    return HtmlFormatter(style="monokai" if dark else "friendly", noclasses=True, nowrap=True)


def highlight(code: str, language: str, dark: bool = False) -> str:
    """Code as inline-styled HTML spans (no <pre>); plain escaped text for an unknown language."""
    from pygments import highlight as pyg_highlight
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(language.strip().lower() or "text", stripnl=False, ensurenl=False)
    except ClassNotFound:
        return html.escape(code)
    return pyg_highlight(code, lexer, _formatter(dark))


def code_html(code: str, language: str, dark: bool = False, colour: bool = True) -> str:
    body = highlight(code.rstrip("\n"), language, dark) if colour else html.escape(code.rstrip("\n"))
    # Qt's rich text keeps spaces and line breaks inside <pre>; long lines stay whole (the code block scrolls sideways).
    return f'<pre style="white-space: pre; margin: 0; font-family: monospace;">{body}</pre>'


_TABLE_STYLE = '<table border="1" cellspacing="0" cellpadding="4" style="border-collapse: collapse;">'


def _prose_html(rendered: str, dark: bool = False) -> str:
    # Qt's rich text draws no table borders unless asked on the element itself, and no border on a block: a
    # blockquote becomes a table whose thin first cell is its quote bar.
    from app.ui import design

    bar = (design.DARK if dark else design.LIGHT).quote
    return (
        rendered.replace("<table>", _TABLE_STYLE)
        .replace(
            "<blockquote>",
            f'<table cellspacing="0" cellpadding="0" style="margin-top: 4px; margin-bottom: 4px;"><tr>'
            f'<td width="3" bgcolor="{bar}"></td><td width="{design.M}"></td><td>',
        )
        .replace("</blockquote>", "</td></tr></table>")
        .strip()
    )


def render_blocks(text: str, dark: bool = False, colour: bool = True) -> list[Block]:
    """The text as blocks: consecutive prose in one HTML block, each fenced or indented code block on its own.
    `colour=False` leaves code uncoloured (Pygments costs ~4 us a character: for the rest of a huge code block)."""
    md = _md()
    tokens = md.parse(text)
    blocks: list[Block] = []
    pending: list[Any] = []

    def flush() -> None:
        if pending:
            rendered = _prose_html(md.renderer.render(pending, md.options, {}), dark)
            if rendered:
                blocks.append(Block("html", rendered))
            pending.clear()

    for token in tokens:
        if token.type in ("fence", "code_block") and token.level == 0:
            flush()
            language = (token.info or "").split()[0] if token.type == "fence" and token.info else ""
            blocks.append(
                Block("code", code_html(token.content, language, dark, colour), token.content, language)
            )
        else:
            pending.append(token)
    flush()
    return blocks


def stable_prefix(text: str, start: int = 0) -> int:
    """How far into `text` (from `start`, which must be a block boundary) nothing can change any more.

    A boundary is a blank line outside a code fence, or the end of a closing fence line. The text after the last
    boundary may still grow into a different block (a list, a table, an open fence), so it is re-rendered.
    """
    boundary = start
    in_fence: str | None = None
    pos = start
    length = len(text)
    while pos < length:
        end = text.find("\n", pos)
        if end < 0:
            break  # the last line is unfinished
        line = text[pos:end]
        fence = _FENCE.match(line)
        if in_fence is not None:
            if (
                fence
                and fence.group(1)[0] == in_fence[0]
                and len(fence.group(1)) >= len(in_fence)
                and not line.strip().strip(in_fence[0])
            ):
                in_fence = None
                boundary = end + 1
        elif fence:
            in_fence = fence.group(1)
        elif not line.strip() and pos > start:
            boundary = end + 1
        pos = end + 1
    return boundary


def next_cut(text: str, fence: str = "", limit: int | None = None) -> tuple[int, str]:
    """Where `text` (which starts inside the code block opened by the line `fence`, when given) can be cut, and the
    fence the rest then starts inside ("" for none).

    The cut is `stable_prefix`'s boundary, unless more than `limit` characters would stay unfinished after it:
    then it is forced, at the last line end (inside a code block the rest goes on as the same code; in prose a
    paragraph is split there), else at the last space, else anywhere. So an answer that is one huge paragraph or
    one huge code block still gets a bounded unfinished tail: re-rendering it costs the same at any size.
    """
    boundary = 0
    in_fence = _FENCE.match(fence).group(1) if fence and _FENCE.match(fence) else None  # type: ignore[union-attr]
    opening = fence if in_fence else ""
    last_end, fence_at_end = 0, opening  # after the last complete line
    pos, length = 0, len(text)
    while pos < length:
        end = text.find("\n", pos)
        if end < 0:
            break
        line = text[pos:end]
        found = _FENCE.match(line)
        if in_fence is not None:
            if (
                found
                and found.group(1)[0] == in_fence[0]
                and len(found.group(1)) >= len(in_fence)
                and not line.strip().strip(in_fence[0])
            ):
                in_fence, opening = None, ""
                boundary = end + 1
        elif found:
            in_fence, opening = found.group(1), line
        elif not line.strip() and pos > 0:
            boundary = end + 1
        pos = end + 1
        last_end, fence_at_end = pos, opening
    if limit is None or length - boundary <= limit:
        return boundary, ""
    if last_end > boundary:
        return last_end, fence_at_end
    if in_fence is None:
        space = text.rfind(" ", boundary)
        if space > boundary:
            return space + 1, ""
    return length, fence_at_end if in_fence is not None else ""


def warm_up(cancel: object = None) -> None:
    """Import markdown-it and Pygments and load the common lexers, off the GUI thread, before the first answer."""
    for language in ("python", "javascript", "bash", "json", "sql", "text"):
        render_blocks(
            f"# Title\n\n- item **bold**\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```{language}\nx = 1\n```\n"
        )
