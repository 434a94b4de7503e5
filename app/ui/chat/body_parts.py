"""The pieces an answer's text is shown in (`MarkdownBody` stacks them): prose, and code blocks of their own.

A code block is its own widget so that a line wider than the column scrolls that block sideways, alone: the prose
around it keeps wrapping to the column and never moves. Each piece is as tall as its text (the conversation
scrolls, not the message) and takes text in two parts: what is frozen, written once, and an unfinished tail after
it that is removed and written again while the answer streams.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QMimeData, QRectF, QSize, QSizeF, Qt, QUrl, Slot
from PySide6.QtGui import (
    QDesktopServices,
    QGuiApplication,
    QPainter,
    QPalette,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui import design
from app.ui.common import icons

COPY_ICON = 14  # px: a code block's Copy icon at the default chat font (it grows with a larger one)


class TextPart(QTextBrowser):
    """Read-only rich text as tall as its document, with a thin sideways bar when a line is wider than it.

    Text is written at the end in two kinds: `write(html, frozen=True)` stays; what is written with
    `frozen=False` (the unfinished tail) goes again at the next `clear_tail()`."""

    def __init__(self, wrap: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self._bar_styled = False  # the sideways bar gets its look when first needed (style_bar)
        self._mark = 0  # the end of the frozen text
        self.setReadOnly(True)
        self.setOpenLinks(False)
        self.anchorClicked.connect(self._on_anchor)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        if not wrap:
            self.setLineWrapMode(QTextBrowser.LineWrapMode.NoWrap)
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
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self.cursorPositionChanged.connect(self._show_caret)
        self.setFixedHeight(0)

    def is_empty(self) -> bool:
        return self.document().isEmpty()

    def write(self, html_text: str, frozen: bool) -> int:
        """Append `html_text` as blocks of its own; returns where it starts."""
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        first = self.document().isEmpty()
        if not first:
            cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
        start = cursor.position()
        cursor.insertHtml(html_text)
        if first:  # the reading cursor was pushed past the text: back to its start (Tab in shows the start)
            self.setTextCursor(QTextCursor(self.document()))
        if frozen:
            self._mark = self.document().characterCount() - 1
        return start

    def clear_tail(self) -> None:
        """Remove what was written since the last frozen text (with the line break before it)."""
        end = self.document().characterCount() - 1
        if end <= self._mark:
            return
        cursor = QTextCursor(self.document())
        cursor.setPosition(self._mark)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()

    def clear_all(self) -> None:
        self.clear()
        self._mark = 0

    def style_bar(self) -> None:
        """A thin, quiet sideways bar in the theme's colours, set on the bar alone (never on the text: style.py says
        why) and only once a part needs one, so text without wide lines costs nothing."""
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

    def retheme(self) -> None:
        if self._bar_styled:
            self.style_bar()

    @Slot(QSizeF)
    def _fit(self, size: QSizeF | None = None) -> None:
        """As tall as the text, plus the sideways bar when a line is wider than the part."""
        size = size if size is not None else self.document().size()
        wide = size.width() > self.viewport().width() + 1
        if wide and not self._bar_styled:
            self.style_bar()
        bar = self.horizontalScrollBar().sizeHint().height() if wide else 0
        self.setFixedHeight(int(size.height()) + 4 + bar)

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        if self.lineWrapMode() == QTextBrowser.LineWrapMode.NoWrap:
            self._fit()  # wider or narrower than its longest line now: the bar comes or goes

    @Slot()
    def _show_caret(self) -> None:
        """The part is as tall as its text, so its own view never moves: the keyboard's caret (arrow keys, Page Down,
        a selection dragged past the edge) is brought into view by the scroll area the part sits in (the
        conversation, Ask Parley's answer)."""
        if not self.hasFocus():
            return
        area = self.parentWidget()
        while area is not None and not isinstance(area, QScrollArea):
            area = area.parentWidget()
        inside = QScrollArea.widget(area) if area is not None else None  # (ChatView.widget finds a message)
        if area is None or inside is None:
            return
        rect = self.cursorRect()
        at = self.viewport().mapTo(inside, rect.center())
        area.ensureVisible(at.x(), at.y(), 0, rect.height() // 2 + 1)

    @Slot(QUrl)
    def _on_anchor(self, url: QUrl) -> None:
        QDesktopServices.openUrl(url)

    def wheelEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        """The conversation scrolls, not the part; a sideways wheel (or Shift+wheel) scrolls a wide part."""
        delta = event.angleDelta()
        sideways = abs(delta.x()) > abs(delta.y()) or bool(
            event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        )
        bar = self.horizontalScrollBar()
        if not sideways or bar.maximum() == 0:
            event.ignore()
        elif abs(delta.x()) > abs(delta.y()):
            super().wheelEvent(event)
        else:  # Shift+wheel: Qt would send a vertical delta to the (absent) vertical bar
            bar.setValue(bar.value() - round(delta.y() / 120 * 3 * bar.singleStep()))
            event.accept()


class ProsePart(TextPart):
    """Paragraphs, lists, tables and quotes, wrapped to the column."""

    kind = "prose"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(wrap=True, parent=parent)
        self.setAccessibleName("The answer's text")
        self.setAccessibleDescription("Formatted text; select to copy, links open in the browser")

    def write(self, html_text: str, frozen: bool) -> int:
        start = super().write(html_text, frozen)
        # From the block before: an empty one left there has more after it now.
        even_spacing(self, max(0, start - 1))
        return start

    def clear_tail(self) -> None:
        super().clear_tail()
        even_spacing(self, max(0, self._mark - 1))

    def createMimeDataFromSelection(self) -> QMimeData:  # noqa: N802 - Qt name
        """A copy's plain text without the empty lines of layout (a quote's bar and gap are table cells, a list or
        table leaves an empty block): paragraphs are one line each in Qt's plain text, so none is lost."""
        mime = super().createMimeDataFromSelection()
        mime.setText("\n".join(line for line in mime.text().split("\n") if line.strip()))
        return mime  # what the tail left at the end is spaced as an end


class FocusToolButton(QToolButton):
    """A tool button that shows the keyboard focus with the accent border the base style sheet gives controls (the
    conversation has no style sheet, and Fusion draws no focus frame on a tool button)."""

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        super().paintEvent(event)
        if self.hasFocus():
            from app.ui import theme

            painter = QPainter(self)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(theme.colours().accent)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(
                QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), design.RADIUS_SMALL, design.RADIUS_SMALL
            )


class CodePart(QFrame):
    """A code block: its language and a Copy button above the code, which never wraps and scrolls sideways alone
    when a line is wider than the column. Drawn on the code colour with small rounded corners."""

    kind = "code"

    def __init__(self, language: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.frozen_code = ""  # the raw code written so far (Copy copies it, with the tail's)
        self.tail_code = ""
        self.indent = 0  # px: a code block inside a list is indented as the list's text
        self.language = QLabel()
        self.copy_button = FocusToolButton()
        self.copy_button.setIcon(icons.icon("copy"))
        self.copy_button.setText("Copy")
        self.copy_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.copy_button.setAutoRaise(True)
        self.copy_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.copy_button.clicked.connect(self.copy)
        self.text = TextPart(wrap=False)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.language)
        head.addStretch(1)
        head.addWidget(self.copy_button)
        layout = self._layout = QVBoxLayout(self)
        layout.setContentsMargins(design.S, design.XS, design.S, design.XS)
        layout.setSpacing(design.XS)
        layout.addLayout(head)
        layout.addWidget(self.text)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.set_language(language)
        self._scale_small()
        self.retheme()

    @property
    def code(self) -> str:
        return self.frozen_code + self.tail_code

    def set_language(self, language: str) -> None:
        name = language or "code"
        if self.language.text() == name:
            return
        self.language.setText(name)
        # A fence without a language is labelled "code": its names say "the code", not "the code code".
        self.setAccessibleName(f"Code block, {language}" if language else "Code block")
        self.text.setAccessibleName(f"{language} code" if language else "Code")
        self.text.setAccessibleDescription(
            "Select to copy; scrolls sideways when a line is wider than the column"
        )
        copy = f"Copy the {language} code" if language else "Copy the code"
        self.copy_button.setToolTip(copy)
        self.copy_button.setAccessibleName(copy)

    def set_indent(self, px: int) -> None:
        if px != self.indent:
            self.indent = px
            self._layout.setContentsMargins(design.S + px, design.XS, design.S, design.XS)
            self.update()

    def set_cut(self) -> None:
        """The answer is shown only up to a point inside this block (`MarkdownBody`'s DISPLAY_LIMIT)."""
        self.copy_button.setText("Copy shown")
        words = (
            "Copy the lines shown: this block goes on past what the window shows (the message's Copy copies "
            "the whole answer)"
        )
        self.copy_button.setToolTip(words)
        self.copy_button.setAccessibleName("Copy the code shown")
        self.copy_button.setAccessibleDescription(words)

    def write(self, html_text: str, code: str, frozen: bool) -> None:
        self.text.write(html_text, frozen)
        if frozen:
            self.frozen_code += code
        else:
            self.tail_code = code

    def clear_tail(self) -> None:
        self.text.clear_tail()
        self.tail_code = ""

    def clear_all(self) -> None:
        self.text.clear_all()
        self.frozen_code = self.tail_code = ""

    def is_empty(self) -> bool:
        return self.text.is_empty()

    @Slot()
    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.code)

    def retheme(self) -> None:
        from app.ui import theme

        theme.mute(self.language)
        self.text.retheme()
        self.update()

    def changeEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        if event.type() == QEvent.Type.FontChange:
            self._scale_small()
        super().changeEvent(event)

    def _scale_small(self) -> None:
        from app.ui import theme

        font = theme.small_font(self.font())
        for widget in (self.language, self.copy_button):
            widget.setFont(font)
        side = theme.icon_side(font, COPY_ICON)
        self.copy_button.setIconSize(QSize(side, side))

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        from app.ui import theme

        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.colours().code)
        painter.drawRoundedRect(
            QRectF(self.rect()).adjusted(self.indent, 0, 0, 0), design.RADIUS_SMALL, design.RADIUS_SMALL
        )


def even_spacing(part: TextPart, position: int) -> None:
    """A fragment's first block merges into the block it is inserted into and loses its margins, so spacing is
    set here for every inserted block: a gap after paragraphs, headings and lists, none inside lists.

    A list or a table inserted into the empty block that follows frozen text starts a block of its own and
    leaves that one empty (a blank line's gap under a heading), and a table ends in an empty block: an empty block
    is hidden unless it is all there is."""
    document = part.document()
    block = document.findBlock(position)
    while block.isValid():
        cursor = QTextCursor(block)
        visible = bool(block.length() > 1 or (not block.next().isValid() and not block.previous().isValid()))
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
                    chars.fontPointSize() > part.font().pointSizeF()
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
