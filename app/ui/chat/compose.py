"""Where the user writes: the text box (Return or Ctrl+Return sends, as chosen in Settings; Esc stops), attached
images (file dialog, paste, drag and drop) shown as removable thumbnails, and the Send/Stop button."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6 import QtCore
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui import style
from app.ui.common import icons
from app.ui.common.a11y import describe
from app.ui.common.workers import JobGroup, JobResult

if TYPE_CHECKING:  # attachments (QImage, QBuffer) and errors load with the first image, not the first frame
    from PySide6.QtCore import QMimeData
    from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeyEvent

    from app.ui.chat.attachments import PendingImage

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff")
FILE_FILTER = "Images (*.png *.jpg *.jpeg *.gif *.webp *.bmp *.tif *.tiff)"


def image_sources(mime: QMimeData) -> list[tuple[str, object]]:
    """What a paste or a drop carries that can become attachments: local image files, else image data."""
    # Not imported before the first frame: each PySide type's first use costs it time.
    from PySide6.QtGui import QImage, QPixmap

    sources: list[tuple[str, object]] = []
    if mime.hasUrls():
        for url in mime.urls():
            if url.isLocalFile() and url.toLocalFile().lower().endswith(IMAGE_SUFFIXES):
                sources.append(("path", url.toLocalFile()))
    if not sources and mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            sources.append(("image", image))
        elif isinstance(image, QPixmap) and not image.isNull():
            sources.append(("image", image.toImage()))
    return sources


def send_keys(choice: object) -> tuple[str, str]:
    """(the key that sends, the one that starts a new line) for Settings' choice, "enter" or "ctrl+enter", named
    as Help → Keyboard shortcuts names them."""
    return ("Ctrl+Return", "Return") if choice == "ctrl+enter" else ("Return", "Shift+Return")


def font_points(value: object) -> int | None:
    """Settings' chat font size as points within 6-48; None when the stored value is not a number."""
    try:
        return max(6, min(48, int(value)))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


