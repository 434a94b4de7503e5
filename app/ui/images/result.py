"""The Images tab's result: the image shown large, its revised prompt, filter line and token usage, and what can be
done with it (Edit, Copy, Save as, Send to chat). It is there only while it shows an image: before the first one
(and after a refusal) the gallery takes its room, so at 800×500 nothing floats or is cut off."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.history import ImageRecord
from app.ui import design
from app.ui.common.a11y import describe
from app.ui.images.view import ImageView


class ClampedLabel(QLabel):
    """A word-wrapped label of at most LINES lines: a longer text is cut with "…" (whole in the tooltip and the
    accessible description), so a long revised prompt never pushes the image and the actions out of a small window."""

    LINES = 2

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._prefix, self._text = "", ""

    def set_parts(self, prefix: str, text: str) -> None:
        """`prefix` is shown bold before `text` (both plain); "" and "": empty."""
        self._prefix, self._text = prefix, text
        self.setAccessibleDescription(f"{prefix} {text}".strip())
        self._fit()

    def full_text(self) -> str:
        return self._text

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if not self._text:
            self.clear()
            self.setToolTip("")
            return
        metrics = self.fontMetrics()
        room = (
            int(self.LINES * self.width() * 0.85) - metrics.horizontalAdvance(self._prefix + "  ") * 12 // 10
        )
        shown = metrics.elidedText(self._text, Qt.TextElideMode.ElideRight, max(room, 40))
        text = f"<b>{html.escape(self._prefix)}</b> {html.escape(shown)}"
        if text != self.text():
            self.setText(text)
        self.setToolTip(self._text if shown != self._text else "")


class ResultPane(QWidget):
    presence_changed = Signal(bool)  # it now shows an image (True) or nothing (False: it is hidden)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = ImageView()
        self.revised = ClampedLabel()
        self.revised.setAccessibleName("Revised prompt")
        self.use_revised = QPushButton("&Use as prompt")
        describe(self.use_revised, "Puts the prompt Azure actually drew from in the description box")
        self.use_revised.hide()
        self.filters_label = QLabel()
        self.filters_label.setAccessibleName("Content filter results")
        self.filters_label.setWordWrap(True)
        self.usage_label = QLabel()
        self.usage_label.setAccessibleName("Image token usage")
        revised_row = QHBoxLayout()
        revised_row.addWidget(self.revised, 1)
        revised_row.addWidget(self.use_revised, 0, Qt.AlignmentFlag.AlignTop)

        self.edit_button = QPushButton("&Edit…")
        self.edit_button.setToolTip("Paint a mask over this image and describe the change (gpt-image)")
        self.copy_button = QPushButton("Cop&y")
        describe(self.copy_button, "Copies the image shown to the clipboard")
        self.save_button = QPushButton("Save &as…")
        describe(self.save_button, "Saves a copy of the image shown where you choose")
        self.chat_button = QPushButton("Send to c&hat")
        describe(self.chat_button, "Attaches the image shown to a chat message")
        self.buttons = (self.edit_button, self.copy_button, self.save_button, self.chat_button)
        actions = QHBoxLayout()
        actions.setSpacing(design.S)
        actions.addWidget(self.usage_label, 1)
        for button in self.buttons:
            button.setEnabled(False)
            actions.addWidget(button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, design.S)
        layout.setSpacing(design.S)
        layout.addWidget(self.view, 1)
        layout.addLayout(revised_row)
        layout.addWidget(self.filters_label)
        layout.addLayout(actions)
        self.present = False
        self.hide()

    def show_image(self, image: QImage | None, description: str = "") -> None:
        """The image (None: none; the pane hides and the gallery gets its room)."""
        self.view.set_image(image, description)
        present = image is not None and not image.isNull()
        if present != self.present:
            self.present = present
            self.setVisible(present)
            self.presence_changed.emit(present)

    def show_record(self, record: ImageRecord, verdicts: list[Any]) -> None:
        """What is known of the image on show: its revised prompt, filter verdicts and usage; actions enabled."""
        self.show_revised(record.revised_prompt)
        if verdicts:
            parts = [f"{'Prompt' if str(v.source) == 'prompt' else 'Image'}: {v.summary()}" for v in verdicts]
            self.filters_label.setText(
                "<small>Content filter — " + html.escape("; ".join(parts)) + "</small>"
            )
        else:
            self.filters_label.clear()
        words = record.usage.words() if record.usage is not None else ""
        if record.parent_id is not None:
            words = (words + " · " if words else "") + f"edited from image #{record.parent_id}"
        self.usage_label.setText(f"<small>{html.escape(words)}</small>" if words else "")
        for button in self.buttons:
            button.setEnabled(True)

    def clear(self) -> None:
        """Nothing on show: the image, revised prompt, filter line and usage go, the actions are disabled."""
        self.show_image(None)
        self.show_revised(None)
        self.filters_label.clear()
        self.usage_label.clear()
        for button in self.buttons:
            button.setEnabled(False)

    def show_revised(self, revised: str | None) -> None:
        self.revised.set_parts("Revised prompt:", revised or "")
        self.use_revised.setVisible(bool(revised))
