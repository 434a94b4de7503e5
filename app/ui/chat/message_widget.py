"""One message in the conversation: who said it, its rendered text (streamed cheaply by `MarkdownBody`), images,
verdicts, a card."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QGuiApplication,
    QImage,
    QPalette,
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
from app.ui.chat.markdown_body import DISPLAY_LIMIT, MarkdownBody
from app.ui.common.problem_card import Card

THUMB = 96


def _mute(label: QLabel, small: bool = False) -> None:
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText, palette.color(QPalette.ColorRole.PlaceholderText))
    label.setPalette(palette)
    if small:
        font = label.font()
        font.setPointSizeF(font.pointSizeF() * 0.85)
        label.setFont(font)


def thumbnail(data: bytes, size: int = THUMB) -> QImage:
    """A message's image made small; decoding is slow for big photos, so callers run this on a worker."""
    image = QImage.fromData(data)
    if image.isNull():
        return image
    return image.scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


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
        self._unflash()
        self.who = QLabel(
            f"<b>{'You' if role == 'user' else 'Assistant'}</b>"
            + (f" · {html.escape(model)}" if model else "")
        )
        self.state = QLabel()
        _mute(self.state)
        self.filter_button = QToolButton()
        self.filter_button.setAutoRaise(True)
        self.filter_button.hide()
        self.filter_button.clicked.connect(self._on_filters)
        self._buttons: dict[str, QToolButton] = {}
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.who)
        head.addWidget(self.state)
        head.addStretch(1)
        head.addWidget(self.filter_button)
        for what, label in (("copy", "Copy"), ("edit", "Edit"), ("regenerate", "Regenerate")):
            button = QToolButton()
            button.setText(label)
            button.setAutoRaise(True)
            button.setAccessibleName(
                f"{label} this message" if what != "regenerate" else "Regenerate this answer"
            )
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
        self.plain = QLabel()
        self.plain.setWordWrap(True)
        self.plain.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.plain.setTextFormat(Qt.TextFormat.PlainText)
        self.more = QLabel()  # an answer too long to show in full says so
        self.more.setWordWrap(True)
        _mute(self.more, small=True)
        self.more.hide()
        self.body.overflowed.connect(self._on_overflow)
        self.usage = QLabel()
        self.usage_value: Any = None  # the answer's Usage, for the conversation's cost
        self.answered_by: str | None = None
        _mute(self.usage, small=True)
        self.usage.hide()
        self._card: Card | None = None  # made when first needed: most messages never show one
        layout = self._layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(4)
        layout.addLayout(head)
        layout.addWidget(self.images_box)
        layout.addWidget(self.plain if role == "user" else self.body)
        (self.body if role == "user" else self.plain).hide()
        layout.addWidget(self.more)
        layout.addWidget(self.usage)
        self.setAccessibleName("Your message" if role == "user" else "Assistant's answer")
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
        return self.plain.text() if self.role == "user" else self.body.text

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
            "Copy copies all of it, and exporting the chat saves all of it."
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
        self.who.setText(f"<b>Assistant</b> · {html.escape(shown)}")
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
        palette = self.palette()
        tint = QGuiApplication.palette().color(QPalette.ColorRole.Highlight)
        tint.setAlpha(60)
        palette.setColor(QPalette.ColorRole.Window, tint)
        self.setPalette(palette)
        self.setAutoFillBackground(True)
        QTimer.singleShot(2500, self, self._unflash)

    def retheme(self) -> None:
        """The theme changed (`theme.apply_theme` calls this): the background came from the old palette."""
        self._unflash()
        self.body.retheme()

    @Slot()
    def _unflash(self) -> None:
        """Your messages sit on the alternate background; answers on the window's own."""
        palette = self.palette()
        app_palette = QGuiApplication.palette()
        palette.setColor(
            QPalette.ColorRole.Window,
            app_palette.color(
                QPalette.ColorRole.AlternateBase if self.role == "user" else QPalette.ColorRole.Window
            ),
        )
        self.setPalette(palette)
        self.setAutoFillBackground(self.role == "user")

    def button(self, what: str) -> QToolButton:
        return self._buttons[what]

    @Slot()
    def _on_button(self) -> None:
        button = self.sender()
        what = str(button.property("what")) if button is not None else ""
        if what == "copy":
            QGuiApplication.clipboard().setText(self.text)
        self.action.emit(what, self.message_id)

    @Slot()
    def _on_filters(self) -> None:
        self.action.emit("filters", self.message_id)

    @Slot(str)
    def _on_card_action(self, what: str) -> None:
        self.action.emit(what, self.message_id)