class ComposeEdit(QPlainTextEdit):
    submit = Signal()
    stop = Signal()
    images = Signal(object)  # list of sources for attachments.prepare_many
    send_key_changed = Signal(str)  # whatever tells the user which key sends says it again

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._send_key = "enter"
        self.setAcceptDrops(True)

    @property
    def send_key(self) -> str:
        """Settings' choice: "enter" (Return sends) or "ctrl+enter" (Ctrl+Return sends, Return breaks the line)."""
        return self._send_key

    @send_key.setter
    def send_key(self, value: object) -> None:
        key = "ctrl+enter" if value == "ctrl+enter" else "enter"
        if key != self._send_key:
            self._send_key = key
            self.send_key_changed.emit(key)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt name
        key, mods = event.key(), event.modifiers()
        if key in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter):
            ctrl = bool(mods & QtCore.Qt.KeyboardModifier.ControlModifier)
            shift = bool(mods & QtCore.Qt.KeyboardModifier.ShiftModifier)
            if (self.send_key == "enter" and not shift and not ctrl) or (
                self.send_key == "ctrl+enter" and ctrl
            ):
                self.submit.emit()
                return
            if self.send_key == "enter" and shift:
                self.insertPlainText("\n")
                return
        if key == QtCore.Qt.Key.Key_Escape:
            self.stop.emit()
            return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802 - Qt name
        return bool(image_sources(source)) or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802 - Qt name
        found = image_sources(source)
        if found:
            self.images.emit(found)
        else:
            super().insertFromMimeData(source)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt name
        if image_sources(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt name
        if image_sources(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt name
        found = image_sources(event.mimeData())
        if found:
            event.acceptProposedAction()
            self.images.emit(found)
        else:
            super().dropEvent(event)


class ComposeBox(QWidget):
    send_requested = Signal()
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.pending: list[PendingImage] = []
        self._jobs = JobGroup(self, "attach")
        self.busy = False
        self.edit = ComposeEdit()
        self.edit.setAccessibleName("Message")
        self.edit.setTabChangesFocus(True)
        self.edit.textChanged.connect(self._fit_height)
        self._fit_height()
        self.edit.submit.connect(self._on_submit)
        self.edit.stop.connect(self._on_escape)
        self.edit.images.connect(self.add_sources)
        self.strip = QHBoxLayout()
        self.strip.setContentsMargins(0, 0, 0, 0)
        self.strip_box = QWidget()
        self.strip_box.setLayout(self.strip)
        self.strip_box.hide()
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(placeholder-text);")
        self.note.hide()
        self.attach = QToolButton()
        self.attach.setText("Attach image…")
        self.attach.setIcon(icons.icon("paperclip"))
        self.attach.setAutoRaise(True)
        self.attach.setAccessibleName("Attach an image")
        self.attach.setToolTip("Attach an image (you can also paste or drop one)")
        self.attach.clicked.connect(self.choose_files)
        self.send = QPushButton("Send")
        self.send.setObjectName("primary")  # the one accent-coloured button of the tab (style.py)
        self.send.setIcon(icons.icon("send-horizontal"))
        self.send.setAccessibleName("Send")
        describe(self.send, "Sends the message to the assistant")
        self.send.setDefault(False)
        self.send.clicked.connect(self._on_send_button)
        self.edit.send_key_changed.connect(self._tell_keys)
        self._tell_keys()
        for button in (self.send, self.attach):
            style.apply(button)  # its buttons only, never the text: style.py says why
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send)
        buttons.addWidget(self.attach)
        buttons.addStretch(1)
        row.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 4, 12, 8)
        layout.addWidget(self.strip_box)
        layout.addWidget(self.note)
        layout.addLayout(row)

    @Slot()
    def _fit_height(self) -> None:
        """Three lines when empty, growing with the text up to ten, then it scrolls."""
        line = self.edit.fontMetrics().lineSpacing()
        lines = max(3, min(10, self.edit.document().lineCount()))
        margins = self.edit.contentsMargins()
        frame = (
            int(self.edit.document().documentMargin() * 2)
            + margins.top()
            + margins.bottom()
            + 2 * self.edit.frameWidth()
        )
        self.edit.setFixedHeight(lines * line + frame)

    # -- text -------------------------------------------------------------------------------------------------
    def set_font_size(self, points: int) -> None:
        font = self.edit.font()
        font.setPointSize(points)
        self.edit.setFont(font)

    def text(self) -> str:
        return self.edit.toPlainText()

    def set_text(self, text: str) -> None:
        self.edit.setPlainText(text)
        cursor = self.edit.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.edit.setTextCursor(cursor)

    def take(self) -> tuple[str, list[PendingImage]]:
        """What to send; the box is emptied (the tab puts it back if the send fails before anything is saved)."""
        text, images = self.text(), list(self.pending)
        self.edit.clear()
        self.pending.clear()
        self._refresh_strip()
        self.note.hide()
        return text, images

    def restore(self, text: str, images: list[PendingImage]) -> None:
        """Put an unsent message back, unless the user has started typing something else."""
        if not self.text().strip():
            self.set_text(text)
        if not self.pending:
            self.pending = list(images)
            self._refresh_strip()

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.send.setText("Stop" if busy else "Send")
        self.send.setIcon(icons.icon("square" if busy else "send-horizontal"))
        self.send.setAccessibleName("Stop the answer" if busy else "Send")
        describe(
            self.send,
            "Stops the answer; what came so far is kept" if busy else "Sends the message to the assistant",
        )
        self.send.setToolTip(
            "Stop the answer (Esc)" if busy else f"Send ({send_keys(self.edit.send_key)[0]})"
        )

    @Slot()
    def _tell_keys(self) -> None:
        """The hint, description and Send's tooltip name the key that sends now (Settings' choice)."""
        sends, new_line = send_keys(self.edit.send_key)
        self.edit.setPlaceholderText(
            f"Message the assistant — {sends} sends, {new_line} for a new line, Esc stops"
        )
        describe(self.edit, f"Your message to the assistant; {sends} sends it, {new_line} starts a new line")
        if not self.busy:
            self.send.setToolTip(f"Send ({sends})")

    # -- images ---------------------------------------------------------------------------------------------------
    @Slot()
    def choose_files(self) -> None:
        from PySide6.QtWidgets import QFileDialog  # not for the first frame's box: its enums cost ~2 ms

        paths, _ = QFileDialog.getOpenFileNames(self, "Attach images", "", FILE_FILTER)
        if paths:
            self.add_sources([("path", p) for p in paths])

    @Slot(object)
    def add_sources(self, sources: list[tuple[str, object]]) -> None:
        """Prepare images on a worker (reading, decoding and scaling never block the window)."""
        self.note.setText("Preparing image…")
        self.note.show()
        from app.ui.chat import attachments

        self._jobs.start(partial(attachments.prepare_many, list(sources)), self._on_prepared)

    @Slot(object)
    def _on_prepared(self, result: JobResult) -> None:
        from html import escape  # not at import: html's entity table cost the first frame ~3 ms

        from app.core import errors

        notes: list[str] = []
        if result.problem is not None:
            notes.append(f"{result.problem.title}: {result.problem.detail}")
        for item in result.value or []:
            if isinstance(item, errors.Problem):
                notes.append(f"{item.title}: {item.detail} {item.action}")
            else:
                self.pending.append(item)
                if item.note:
                    notes.append(item.note)
        self._refresh_strip()
        self.note.setText(escape(" ".join(notes)))
        self.note.setVisible(bool(notes))

    def preparing(self) -> bool:
        return self._jobs.running

    def _refresh_strip(self) -> None:
        from PySide6.QtGui import QPixmap

        while self.strip.count():
            item = self.strip.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for index, image in enumerate(self.pending):
            chip = QToolButton()
            chip.setIcon(QPixmap.fromImage(image.thumb))
            chip.setIconSize(image.thumb.size())
            chip.setText("✕")
            chip.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            chip.setToolTip(f"{image.name} — click to remove")
            chip.setAccessibleName(f"Remove attached image {image.name}")
            chip.clicked.connect(partial(self.remove_image, index))
            self.strip.addWidget(chip)
        self.strip.addStretch(1)
        self.strip_box.setVisible(bool(self.pending))

    @Slot()
    def remove_image(self, index: int) -> None:
        if 0 <= index < len(self.pending):
            del self.pending[index]
            self._refresh_strip()

    # -- buttons ----------------------------------------------------------------------------------------------------
    @Slot()
    def _on_submit(self) -> None:
        if not self.busy:
            self.send_requested.emit()

    @Slot()
    def _on_escape(self) -> None:
        if self.busy:
            self.stop_requested.emit()

    @Slot()
    def _on_send_button(self) -> None:
        if self.busy:
            self.stop_requested.emit()
        else:
            self.send_requested.emit()

    def shutdown(self) -> None:
        self._jobs.close()
