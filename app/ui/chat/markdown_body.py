"""A message's rendered Markdown that grows while it streams, at a cost that does not depend on its length.

Text that can no longer change (up to the last blank line outside a code fence) is rendered once into frozen
blocks; only the unfinished tail is rendered again, at most ~30 times a second however fast tokens arrive. The
tail is bounded even in one huge paragraph or code block, and a 10 MB answer keeps the window responsive.

The text is shown as a stack of parts (`body_parts`): prose in one document from one code block to the next (so a
selection runs across its paragraphs), and each code block in a widget of its own that scrolls sideways alone.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication, QSizePolicy, QVBoxLayout, QWidget

from app.ui import design
from app.ui.chat.body_parts import CodePart, ProsePart
from app.ui.common.markdown_render import LIST_INDENT, Block, next_cut, render_blocks

RENDER_INTERVAL_MS = 33
# Rendering code costs about 2.5 us a character (Pygments and Qt), prose about a tenth of that: these keep each
# render of a tail, and each slice frozen in one turn of the event loop, to a few milliseconds.
TAIL_LIMIT = 2_000  # characters an unfinished tail may have before a cut is forced
SLICE = 2_500  # most characters frozen in one turn of the event loop
# Pygments takes ~5 us a character of code: one render colours at most CODE_SLICE characters (a 2,500-character
# slice of code took 15-25 ms, the longest stall of a 10 MB answer). A code block is coloured in pieces cut at line
# ends, each lexed on its own (a string or comment running across a cut may lose its colour after it), up to
# COLOUR_LIMIT characters; the rest of a huge block stays plain.
CODE_SLICE = 800
COLOUR_LIMIT = 20_000
_FENCE_LINE = re.compile(r"^[ \t]*(?:`{3,}|~{3,})", re.MULTILINE)
DISPLAY_LIMIT = 400_000  # characters shown (about 150 pages) and kept in the window; history keeps all, Copy and export read it

Part = ProsePart | CodePart


def is_dark() -> bool:
    """Whether the app paints dark now (the theme chosen in Settings, or the system's)."""
    from app.ui import theme

    return theme.is_dark()


class MarkdownBody(QWidget):
    """Rendered Markdown that can grow: prose parts and code parts, stacked.

    Frozen blocks are written once at the end of the last part (or a new one); only the unfinished tail is removed
    and written again. Each part lays out only what changed and is as tall as its text, so the cost of an update
    does not depend on how long the answer already is.

    Any size stays responsive: the unfinished tail is bounded (`next_cut` forces a cut in a huge paragraph or code
    block), newly frozen text is rendered at most SLICE characters per turn of the event loop, and only the first
    DISPLAY_LIMIT characters are shown, and kept: Copy and export read a longer answer back from history."""

    overflowed = Signal(int)  # the whole text's length, while it is longer than what is shown
    _length: int  # characters of the whole answer (`_reset`), more than are kept past DISPLAY_LIMIT

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAccessibleName("Message text")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(design.S)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._parts: list[Part] = []
        self._frozen = (
            0  # parts that hold frozen text; the ones after them hold only the tail, and are reused
        )
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RENDER_INTERVAL_MS)
        self._timer.timeout.connect(self.render_now)
        self._dark = is_dark()
        self._reset()

    def retheme(self) -> None:
        """The theme changed (`theme.apply_theme` calls this): code colours are baked into the HTML, render again."""
        if self.text and self._dark != is_dark():
            length = self._length
            kept = self._view_state()
            self.set_text(self.text)
            self._length = length  # what is kept is what is shown; the answer stays as long as it was
            self._restore_view(kept)
        for part in self._parts:
            part.retheme()

    def _view_state(self) -> list[tuple[str, str, int, int, int]]:
        """Per part: its kind, what in it has the focus ("text", "copy" or ""), its selection (anchor, caret) and
        sideways scroll. While the focus is in a part it waits on the body, not on the next control in the window."""
        focus = QApplication.focusWidget()
        state = []
        for part in self._parts:
            text = part.text if isinstance(part, CodePart) else part
            cursor = text.textCursor()
            copy = part.copy_button if isinstance(part, CodePart) else None
            focused = "text" if focus is text else "copy" if copy is not None and focus is copy else ""
            state.append(
                (part.kind, focused, cursor.anchor(), cursor.position(), text.horizontalScrollBar().value())
            )
        if any(focused for _, focused, *_ in state):
            self.setFocus(Qt.FocusReason.OtherFocusReason)
        return state

    def _restore_view(self, state: list[tuple[str, str, int, int, int]]) -> None:
        """After the same text is rendered again (a theme change): the focus, selections and sideways scroll back
        where they were, in the parts rendered so far."""
        for part, (kind, focused, anchor, position, scrolled) in zip(self._parts, state, strict=False):
            if part.kind != kind:
                break
            text = part.text if isinstance(part, CodePart) else part
            end = text.document().characterCount() - 1
            cursor = text.textCursor()
            cursor.setPosition(min(anchor, end))
            cursor.setPosition(min(position, end), QTextCursor.MoveMode.KeepAnchor)
            text.setTextCursor(cursor)
            if focused:
                target = part.copy_button if focused == "copy" and isinstance(part, CodePart) else text
                target.setFocus(Qt.FocusReason.OtherFocusReason)
            if scrolled:  # once the part is laid out at its width (its range is known then)
                QTimer.singleShot(0, text, lambda t=text, v=scrolled: t.horizontalScrollBar().setValue(v))

    def _reset(self) -> None:
        self._pieces: list[str] = []  # the shown text, as it arrived (joined only when asked for)
        self._joined: str | None = ""
        self._length = 0
        self._taken = 0  # text[:_taken] is in the parts or in _pending
        self._fresh: list[str] = []  # what arrived since, up to what is shown
        self._pending = (
            ""  # taken text after the frozen blocks: the unfinished tail, and what is not frozen yet
        )
        self._fence = ""  # the opening fence line when _pending starts inside a code block cut short
        self._coloured = 0  # characters of that code block rendered so far (coloured up to COLOUR_LIMIT)
        self._tail_key: tuple[str, ...] = ()

    # -- what is shown ---------------------------------------------------------------------------------------
    def parts(self) -> list[Part]:
        return list(self._parts)

    def prose_parts(self) -> list[ProsePart]:
        return [p for p in self._parts if isinstance(p, ProsePart)]

    def code_parts(self) -> list[CodePart]:
        return [p for p in self._parts if isinstance(p, CodePart)]

    @property
    def codes(self) -> list[str]:
        """Each code block's code, as Copy copies it."""
        return [p.code for p in self.code_parts()]

    def code_at(self, index: int) -> str:
        codes = self.codes
        return codes[index] if index < len(codes) else ""

    def plain_text(self) -> str:
        return "\n".join(
            p.text.toPlainText() if isinstance(p, CodePart) else p.toPlainText() for p in self._parts
        )

    def rich_text(self) -> str:
        return "\n".join(p.text.toHtml() if isinstance(p, CodePart) else p.toHtml() for p in self._parts)

    @property
    def whole(self) -> bool:
        """Whether `text` is all of the answer: past DISPLAY_LIMIT only what is shown is kept here (a 10 MB answer
        is in history, which Copy and export read)."""
        return self._length <= DISPLAY_LIMIT

    @property
    def text(self) -> str:
        """The text shown: the whole answer unless it is longer than DISPLAY_LIMIT (see `whole`)."""
        if self._joined is None:
            self._joined = "".join(self._pieces)
            self._pieces = [self._joined]
        return self._joined

    def set_text(self, text: str) -> None:
        self._timer.stop()
        self.clear_parts()
        self._reset()
        self.append(text)
        self.render_now()

    def append(self, text: str) -> None:
        # Parts, not `self.text += text`: that copied the whole answer for every delta (seconds for 10 MB).
        if not text:
            return
        if self._length < DISPLAY_LIMIT:
            shown = text[: DISPLAY_LIMIT - self._length]
            self._pieces.append(shown)
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
        dark = self._dark = is_dark()
        pending = self._pending
        sliced = len(pending) > SLICE
        window = pending[:SLICE] if sliced else pending
        end = self._colour_budget_end(window)
        if end < len(window):
            window, sliced = window[:end], True
        cut, fence_after = next_cut(window, self._fence, 0 if sliced else TAIL_LIMIT)
        if cut > 0:
            source = (self._fence + "\n" if self._fence else "") + window[:cut]
            self._clear_tail()
            self._write(render_blocks(source, dark, colour=self._colour()), True, bool(self._fence))
            self._count_coloured(window, cut, fence_after)
            self._pending, self._fence = pending[cut:], fence_after
            self._tail_key = ()
        if self._length > DISPLAY_LIMIT:
            self.overflowed.emit(self._length)
            if not sliced and self._taken >= DISPLAY_LIMIT and not self._fresh:
                self._mark_cut()
        if sliced:
            self._timer.start(0)  # the rest on the next turn of the event loop: input and painting come first
            return
        tail = self._pending
        prefix = self._fence + "\n" if self._fence else ""
        blocks = render_blocks(prefix + tail, dark, colour=self._colour()) if tail.strip() else []
        key = tuple(b.html for b in blocks)
        if key != self._tail_key:
            self._clear_tail()
            self._write(blocks, False, bool(prefix))
            self._tail_key = key

    def _mark_cut(self) -> None:
        """The shown text ends inside a code block: that block says so, and what its Copy copies."""
        inside = bool(self._fence) if not self._pending else bool(next_cut(self._pending, self._fence, 0)[1])
        codes = self.code_parts()
        if inside and codes:
            codes[-1].set_cut()

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

    def _clear_tail(self) -> None:
        """Remove the unfinished tail from the last frozen part; the parts after it are emptied, kept for reuse."""
        if self._frozen:
            self._parts[self._frozen - 1].clear_tail()
        for part in self._parts[self._frozen :]:
            if not part.is_empty():
                part.clear_all()

    def _write(self, blocks: list[Block], frozen: bool, continued: bool) -> None:
        """Write blocks after the frozen text: prose goes on in the prose part it follows, a code block gets a part
        of its own (with `continued`, the first block goes on with the code block a forced cut split)."""
        index = self._frozen - 1
        for i, block in enumerate(blocks):
            current = self._parts[index] if index >= 0 else None
            kind = "code" if block.kind == "code" else "prose"
            joins = (
                current is not None and current.kind == kind and (kind == "prose" or (continued and i == 0))
            )
            if not joins:
                index += 1
                self._part_at(index, kind)
            part = self._parts[index]
            if isinstance(part, CodePart):
                part.set_language(block.language)
                if not joins:  # (a piece that goes on with a block has no list around it to tell)
                    part.set_indent(block.indent * LIST_INDENT)
                part.write(block.html, block.code, frozen)
            else:
                part.write(block.html, frozen)
        if frozen:
            self._frozen = max(self._frozen, index + 1)
        for part in self._parts[max(index + 1, self._frozen) :]:
            part.hide()

    def _part_at(self, index: int, kind: str) -> None:
        """Make the part at `index` an empty one of `kind`: a tail-only part there is reused if it is one."""
        if index < len(self._parts):
            part = self._parts[index]
            if part.kind == kind and part.is_empty():
                part.show()
                return
            for extra in self._parts[index:]:  # tail-only parts of another kind: made again when needed
                extra.hide()
                extra.deleteLater()
            del self._parts[index:]
        made: Part = CodePart("") if kind == "code" else ProsePart()
        self._parts.append(made)
        self._layout.addWidget(made)
        made.show()

    def clear_parts(self) -> None:
        for part in self._parts:
            part.hide()
            part.deleteLater()
        self._parts, self._frozen = [], 0
