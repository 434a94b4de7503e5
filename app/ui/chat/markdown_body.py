"""A message's rendered Markdown that grows while it streams, at a cost that does not depend on its length.

Text that can no longer change (up to the last blank line outside a code fence) is rendered once into frozen
blocks; only the unfinished tail is rendered again, at most ~30 times a second however fast tokens arrive. The
tail is bounded even in one huge paragraph or code block, and a 10 MB answer keeps the window responsive.
"""

from __future__ import annotations

import html
import re
from typing import Any

from PySide6.QtCore import QSize, QSizeF, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import (
    QDesktopServices,
    QGuiApplication,
    QPalette,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser, QWidget

from app.ui import design
from app.ui.common import icons
from app.ui.common.markdown_render import Block, next_cut, render_blocks

RENDER_INTERVAL_MS = 33
ICON_PX = 14  # the Copy icon in a code block's header
# Rendering code costs about 2.5 us a character (Pygments and Qt's tables), prose about a tenth of that: these keep
# each render of a tail, and each slice frozen in one turn of the event loop, to a few milliseconds.
TAIL_LIMIT = 2_000  # characters an unfinished tail may have before a cut is forced
SLICE = 2_500  # most characters frozen in one turn of the event loop
# Pygments takes ~5 us a character of code: one render colours at most CODE_SLICE characters (a 2,500-character
# slice of code took 15-25 ms, the longest stall of a 10 MB answer). A code block is coloured in pieces cut at line
# ends, each lexed on its own (a string or comment running across a cut may lose its colour after it), up to
# COLOUR_LIMIT characters; the rest of a huge block stays plain.
CODE_SLICE = 800
COLOUR_LIMIT = 20_000
_FENCE_LINE = re.compile(r"^ {0,3}(?:`{3,}|~{3,})", re.MULTILINE)
DISPLAY_LIMIT = 400_000  # characters shown (about 150 pages) and kept in the window; history keeps all, Copy and export read it


def is_dark(widget: QWidget | None = None) -> bool:
    """Whether the app paints dark now (the theme chosen in Settings, or the system's)."""
    from app.ui import theme

    return theme.is_dark()


class MarkdownBody(QTextBrowser):
    """Rendered Markdown that can grow, in one QTextDocument (so selection runs across paragraphs).

    Frozen blocks are appended once at the end; only the unfinished tail is removed and inserted again. The
    document lays out only what changed, and the widget's height follows the document, so the cost of an update
    does not depend on how long the answer already is. Code blocks carry a "Copy" link (copy:N).

    Any size stays responsive: the unfinished tail is bounded (`next_cut` forces a cut in a huge paragraph or code
    block), newly frozen text is rendered at most SLICE characters per turn of the event loop, and only the first
    DISPLAY_LIMIT characters are shown, and kept: Copy and export read a longer answer back from history."""

    overflowed = Signal(int)  # the whole text's length, while it is longer than what is shown
    _length: int  # characters of the whole answer (`_reset`), more than are kept past DISPLAY_LIMIT

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._bar_styled = False  # the sideways bar gets its look when first needed (_style_bar)
        self.setReadOnly(True)
        self.setAccessibleName("Message text")
        self.setAccessibleDescription(
            "The message as formatted text; select to copy, links open in the browser"
        )
        self.setOpenLinks(False)
        self.anchorClicked.connect(self._on_anchor)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAsNeeded
        )  # a code line wider than the column
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.viewport().setAutoFillBackground(False)
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Base, Qt.GlobalColor.transparent)
        self.setPalette(
            palette
        )  # a palette, not a style sheet: style sheets make every message slow to build
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextBrowserInteraction | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.document().setDocumentMargin(0)
        self._add_icons()
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self.setFixedHeight(0)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RENDER_INTERVAL_MS)
        self._timer.timeout.connect(self.render_now)
        self._dark = is_dark(self)
        self._reset()

    def retheme(self) -> None:
        """The theme changed (`theme.apply_theme` calls this): code colours are baked into the HTML, render again."""
        if self.text and self._dark != is_dark(self):
            length = self._length
            self.set_text(self.text)  # its Copy icon too
            self._length = length  # what is kept is what is shown; the answer stays as long as it was
        if self._bar_styled:
            self._style_bar()

    def _style_bar(self) -> None:
        """A thin, quiet sideways bar in the theme's colours, set on the bar alone (never on the text: style.py says
        why) and only once a message needs one, so messages without wide code cost nothing."""
        from app.ui import theme

        c = theme.colours()
        self._bar_styled = True
        self.horizontalScrollBar().setStyleSheet(
            f"QScrollBar:horizontal {{ height: {design.S}px; background: transparent; margin: 0; border: none; }}"
            f"QScrollBar::handle:horizontal {{ background: {c.border}; border-radius: {design.S // 2}px;"
            f" min-width: {design.XL}px; }}"
            f"QScrollBar::handle:horizontal:hover {{ background: {c.muted}; }}"
            "QScrollBar::add-line:horizontal, QScrollBar::sub-line:horizontal { width: 0; border: none; }"
            "QScrollBar::add-page:horizontal, QScrollBar::sub-page:horizontal { background: none; }"
        )

    def _reset(self) -> None:
        self.codes: list[str] = []
        self._parts: list[str] = []  # the shown text, as it arrived (joined only when asked for)
        self._joined: str | None = ""
        self._length = 0
        self._taken = 0  # text[:_taken] is in the document or in _pending
        self._fresh: list[str] = []  # what arrived since, up to what is shown
        self._pending = (
            ""  # taken text after the frozen blocks: the unfinished tail, and what is not frozen yet
        )
        self._fence = ""  # the opening fence line when _pending starts inside a code block cut short
        self._coloured = 0  # characters of that code block rendered so far (coloured up to COLOUR_LIMIT)
        self._tail_pos = 0  # where the tail starts in the document
        self._tail_html = ""
        self._tail_codes: list[str] = []
        self._tail_more = ""  # the tail's code that goes on with the last frozen code block

    @property
    def whole(self) -> bool:
        """Whether `text` is all of the answer: past DISPLAY_LIMIT only what is shown is kept here (a 10 MB answer
        is in history, which Copy and export read)."""
        return self._length <= DISPLAY_LIMIT

    @property
    def text(self) -> str:
        """The text shown: the whole answer unless it is longer than DISPLAY_LIMIT (see `whole`)."""
        if self._joined is None:
            self._joined = "".join(self._parts)
            self._parts = [self._joined]
        return self._joined

    def set_text(self, text: str) -> None:
        self._timer.stop()
        self.clear()  # drops the document's resources too
        self._add_icons()
        self._reset()
        self.append(text)
        self.render_now()

    def append(self, text: str) -> None:
        # Parts, not `self.text += text`: that copied the whole answer for every delta (seconds for 10 MB).
        if not text:
            return
        if self._length < DISPLAY_LIMIT:
            shown = text[: DISPLAY_LIMIT - self._length]
            self._parts.append(shown)
            self._fresh.append(shown)
            self._joined = None
        self._length += len(text)
        if not self._timer.isActive():
            self._timer.start()

    def _take(self) -> None:
        """Move text that arrived since the last render into _pending, up to what is shown."""
        if not self._fresh:
            return
        new, self._fresh = "".join(self._fresh), []
        room = DISPLAY_LIMIT - self._taken
        self._pending += new[:room]
        self._taken += min(len(new), room)

    @Slot()
    def render_now(self) -> None:
        self._timer.stop()
        self._take()
        dark = self._dark = is_dark(self)
        pending = self._pending
        sliced = len(pending) > SLICE
        window = pending[:SLICE] if sliced else pending
        end = self._colour_budget_end(window)
        if end < len(window):
            window, sliced = window[:end], True
        cut, fence_after = next_cut(window, self._fence, 0 if sliced else TAIL_LIMIT)
        cursor = QTextCursor(self.document())
        if cut > 0:
            source = (self._fence + "\n" if self._fence else "") + window[:cut]
            frozen = self._html(
                render_blocks(source, dark, colour=self._colour()), continued=bool(self._fence)
            )
            self._tail_more = ""
            self._replace_from(cursor, self._tail_pos, frozen)
            cursor.movePosition(QTextCursor.MoveOperation.End)
            if frozen:
                cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
            self._tail_pos = cursor.position()
            self._count_coloured(window, cut, fence_after)
            self._pending, self._fence = pending[cut:], fence_after
            self._tail_html = ""
        if self._length > DISPLAY_LIMIT:
            self.overflowed.emit(self._length)
        if sliced:
            self._timer.start(0)  # the rest on the next turn of the event loop: input and painting come first
            return
        tail = self._pending
        prefix = self._fence + "\n" if self._fence else ""
        tail_html = (
            self._html(
                render_blocks(prefix + tail, dark, colour=self._colour()), tail=True, continued=bool(prefix)
            )
            if tail.strip()
            else ""
        )
        if tail_html != self._tail_html:
            self._replace_from(cursor, self._tail_pos, tail_html)
            self._tail_html = tail_html

    def _count_coloured(self, window: str, cut: int, fence_after: str) -> None:
        """Characters of the code block still open after `window[:cut]` that are rendered (for COLOUR_LIMIT)."""
        if not fence_after:
            self._coloured = 0
            return
        opened_at = window.rfind(
            fence_after, 0, cut
        )  # the block opened in this piece, or goes on from before
        self._coloured = cut - opened_at if opened_at >= 0 else self._coloured + cut

    def _colour(self) -> bool:
        """Whether code at the start of what is rendered next is coloured: the rest of a code block is, up to
        COLOUR_LIMIT characters."""
        return not self._fence or self._coloured < COLOUR_LIMIT

    def _colour_budget_end(self, window: str) -> int:
        """Where to end `window` so that at most CODE_SLICE characters of its first code to colour are lexed: after
        the last whole line within that budget. A line longer than the budget is not split for it (a cut inside a
        code line shows as a line break); the window then stays whole."""
        if self._fence:
            if not self._colour():
                return len(window)
            code_at = 0
        else:
            found = _FENCE_LINE.search(window)
            if found is None:
                return len(window)
            code_at = window.find("\n", found.start()) + 1  # the code starts after the fence line
            if code_at == 0:
                return len(window)
        if len(window) - code_at <= CODE_SLICE:
            return len(window)
        line_end = window.rfind("\n", code_at, code_at + CODE_SLICE)
        return line_end + 1 if line_end >= 0 else len(window)

    def _replace_from(self, cursor: QTextCursor, position: int, html_text: str) -> None:
        cursor.setPosition(position)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        cursor.setBlockFormat(QTextBlockFormat())
        cursor.setCharFormat(QTextCharFormat())
        if html_text:
            cursor.insertHtml(html_text)
            self._even_spacing(position)

    def _even_spacing(self, position: int) -> None:
        """A fragment's first block merges into the block it is inserted into and loses its margins, so spacing is
        set here for every inserted block: a gap after paragraphs, headings and lists, none inside lists.

        A list or a table inserted into the empty block that follows frozen text starts a block of its own and
        leaves that one empty (a blank line's gap under a heading): an empty block with more after it is hidden."""
        document = self.document()
        block = document.findBlock(position)
        while block.isValid():
            cursor = QTextCursor(block)
            visible = bool(block.length() > 1 or not block.next().isValid())
            if block.isVisible() != visible:
                block.setVisible(visible)
                document.markContentsDirty(block.position(), block.length())
            if cursor.currentTable() is None:
                fmt = QTextBlockFormat()
                in_list = block.textList() is not None
                first = block.begin()
                chars = first.fragment().charFormat() if not first.atEnd() else block.charFormat()
                heading = block.blockFormat().headingLevel() > 0 or (
                    chars.fontWeight() >= 600
                    and not in_list
                    and (
                        chars.fontPointSize() > self.font().pointSizeF()
                        or int(chars.property(QTextFormat.Property.FontSizeAdjustment) or 0) > 0
                    )
                )
                fmt.setTopMargin(8 if heading else 0)
                last_in_list = in_list and (
                    not block.next().isValid() or block.next().textList() is not block.textList()
                )
                fmt.setBottomMargin(2 if in_list and not last_in_list else 8)
                cursor.mergeBlockFormat(fmt)
            block = block.next()

    def _html(self, blocks: list[Block], tail: bool = False, continued: bool = False) -> str:
        """HTML for blocks appended after the frozen ones; code blocks are numbered for their Copy link. With
        `continued`, the first block goes on with a code block that a forced cut split: it gets no heading of its
        own, and its code joins that block's (whose Copy copies all of it)."""
        parts: list[str] = []
        codes: list[str] = []
        if tail:
            self._tail_more = ""
        for i, block in enumerate(blocks):
            if block.kind == "code" and continued and i == 0 and self.codes:
                parts.append(self._code_html(block, None))
                if tail:
                    self._tail_more = block.code
                else:
                    self.codes[-1] += block.code
            elif block.kind == "code":
                parts.append(self._code_html(block, len(self.codes) + len(codes)))
                codes.append(block.code)
            else:
                parts.append(block.html)
        if tail:
            self._tail_codes = codes
        else:
            self.codes.extend(codes)
        return "".join(parts)

    def _code_html(self, block: Block, index: int | None) -> str:
        """A code block: a header with its language and a Copy button (copy:N), then the code, which never wraps
        (the message scrolls sideways under a wide one)."""
        from app.ui import theme

        colours = (
            theme.colours()
        )  # the app's, set at once by a theme change (a widget's palette follows later)
        language = html.escape(block.language or "code")
        # The header stays at the left, in view however wide the code is.
        heading = (
            f'<tr><td style="color: {colours.muted};">{language}&nbsp;&nbsp;&nbsp;'
            f'<a href="copy:{index}" style="color: {colours.link}; text-decoration: none;">'
            f'<img src="icon:copy" width="{ICON_PX}" height="{ICON_PX}">&nbsp;Copy</a></td></tr>'
            if index is not None
            else ""
        )
        return (
            f'<table width="100%" cellspacing="0" cellpadding="{design.S}" border="0" '
            f'style="background-color: {colours.code};">{heading}<tr><td>{block.html}</td></tr></table>'
        )

    def _add_icons(self) -> None:
        """The Copy icon of code blocks, as an image the document draws, sharp at the screen's pixel ratio."""
        ratio = self.devicePixelRatioF() or 1.0
        pixmap = icons.icon("copy").pixmap(QSize(ICON_PX, ICON_PX), ratio)
        self.document().addResource(QTextDocument.ResourceType.ImageResource, QUrl("icon:copy"), pixmap)

    def code_at(self, index: int) -> str:
        if index < len(self.codes):
            more = self._tail_more if index == len(self.codes) - 1 else ""
            return self.codes[index] + more
        offset = index - len(self.codes)
        return self._tail_codes[offset] if offset < len(self._tail_codes) else ""

    @Slot(QUrl)
    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() == "copy":
            QGuiApplication.clipboard().setText(self.code_at(int(url.path() or 0)))
        else:
            QDesktopServices.openUrl(url)

    @Slot(QSizeF)
    def _fit(self, size: QSizeF) -> None:
        """The widget is as tall as its text (the conversation scrolls, not the message), plus the sideways
        scroll bar when a code line is wider than the column."""
        wide = size.width() > self.viewport().width() + 1
        if wide and not self._bar_styled:
            self._style_bar()
        bar = self.horizontalScrollBar().sizeHint().height() if wide else 0
        self.setFixedHeight(int(size.height()) + 4 + bar)

    def wheelEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        event.ignore()  # the conversation scrolls, not the message
