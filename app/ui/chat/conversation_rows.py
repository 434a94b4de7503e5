"""How the sidebar draws a conversation: its title, elided to the width there is, and a muted date on the right;
section headers ("Pinned", "Recent") between them. Also `when`, the date in words."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

# English, like the rest of the window (strftime's %a and %b follow the C locale Qt changes at start-up).
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DATE_ROLE = Qt.ItemDataRole.UserRole + 10  # the muted date at the right of a row
HEADER_ROLE = Qt.ItemDataRole.UserRole + 11  # True on a section header ("Pinned", "Recent")
PADDING = 8


def when(ts: float, now: float) -> str:
    """A conversation's last message, in local time: "14:02" today, "Yesterday", "Mon" this week, "12 Nov" this
    year, "12 Nov 2025" before."""
    then, today = datetime.fromtimestamp(ts), datetime.fromtimestamp(now).date()
    day: date = then.date()
    if day == today:
        return f"{then:%H:%M}"
    if day == today - timedelta(days=1):
        return "Yesterday"
    if today - timedelta(days=6) <= day < today:
        return DAYS[day.weekday()]
    if day.year == today.year:
        return f"{day.day} {MONTHS[day.month - 1]}"
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


class RowDelegate(QStyledItemDelegate):
    """Title left (elided, never a horizontal scroll bar), date right in the muted colour; headers small and muted."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        title, opt.text = opt.text, ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        rect: QRect = opt.rect.adjusted(PADDING, 0, -PADDING, 0)
        palette: QPalette = opt.palette
        muted = palette.color(QPalette.ColorRole.PlaceholderText)
        painter.save()
        if index.data(HEADER_ROLE):
            font = opt.font
            font.setBold(True)
            font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
            painter.setFont(font)
            painter.setPen(muted)
            painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, title)
            painter.restore()
            return
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        text = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        metrics = opt.fontMetrics
        stamp = str(index.data(DATE_ROLE) or "")
        stamp_width = metrics.horizontalAdvance(stamp) + (PADDING if stamp else 0)
        if stamp:
            painter.setPen(text if selected else muted)
            painter.drawText(rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, stamp)
        title_rect = rect.adjusted(0, 0, -stamp_width, 0)
        painter.setPen(text)
        painter.drawText(
            title_rect,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            metrics.elidedText(title, Qt.TextElideMode.ElideRight, title_rect.width()),
        )
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802 - Qt name
        # A narrow width: the row takes the list's width, so a long title never widens the list past it.
        height = option.fontMetrics.height()
        return QSize(1, height + (PADDING + 6 if index.data(HEADER_ROLE) else PADDING + 4))
