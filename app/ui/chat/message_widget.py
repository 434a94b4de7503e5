"""One message in the conversation: who said it, its rendered text (streamed cheaply), images, verdicts, a card.

Streaming cost stays flat as the answer grows: text that can no longer change (up to the last blank line outside a
code fence) is rendered once into frozen blocks; only the unfinished tail is rendered again, at most ~30 times a
second however fast tokens arrive.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QSizeF, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import (
    QDesktopServices,
    QGuiApplication,
    QImage,
    QPalette,
    QPixmap,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core import filters
from app.ui.common.markdown_render import Block, render_blocks, stable_prefix
from app.ui.common.problem_card import Card

RENDER_INTERVAL_MS = 33
THUMB = 96


def is_dark(widget: QWidget | None = None) -> bool:
    """Whether the app paints dark now (the theme chosen in Settings, or the system's)."""
    from app.ui import theme

    return theme.is_dark()


class MarkdownBody(QTextBrowser):
    """Rendered Markdown that can grow, in one QTextDocument (so selection runs across paragraphs).

    Frozen blocks are appended once at the end; only the unfinished tail is removed and inserted again. The
    document lays out only what changed, and the widget's height follows the document, so the cost of an update
    does not depend on how long the answer already is. Code blocks carry a "Copy" link (copy:N)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setOpenLinks(False)
        self.anchorClicked.connect(self._on_anchor)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
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
        self.setFixedHeight(0)
        self.text = ""
        self.codes: list[str] = []
        self._committed = 0  # text[:_committed] is rendered into frozen blocks
        self._tail_pos = 0  # where the tail starts in the document
        self._tail_html = ""
        self._tail_codes: list[str] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RENDER_INTERVAL_MS)
        self._timer.timeout.connect(self.render_now)
        self._dark = is_dark(self)

    def retheme(self) -> None:
        """The theme changed (`theme.apply_theme` calls this): code colours are baked into the HTML, render again."""
        if self.text and self._dark != is_dark(self):
            self.set_text(self.text)

    def set_text(self, text: str) -> None:
        self.clear()
        self.codes = []
        self._committed = self._tail_pos = 0
        self._tail_html = ""
        self.text = text
        self.render_now()

    def append(self, text: str) -> None:
        self.text += text
        if not self._timer.isActive():
            self._timer.start()

    @Slot()
    def render_now(self) -> None:
        self._timer.stop()
        dark = self._dark = is_dark(self)
        text = self.text
        cut = stable_prefix(text, self._committed)
        cursor = QTextCursor(self.document())
        if cut > self._committed:
            frozen = self._html(render_blocks(text[self._committed : cut], dark))
            self._replace_from(cursor, self._tail_pos, frozen)
            cursor.movePosition(QTextCursor.MoveOperation.End)
            if frozen:
                cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
            self._tail_pos = cursor.position()
            self._committed = cut
            self._tail_html = ""
        tail = text[self._committed :]
        tail_html = self._html(render_blocks(tail, dark), tail=True) if tail.strip() else ""
        if tail_html != self._tail_html:
            self._replace_from(cursor, self._tail_pos, tail_html)
            self._tail_html = tail_html

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
        set here for every inserted block: a gap after paragraphs, headings and lists, none inside lists."""
        block = self.document().findBlock(position)
        while block.isValid():
            cursor = QTextCursor(block)
            if cursor.currentTable() is None:
                fmt = QTextBlockFormat()
                in_list = block.textList() is not None
                heading = block.blockFormat().headingLevel() > 0 or (
                    block.charFormat().fontWeight() >= 600
                    and not in_list
                    and block.charFormat().fontPointSize() > self.font().pointSizeF()
                )
                fmt.setTopMargin(8 if heading else 0)
                last_in_list = in_list and (
                    not block.next().isValid() or block.next().textList() is not block.textList()
                )
                fmt.setBottomMargin(2 if in_list and not last_in_list else 8)
                cursor.mergeBlockFormat(fmt)
            block = block.next()

    def _html(self, blocks: list[Block], tail: bool = False) -> str:
        """HTML for blocks appended after the frozen ones; code blocks are numbered for their Copy link."""
        parts, codes = [], []
        for block in blocks:
            if block.kind == "code":
                parts.append(self._code_html(block, len(self.codes) + len(codes)))
                codes.append(block.code)
            else:
                parts.append(block.html)
        if tail:
            self._tail_codes = codes
        else:
            self.codes.extend(codes)
        return "".join(parts)

    def _code_html(self, block: Block, index: int) -> str:
        palette = (
            QGuiApplication.palette()
        )  # the app's, set at once by a theme change (a widget's follows later)
        background = palette.color(QPalette.ColorRole.AlternateBase).name()
        border = palette.color(QPalette.ColorRole.Mid).name()
        muted = palette.color(QPalette.ColorRole.PlaceholderText).name()
        language = html.escape(block.language or "code")
        return (
            f'<table width="100%" cellspacing="0" cellpadding="6" border="1" style="border-collapse: collapse; '
            f'border-color: {border}; background-color: {background};"><tr><td>'
            f'<span style="color: {muted};">{language}</span>&nbsp;&nbsp;<a href="copy:{index}">Copy</a>'
            f"{block.html}</td></tr></table>"
        )

    def code_at(self, index: int) -> str:
        if index < len(self.codes):
            return self.codes[index]
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
        self.setFixedHeight(int(size.height()) + 4)

    def wheelEvent(self, event: Any) -> None:  # noqa: N802 - Qt name
        event.ignore()  # the conversation scrolls, not the message


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
        self.usage = QLabel()
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
