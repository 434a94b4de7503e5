"""One message in the conversation: who said it, its rendered text (streamed cheaply by `MarkdownBody`), images,
verdicts, a card."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QImage,
    QPainter,
    QPixmap,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core import filters
from app.ui import design, theme
from app.ui.chat.body_parts import FocusToolButton
from app.ui.chat.markdown_body import DISPLAY_LIMIT, MarkdownBody
from app.ui.chat.plain_body import PlainBody
from app.ui.common import icons
from app.ui.common.problem_card import Card

THUMB = 96
ACTION_ICON = 16  # px: a message action's icon at the default chat font (it grows with a larger one)
BUBBLE_INDENT = 3 * design.XL  # your messages start this far in: told apart from answers at a glance
# (what, tooltip, accessible name, icon)
ACTIONS = (
    ("copy", "Copy", "Copy this message", "copy"),
    ("edit", "Edit and resend", "Edit this message", "pencil"),
    ("regenerate", "Regenerate", "Regenerate this answer", "refresh-cw"),
)


def thumbnail(data: bytes, size: int = THUMB) -> QImage:
    """A message's image made small; decoding is slow for big photos, so callers run this on a worker."""
    image = QImage.fromData(data)
    if image.isNull():
        return image
    return image.scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


class ActionButton(FocusToolButton):
    """A message's action as an icon: always in the Tab order, drawn only while its message is hovered or one of
    the actions has the keyboard focus (so the conversation stays calm); the one with the focus has its border."""

    def __init__(self, message: MessageWidget):
        super().__init__(message)
        self._message = message
        self.setAutoRaise(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        if self._message.actions_shown():
            super().paintEvent(event)

    def focusInEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        super().focusInEvent(event)
        self._repaint_all()

    def focusOutEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        super().focusOutEvent(event)
        self._repaint_all()

    def _repaint_all(self) -> None:
        # The focus also leaves while the message is being destroyed, when only the QWidget part of it is left.
        repaint = getattr(self._message, "_repaint_actions", None)
        if repaint is not None:
            repaint()


class MessageWidget(QFrame):
    """A user or assistant message. `action` carries (what, message id) for the tab to act on."""

    action = Signal(str, int)

    def __init__(
        self,
        role: str,
        text: str = "",
        *,
        message_id: int = 0,
        model: str = "",
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.role = role
        self.message_id = message_id
        self.status = "complete"
        self.finish_reason: str | None = None
        self.verdicts: list[filters.Verdict] = []
        self.setObjectName("user" if role == "user" else "assistant")
        self._flashing = False
        self.who = QLabel(
            ("You" if role == "user" else "Assistant") + (f" · {html.escape(model)}" if model else "")
        )
        theme.mute(self.who)
        self.state = QLabel()
        theme.mute(self.state)
        self.filter_button = QToolButton()
        self.filter_button.setAutoRaise(True)
        self.filter_button.hide()
        self.filter_button.clicked.connect(self._on_filters)
        self._buttons: dict[str, QToolButton] = {}
        self._hovered = False
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.setSpacing(design.XS)
        head.addWidget(self.who)
        head.addWidget(self.state)
        head.addStretch(1)
        head.addWidget(self.filter_button)
        for what, tip, name, icon_name in ACTIONS:
            button = ActionButton(self)
            button.setIcon(icons.icon(icon_name))
            button.setToolTip(tip)
            button.setAccessibleName(name)
            button.setProperty("what", what)
            button.clicked.connect(self._on_button)
            head.addWidget(button)
            self._buttons[what] = button
        self._buttons["edit"].setVisible(role == "user")
        self._buttons["regenerate"].setVisible(False)
        self.images = QHBoxLayout()
        self.images.setContentsMargins(0, 0, 0, 0)
        self.images_box = QWidget()
        self.images_box.setLayout(self.images)
        self.images_box.hide()
        self.body = MarkdownBody()
        self.plain = PlainBody()  # your text: a word too long for the bubble wraps inside the word
        self.more = QLabel()  # an answer too long to show in full says so
        self.more.setWordWrap(True)
        theme.mute(self.more)
        self.more.hide()
        self.body.overflowed.connect(self._on_overflow)
        self.usage = QLabel()
        self.usage_value: Any = None  # the answer's Usage, for the conversation's cost
        self.answered_by: str | None = None
        theme.mute(self.usage)
        self.usage.hide()
        self._card: Card | None = None  # made when first needed: most messages never show one
        layout = self._layout = QVBoxLayout(self)
        if role == "user":  # a bubble towards the right, padded inside
            layout.setContentsMargins(BUBBLE_INDENT + design.M, design.S, design.M, design.S)
        else:  # the plain surface, its text aligned with the column
            layout.setContentsMargins(0, design.XS, 0, design.XS)
        layout.setSpacing(design.XS)
        layout.addLayout(head)
        layout.addWidget(self.images_box)
        layout.addWidget(self.plain if role == "user" else self.body)
        (self.body if role == "user" else self.plain).hide()
        layout.addWidget(self.more)
        layout.addWidget(self.usage)
        self.setAccessibleName("Your message" if role == "user" else "Assistant's answer")
        self.body.setAccessibleName("Your message's text" if role == "user" else "The answer's text")
        self.plain.setAccessibleName("Your message's text")
        self._scale_small()
        self.set_text(text)

    @property
    def card(self) -> Card:
        if self._card is None:
            self._card = Card()
            self._card.action.connect(self._on_card_action)
            self._layout.addWidget(self._card)
        return self._card

    # -- text ------------------------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        """What the message shows: all of it, unless `has_all_text` is False (an answer past DISPLAY_LIMIT)."""
        return self.plain.text() if self.role == "user" else self.body.text

    @property
    def has_all_text(self) -> bool:
        return self.role == "user" or self.body.whole

    def set_text(self, text: str) -> None:
        if self.role == "user":
            self.plain.setText(text)
            self.plain.setVisible(bool(text))
        else:
            self.body.set_text(text)
        self.setAccessibleDescription(text[:200])

    def append(self, text: str) -> None:
        self.body.append(text)

    def flush(self) -> None:
        if self.role != "user":
            self.body.render_now()

    @Slot(int)
    def _on_overflow(self, length: int) -> None:
        self.more.setText(
            f"This answer is {length:,} characters long; the first {DISPLAY_LIMIT:,} are shown. "
            "The message's Copy copies all of it, and exporting the chat saves all of it."
        )
        self.more.show()

    # -- decorations --------------------------------------------------------------------------------------------
    def set_images(self, images: list[tuple[QImage, str]]) -> None:
        """Thumbnails (made off the GUI thread) with the images' names."""
        for thumb, name in images:
            label = QLabel()
            label.setPixmap(QPixmap.fromImage(thumb))
            label.setToolTip(name or "image")
            label.setAccessibleName(f"Attached image {name}".strip())
            self.images.addWidget(label)
        self.images.addStretch(1)
        self.images_box.setVisible(bool(images))

    def set_state(self, status: str, finish_reason: str | None = None) -> None:
        self.status, self.finish_reason = status, finish_reason
        words = {
            "streaming": "writing…",
            "stopped": "interrupted — Parley closed before it finished"
            if finish_reason == "interrupted"
            else "stopped",
            "failed": "incomplete" if self.role == "assistant" else "not sent",
            "filtered": "filtered",
        }.get(status, "cut off at the token limit" if finish_reason == "length" else "")
        self.state.setText(f"· {words}" if words else "")

    def set_thinking(self, seconds: float) -> None:
        """A reasoning model is silent before its first visible token: say it is thinking, and for how long."""
        self.state.setText(f"· Thinking… {int(seconds)} s")

    def set_usage(self, usage: Any, price: Any = None) -> None:
        """The token line: input (cached), reasoning and output tokens, and the cost when `price` is known."""
        from app.ui.chat import prices

        value = prices.usage_of(usage)
        if value is None:
            return
        self.usage_value = value
        self.usage.setText(prices.token_line(value, price))
        self.usage.setToolTip(prices.token_tooltip(value, price))
        self.usage.setAccessibleName(f"Tokens: {self.usage.text()}")
        self.usage.show()

    def set_model(self, deployment: str, answered_by: str | None) -> None:
        """model-router picks a model per answer: say which one answered."""
        self.answered_by = answered_by
        shown = f"{deployment} → {answered_by}" if answered_by and answered_by != deployment else deployment
        self.who.setText(f"Assistant · {html.escape(shown)}")
        self.who.setToolTip(f"Answered by {answered_by}" if answered_by else "")

    def set_verdicts(self, verdicts: list[filters.Verdict]) -> None:
        """The small indicator that opens the full annotation."""
        self.verdicts = list(verdicts)
        if not verdicts:
            self.filter_button.hide()
            return
        filtered = any(v.filtered for v in verdicts)
        notable = any(v.notable for v in verdicts)
        self.filter_button.setText("⚠ Filtered" if filtered else ("◐ Flagged" if notable else "✓ Filters"))
        summary = "; ".join(v.summary() for v in verdicts)
        self.filter_button.setToolTip(f"Content filter: {summary}. Click for every category.")
        self.filter_button.setAccessibleName(f"Content filter results: {summary}")
        self.filter_button.show()

    def set_regenerate(self, visible: bool) -> None:
        self._buttons["regenerate"].setVisible(visible and self.role == "assistant")

    def offer_retry(self, last: bool) -> None:
        """Retry resends a question and replaces everything after it, so only the last message's card offers it: a
        failed turn further up stays as it was, with its card, not a click away from deleting what followed."""
        if self._card is not None and self._card.problem is not None:
            button = self._card.buttons().get("retry")
            if button is not None:
                button.setVisible(last)

    def flash(self) -> None:
        """Tint the message for a moment (a search result jumped here)."""
        self._flashing = True
        self.update()
        QTimer.singleShot(2500, self, self._unflash)

    def retheme(self) -> None:
        """The theme changed (`theme.apply_theme` calls this): the bubble is painted in the new colours, the muted
        labels take the new muted colour (theirs is set, not inherited)."""
        for label in (self.who, self.state, self.more, self.usage):
            theme.mute(label)
        self.update()
        self.body.retheme()

    @Slot()
    def _unflash(self) -> None:
        self._flashing = False
        self.update()

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        """Your messages in a tinted rounded bubble; answers on the plain surface (tinted while flashing)."""
        if self.role != "user" and not self._flashing:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        if self.role == "user":
            painter.setBrush(QColor(theme.colours().user_bubble))
            bubble = self.rect().adjusted(BUBBLE_INDENT, 0, 0, 0)
            painter.drawRoundedRect(bubble, design.RADIUS_BUBBLE, design.RADIUS_BUBBLE)
        if self._flashing:
            tint = QColor(theme.colours().accent)
            tint.setAlpha(50)
            painter.setBrush(tint)
            painter.drawRoundedRect(self.rect(), design.RADIUS, design.RADIUS)
        painter.end()

    # -- the actions: drawn on hover and keyboard focus --------------------------------------------------------
    def actions_shown(self) -> bool:
        """The action icons are drawn while the pointer is over the message or one of them has the focus."""
        return self._hovered or any(b.hasFocus() for b in self._buttons.values())

    def enterEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        self._hovered = True
        self._repaint_actions()
        super().enterEvent(event)

    def leaveEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        self._hovered = False
        self._repaint_actions()
        super().leaveEvent(event)

    def _repaint_actions(self) -> None:
        for button in self._buttons.values():
            button.update()

    def changeEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        if event.type() == QEvent.Type.FontChange:
            self._scale_small()
        super().changeEvent(event)

    def _scale_small(self) -> None:
        """Headers, token lines and notes are SMALL × the chat font, following it when it changes."""
        font = theme.small_font(self.font())
        for label in (self.who, self.state, self.usage, self.more):
            label.setFont(font)
        side = theme.icon_side(font, ACTION_ICON)
        for button in self._buttons.values():
            button.setIconSize(QSize(side, side))

    def button(self, what: str) -> QToolButton:
        return self._buttons[what]

    @Slot()
    def _on_button(self) -> None:
        button = self.sender()
        what = str(button.property("what")) if button is not None else ""
        if what == "copy" and self.has_all_text:
            QGuiApplication.clipboard().setText(self.text)
        self.action.emit(what, self.message_id)  # a longer answer's Copy: the tab reads it from history

    @Slot()
    def _on_filters(self) -> None:
        self.action.emit("filters", self.message_id)

    @Slot(str)
    def _on_card_action(self, what: str) -> None:
        self.action.emit(what, self.message_id)
