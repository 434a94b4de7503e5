"""How a history-search result looks: its snippet with the matched words in bold, as rich text in the list and
as plain text for screen readers."""

from __future__ import annotations

import html
import re
from typing import Any

from PySide6.QtCore import QObject, QPointF, QSize, Qt
from PySide6.QtGui import QAbstractTextDocumentLayout, QPalette, QTextDocument
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

HIT_ROLE = Qt.ItemDataRole.UserRole + 1
RESULT_LIMIT = 50  # results a search shows

_MARK = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)
_ROLES = {"user": "You", "assistant": "Assistant", "system": "System"}


def snippet_html(snippet: str, exact: bool) -> str:
    """The snippet as HTML: FTS's [[ ]] matches in bold, everything else escaped. Meaning hits have no markers."""
    text = " ".join(snippet.split())
    if not exact:
        return html.escape(text)
    out, pos = [], 0
    for m in _MARK.finditer(text):
        out.append(html.escape(text[pos : m.start()]))
        out.append(f"<b>{html.escape(m.group(1))}</b>")
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def snippet_plain(snippet: str, exact: bool) -> str:
    text = " ".join(snippet.split())
    return _MARK.sub(r"\1", text) if exact else text


def result_html(hit: Any, muted: str) -> str:
    role = _ROLES.get(hit.role, hit.role.capitalize())
    how = "" if hit.exact else " · similar in meaning"
    return (
        f"<b>{html.escape(hit.conversation_title)}</b> <span style='color:{muted}'>· {html.escape(role)}{how}</span>"
        f"<br>{snippet_html(hit.snippet, hit.exact)}"
    )


def result_text(hit: Any) -> str:
    """What a screen reader says for a result (and what tests read)."""
    role = _ROLES.get(hit.role, hit.role.capitalize())
    how = "" if hit.exact else " (similar in meaning)"
    return f"{hit.conversation_title} — {role}{how}: {snippet_plain(hit.snippet, hit.exact)}"


class ResultDelegate(QStyledItemDelegate):
    """Paints a result as rich text (bold title, muted role, snippet with bold matches), wrapped to the width."""

    MARGIN = 6

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        # Laying out rich text is the costly part of showing results: each is laid out once per width and state.
        self._documents: dict[tuple, QTextDocument] = {}

    def forget(self) -> None:
        self._documents.clear()

    def _document(
        self, option: QStyleOptionViewItem, index: Any, width: int, selected: bool = False
    ) -> QTextDocument:
        hit = index.data(HIT_ROLE)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.PlaceholderText
        muted = option.palette.color(role).name()
        key = (index.row(), width, muted, option.font.key())
        doc = self._documents.get(key)
        if doc is not None:
            return doc
        if len(self._documents) > 4 * RESULT_LIMIT:
            self._documents.clear()
        doc = self._documents[key] = QTextDocument()
        doc.setDefaultFont(option.font)
        doc.setDocumentMargin(0)
        doc.setHtml(result_html(hit, muted) if hit is not None else html.escape(index.data() or ""))
        doc.setTextWidth(max(40, width - 2 * self.MARGIN))
        return doc

    def paint(self, painter: Any, option: QStyleOptionViewItem, index: Any) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        doc = self._document(opt, index, opt.rect.width(), selected)
        context = QAbstractTextDocumentLayout.PaintContext()
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        context.palette.setColor(QPalette.ColorRole.Text, opt.palette.color(role))
        painter.save()
        painter.translate(QPointF(opt.rect.left() + self.MARGIN, opt.rect.top() + self.MARGIN))
        doc.documentLayout().draw(painter, context)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Any) -> QSize:  # noqa: N802 - Qt name
        widget = option.widget
        width = widget.viewport().width() if isinstance(widget, QAbstractScrollArea) else option.rect.width()
        doc = self._document(option, index, width)
        return QSize(width, int(doc.size().height()) + 2 * self.MARGIN)
