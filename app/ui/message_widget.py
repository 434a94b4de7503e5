"""One message in the conversation: who said it, its rendered text (streamed cheaply), images, verdicts, a card.

Streaming cost stays flat as the answer grows: text that can no longer change (up to the last blank line outside a
code fence) is rendered once into frozen blocks; only the unfinished tail is rendered again, at most ~30 times a
second however fast tokens arrive.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication, QImage, QPalette, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from app.core import filters
from app.ui.markdown_render import Block, render_blocks, stable_prefix
from app.ui.problem_card import Card

RENDER_INTERVAL_MS = 33
THUMB = 96


def is_dark(widget: QWidget | None = None) -> bool:
    palette = widget.palette() if widget is not None else QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


class CodeBlock(QFrame):
    """A fenced code block: its language, a Copy button, and the highlighted code."""

    def __init__(self, block: Block, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("code")
        self.setStyleSheet("QFrame#code { background: palette(alternate-base); border: 1px solid palette(mid); border-radius: 4px; }")
        self.language = QLabel(block.language or "code")
        self.language.setStyleSheet("color: palette(placeholder-text); font-size: small;")
        self.copy = QPushButton("Copy")
        self.copy.setAccessibleName(f"Copy {block.language or 'code'} code")
        self.copy.setFlat(True)
        self.copy.clicked.connect(self._copy)
        self.body = QLabel()
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.language)
        head.addStretch(1)
        head.addWidget(self.copy)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 6)
        layout.setSpacing(2)
        layout.addLayout(head)
        layout.addWidget(self.body)
        self.code = ""
        self.set_block(block)

    def set_block(self, block: Block) -> None:
        self.code = block.code
        self.language.setText(block.language or "code")
        self.body.setText(block.html)

    @Slot()
    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.code)
        self.copy.setText("Copied")
        QTimer.singleShot(1500, self, self._reset_copy)

    @Slot()
    def _reset_copy(self) -> None:
        self.copy.setText("Copy")


def _prose_label(html_text: str) -> QLabel:
    label = QLabel(html_text)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
    label.setOpenExternalLinks(True)
    return label


def block_widget(block: Block) -> QWidget:
    return CodeBlock(block) if block.kind == "code" else _prose_label(block.html)


class MarkdownBody(QWidget):
    """Rendered Markdown that can grow: frozen blocks plus a re-rendered tail."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self.text = ""
        self._committed = 0  # text[:_committed] is rendered into frozen blocks
        self._tail: list[QWidget] = []
        self._tail_blocks: list[Block] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RENDER_INTERVAL_MS)
        self._timer.timeout.connect(self.render_now)
        self.renders = 0

    def set_text(self, text: str) -> None:
        self.text = text
        self.render_now()

    def append(self, text: str) -> None:
        self.text += text
        if not self._timer.isActive():
            self._timer.start()

    @Slot()
    def render_now(self) -> None:
        self._timer.stop()
        self.renders += 1
        dark = is_dark(self)
        text = self.text
        cut = stable_prefix(text, self._committed)
        if cut > self._committed:
            self._replace_tail([])
            for block in render_blocks(text[self._committed:cut], dark):
                self._layout.addWidget(block_widget(block))
            self._committed = cut
        self._replace_tail(render_blocks(text[self._committed:], dark) if text[self._committed:].strip() else [])

    def _replace_tail(self, blocks: list[Block]) -> None:
        if [b.kind for b in blocks] == [b.kind for b in self._tail_blocks]:
            for widget, block, old in zip(self._tail, blocks, self._tail_blocks, strict=True):
                if block != old:
                    if isinstance(widget, CodeBlock):
                        widget.set_block(block)
                    else:
                        widget.setText(block.html)  # type: ignore[attr-defined]
        else:
            for widget in self._tail:
                self._layout.removeWidget(widget)
                widget.deleteLater()
            self._tail = [block_widget(b) for b in blocks]
            for widget in self._tail:
                self._layout.addWidget(widget)
        self._tail_blocks = blocks


def thumbnail(data: bytes, size: int = THUMB) -> QPixmap:
    image = QImage.fromData(data)
    if image.isNull():
        return QPixmap()
    return QPixmap.fromImage(image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))


class MessageWidget(QFrame):
    """A user or assistant message. `action` carries (what, message id) for the tab to act on."""

    action = Signal(str, int)

    def __init__(self, role: str, text: str = "", *, message_id: int = 0, model: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.role = role
        self.message_id = message_id
        self.status = "complete"
        self.finish_reason: str | None = None
        self.verdicts: list[filters.Verdict] = []
        self.setObjectName("user" if role == "user" else "assistant")
        self._unflash()
        self.who = QLabel(f"<b>{'You' if role == 'user' else 'Assistant'}</b>" + (f" · {html.escape(model)}" if model else ""))
        self.state = QLabel()
        self.state.setStyleSheet("color: palette(placeholder-text);")
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
            button.setAccessibleName(f"{label} this message" if what != "regenerate" else "Regenerate this answer")
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
        self.plain.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.plain.setTextFormat(Qt.TextFormat.PlainText)
        self.usage = QLabel()
        self.usage.setStyleSheet("color: palette(placeholder-text); font-size: small;")
        self.usage.hide()
        self.card = Card()
        self.card.action.connect(self._on_card_action)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(4)
        layout.addLayout(head)
        layout.addWidget(self.images_box)
        layout.addWidget(self.plain if role == "user" else self.body)
        (self.body if role == "user" else self.plain).hide()
        layout.addWidget(self.usage)
        layout.addWidget(self.card)
        self.setAccessibleName("Your message" if role == "user" else "Assistant's answer")
        self.set_text(text)

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

    # -- decorations --------------------------------------------------------------------------------------------
    def set_images(self, images: list[tuple[bytes, str, str]]) -> None:
        for data, _mime, name in images:
            label = QLabel()
            label.setPixmap(thumbnail(data))
            label.setToolTip(name or "image")
            label.setAccessibleName(f"Attached image {name}".strip())
            self.images.addWidget(label)
        self.images.addStretch(1)
        self.images_box.setVisible(bool(images))

    def set_state(self, status: str, finish_reason: str | None = None) -> None:
        self.status, self.finish_reason = status, finish_reason
        words = {
            "streaming": "writing…",
            "stopped": "interrupted — Parley closed before it finished" if finish_reason == "interrupted" else "stopped",
            "failed": "incomplete" if self.role == "assistant" else "not sent",
            "filtered": "filtered",
        }.get(status, "cut off at the token limit" if finish_reason == "length" else "")
        self.state.setText(f"· {words}" if words else "")

    def set_usage(self, usage: Any) -> None:
        if not usage:
            return
        get = usage.get if isinstance(usage, dict) else (lambda k, d=0: getattr(usage, k, d))
        prompt, completion = int(get("prompt_tokens", 0) or 0), int(get("completion_tokens", 0) or 0)
        self.usage.setText(f"{prompt:,} tokens in · {completion:,} out")
        self.usage.setToolTip("Tokens Azure counted for this answer (prompt and completion)")
        self.usage.show()

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

    def flash(self) -> None:
        """Outline the message for a moment (a search result jumped here)."""
        self.setStyleSheet(f"QFrame#{self.objectName()} {{ border: 2px solid palette(highlight); border-radius: 8px; }}")
        QTimer.singleShot(2500, self, self._unflash)

    @Slot()
    def _unflash(self) -> None:
        self.setStyleSheet("QFrame#user { background: palette(alternate-base); border-radius: 8px; }")

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
