"""Markdown to Qt rich text, block by block: prose blocks become HTML, fenced code becomes highlighted code blocks.

markdown-it-py parses (CommonMark plus tables and strikethrough); Pygments colours code. Streaming stays cheap
because `next_cut` finds where the text can be cut into blocks that will not change as more tokens arrive:
those are rendered once, and only the unfinished tail is rendered again on each update.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")  # at any indent: a fence in a list item too


@dataclass(frozen=True)
class Block:
    kind: str  # "html" or "code"
    html: str
    code: str = ""  # the raw code, for Copy
    language: str = ""
    indent: int = 0  # a code block inside list items: how many lists deep (its part is indented as they are)


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
    `colour=False` leaves code uncoloured (Pygments costs ~4 us a character: for the rest of a huge code block).

    A code block inside list items is lifted out too (`_Lists`): the lists are closed before it and go on after
    it, so it gets its language, Copy and its own sideways scroll as any other."""
    md = _md()
    tokens = md.parse(text)
    blocks: list[Block] = []
    pending: list[Any] = []
    lists = _Lists()

    def flush() -> None:
        if pending:
            rendered = _prose_html(md.renderer.render(pending, md.options, {}), dark)
            if rendered:
                blocks.append(Block("html", rendered))
            pending.clear()

    for token in tokens:
        if token.type in ("fence", "code_block") and (token.level == 0 or lists.can_lift()):
            pending.extend(lists.close_all())
            flush()
            language = (token.info or "").split()[0] if token.type == "fence" and token.info else ""
            blocks.append(
                Block(
                    "code",
                    code_html(token.content, language, dark, colour),
                    token.content,
                    language,
                    lists.depth(),
                )
            )
            pending.extend(lists.reopen())
        else:
            pending.extend(lists.see(token))
    flush()
    return blocks


def _html(content: str) -> Any:
    from markdown_it.token import Token

    return Token("html_block", "", 0, content=content)  # the renderer writes its content as it is


LIST_INDENT = 40  # px a list level indents its text (QTextDocument's indent width)


class _Lists:
    """The lists and items open at a token, so that a code block inside them can be lifted out: they are closed
    before it, and after it the item goes on in a block indented as the list's text is (no new bullet or number);
    the list itself is opened again at its next item, numbered on."""

    def __init__(self) -> None:
        self.stack: list[dict[str, Any]] = []  # {"kind": "list" | "item" | "other", "tag", "open", "div"}

    def can_lift(self) -> bool:
        return bool(self.stack) and all(e["kind"] in ("list", "item") for e in self.stack)

    def depth(self) -> int:
        return sum(1 for e in self.stack if e["kind"] == "list")

    def see(self, token: Any) -> list[Any]:
        """The tokens to render for `token`, keeping track of what is open."""
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            self.stack.append({"kind": "list", "tag": token.tag, "open": True, "div": False})
        elif kind == "list_item_open":
            out = []
            if self.stack and self.stack[-1]["kind"] == "list" and not self.stack[-1]["open"]:
                number = f' start="{token.info}"' if self.stack[-1]["tag"] == "ol" and token.info else ""
                # As deep as it was, though its outer lists are closed.
                level = f' style="-qt-list-indent: {self.depth()};"'
                out.append(_html(f"<{self.stack[-1]['tag']}{number}{level}>"))
                self.stack[-1]["open"] = True
            self.stack.append({"kind": "item", "tag": "li", "open": True, "div": False})
            return [*out, token]
        elif kind in ("bullet_list_close", "ordered_list_close", "list_item_close"):
            entry = self.stack.pop() if self.stack else {"open": True, "div": False}
            if not entry["open"]:
                return [_html("</div>")] if entry["div"] else []
        elif token.nesting == 1 and token.block:
            self.stack.append({"kind": "other", "tag": token.tag, "open": True, "div": False})
        elif token.nesting == -1 and token.block and self.stack:
            self.stack.pop()
        return [token]

    def close_all(self) -> list[Any]:
        closes = []
        for entry in reversed(self.stack):
            if entry["open"]:
                closes.append(f"</{entry['tag']}>")
            elif entry["div"]:
                closes.append("</div>")
        return [_html("".join(closes))] if closes else []

    def reopen(self) -> list[Any]:
        """After a lifted code block: the innermost item goes on in an indented block; every list opens again at
        its next item."""
        for entry in self.stack:
            entry["open"], entry["div"] = False, False
        items = [e for e in self.stack if e["kind"] == "item"]
        if not items:
            return []
        items[-1]["div"] = True
        return [_html(f'<div style="margin-left: {LIST_INDENT * self.depth()}px;">')]


def next_cut(text: str, fence: str = "", limit: int | None = None) -> tuple[int, str]:
    """Where `text` (which starts inside the code block opened by the line `fence`, when given) can be cut, and the
    fence the rest then starts inside ("" for none).

    The cut is at a boundary: a blank line outside a code fence followed by a line that is not indented (an indented
    one goes on with a list item), or the end of a closing fence line at the left margin. Unless more than `limit`
    characters would stay unfinished after it:
    then it is forced, at the last line end (inside a code block the rest goes on as the same code; in prose a
    paragraph is split there), else at the last space, else anywhere. So an answer that is one huge paragraph or
    one huge code block still gets a bounded unfinished tail: re-rendering it costs the same at any size.
    """
    boundary = 0
    in_fence = _FENCE.match(fence).group(1) if fence and _FENCE.match(fence) else None  # type: ignore[union-attr]
    opening = fence if in_fence else ""
    last_end, fence_at_end = 0, opening  # after the last complete line
    blank_end = 0  # after the blank lines just read: a boundary if the next line is not indented
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
                if not line[:1].isspace():  # a fence in a list item: its item goes on after it
                    boundary = end + 1
        elif not line.strip():
            blank_end = end + 1 if pos > 0 else blank_end
        else:
            if blank_end and not line[:1].isspace():
                boundary = blank_end
            blank_end = 0
            if found:
                in_fence, opening = (
                    found.group(1),
                    line.lstrip(),
                )  # goes on, after a cut, as a fence of its own
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
