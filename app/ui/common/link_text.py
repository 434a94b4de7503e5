"""Word-wrapped rich text whose web addresses never break across lines: each link is one unbroken run, whole where
the line has room for it, shortened in its middle ("…") where the label is narrower than it; its link, its tooltip,
the words read out and a copy of the address keep it whole."""

from __future__ import annotations

import html
import math
import re
import unicodedata

from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtGui import (
    QClipboard,
    QContextMenuEvent,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QResizeEvent,
    QShowEvent,
    QTextDocument,
)
from PySide6.QtWidgets import QLabel, QMenu, QWidget

# WORD JOINER: zero-width, and no line break on either side of it (Qt breaks a line after "/" or "-" otherwise).
# It is only in what Qt lays out: what is copied, read out or opened has none (`_clean`).
JOINER = "\u2060"
MIN_LINK_CHARS = 16  # a link is never shortened below this many average characters: "https://lea…=text"
_ANCHOR = re.compile(r"(<a\s[^>]*>)(.*?)(</a>)", re.S)
_TAG = re.compile(r"<[^>]+>")


def unbreakable(words: str) -> str:
    """`words` with a word joiner between its characters (none before a combining mark: it stays on its letter)."""
    out: list[str] = []
    for i, char in enumerate(words):
        if i and not unicodedata.combining(char):
            out.append(JOINER)
        out.append(char)
    return "".join(out)


def _clean(text: str) -> str:
    """Selected text as the user means it: no joiners, Qt's paragraph and line separators as new lines."""
    return text.replace(JOINER, "").replace("\u2029", "\n").replace("\u2028", "\n")


def _plain(rich: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", rich.replace("<br>", "\n"))).split())


class LinkText(QLabel):
    """A word-wrapped rich-text label (a card's text). `text()` is what was set; Qt shows it fitted to the width."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self._source = ""
        self._hovered = ""
        self._min_width: tuple[tuple[str, str], int] | None = None  # ((text, font), width) of the last ask
        self.linkHovered.connect(self._on_link_hovered)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt name
        self._source = text
        self.setAccessibleName(_plain(text))  # (Qt would read the joiners of the shown text)
        self._fit()

    def text(self) -> str:
        return self._source

    # -- fitting the links to the width ---------------------------------------------------------------------
    def _room(self) -> int:
        return self.contentsRect().width() if self.isVisible() else 10**6  # laid out once shown

    def _fit(self) -> None:
        shown = self._render(self._room())
        if shown != QLabel.text(self):
            super().setText(shown)

    def _render(self, room: int) -> str:
        """The text with each link's words unbreakable, shortened in the middle when wider than `room` px."""
        source = self._source
        if "<a" not in source:
            return source

        def link(match: re.Match[str]) -> str:
            before = source[: match.start()]
            bold = before.count("<b>") > before.count("</b>")  # a link in the card's bold hint
            font = QFont(self.font())
            font.setBold(bold)
            metrics = QFontMetrics(font)
            words = html.unescape(_TAG.sub("", match.group(2)))
            least = metrics.averageCharWidth() * MIN_LINK_CHARS
            if metrics.horizontalAdvance(words) > room:
                words = metrics.elidedText(words, Qt.TextElideMode.ElideMiddle, max(room, least))
            return f"{match.group(1)}{html.escape(unbreakable(words), quote=False)}{match.group(3)}"

        return _ANCHOR.sub(link, source)

    def _document(self, rich: str, width: float) -> QTextDocument:
        """`rich` laid out as QLabel lays out its text (no margin, word wrap, this font) at `width` px."""
        doc = QTextDocument()
        doc.setDocumentMargin(0)
        doc.setDefaultFont(self.font())
        option = doc.defaultTextOption()
        option.setWrapMode(option.WrapMode.WordWrap)
        doc.setDefaultTextOption(option)
        doc.setHtml(rich)
        doc.setTextWidth(width)
        return doc

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt name
        """As narrow as the longest word, or the links at their shortest: never the width of a whole address."""
        hint = super().minimumSizeHint()
        if "<a" not in self._source:
            return hint
        key = (self._source, self.font().key())
        if self._min_width is None or self._min_width[0] != key:
            least = self.fontMetrics().averageCharWidth() * MIN_LINK_CHARS
            doc = self._document(self._render(least), 0)
            self._min_width = (key, math.ceil(doc.idealWidth()))
        margins = self.contentsMargins()
        return QSize(self._min_width[1] + margins.left() + margins.right(), hint.height())

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt name
        """The height at `width` with the links fitted to that width (not to the width the label has now)."""
        margins = self.contentsMargins()
        room = width - margins.left() - margins.right()
        shown = self._render(room)
        if shown == QLabel.text(self):
            return super().heightForWidth(width)
        return math.ceil(self._document(shown, room).size().height()) + margins.top() + margins.bottom()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        self._fit()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt name
        super().showEvent(event)
        self._fit()

    # -- the whole address where the user takes it ------------------------------------------------------------
    @Slot(str)
    def _on_link_hovered(self, href: str) -> None:
        self._hovered = href
        self.setToolTip(href)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt name
        if event.matches(QKeySequence.StandardKey.Copy) and self.hasSelectedText():
            self.copy_selection()
            return
        super().keyPressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt name
        super().mouseReleaseEvent(event)
        clipboard = QGuiApplication.clipboard()
        if (
            clipboard.supportsSelection() and self.hasSelectedText()
        ):  # X11's selection, pasted by middle click
            clipboard.setText(_clean(self.selectedText()), QClipboard.Mode.Selection)

    def copy_selection(self) -> None:
        QGuiApplication.clipboard().setText(_clean(self.selectedText()))

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 - Qt name
        """QLabel's menu, with copies that hold the words as shown (its own would copy the joiners)."""
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        copy = menu.addAction("&Copy", self.copy_selection)
        copy.setEnabled(self.hasSelectedText())
        if self._hovered:
            href = self._hovered
            menu.addAction("Copy &link address", lambda: QGuiApplication.clipboard().setText(href))
        menu.addSeparator()
        length = self._document(QLabel.text(self), 10**6).characterCount() - 1
        menu.addAction("Select &all", lambda: self.setSelection(0, length))
        menu.popup(event.globalPos())
