"""Painting an edit mask over an image: brush marks what the model may repaint, eraser takes it back, clear and undo;
`mask_png` gives Azure's mask (the image's size, opaque, fully transparent where painted). Also the edit dialog."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QImage, QKeySequence, QMouseEvent, QPainter, QPaintEvent, QPen, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

UNDO_STEPS = 20
PAINT_COLOUR = QColor(230, 40, 90)


def mask_from_paint(paint: QImage) -> QImage:
    """Azure's mask for a paint layer: opaque white, alpha 0 wherever something was painted."""
    mask = QImage(paint.size(), QImage.Format.Format_ARGB32)
    mask.fill(QColor(255, 255, 255, 255))
    painter = QPainter(mask)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationOut)
    painter.drawImage(0, 0, paint)
    painter.end()
    return mask


def png_bytes(image: QImage) -> bytes:
    """The image as PNG bytes (QImage is safe off the GUI thread: the tab encodes on a worker)."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # PySide6's stubs miss the QIODevice overload
    buffer.close()
    return bytes(data.data())


class MaskEditor(QWidget):
    """The source image with a translucent paint layer on top, in image pixels whatever the widget's size."""

    changed = Signal()

    def __init__(self, image: QImage, parent: QWidget | None = None):
        super().__init__(parent)
        self.image = image
        self.paint = QImage(image.size(), QImage.Format.Format_ARGB32_Premultiplied)
        self.paint.fill(Qt.GlobalColor.transparent)
        self.brush_size = max(8, min(image.width(), image.height()) // 12)
        self.erasing = False
        self._undo: list[QImage] = []
        self._last: QPointF | None = None
        self.setMinimumSize(240, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Mask editor")
        self.setAccessibleDescription("Paint over the parts of the image the model should change")
        self.setCursor(Qt.CursorShape.CrossCursor)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt name
        return QSize(520, 520)

    # -- what the user painted ----------------------------------------------------------------------------
    def painted(self) -> bool:
        """Whether anything is painted (a smooth 64×64 look: a brush stroke survives it as some alpha)."""
        small = self.paint.scaled(
            64, 64, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        return any(
            small.pixelColor(x, y).alpha() for y in range(small.height()) for x in range(small.width())
        )

    def mask_image(self) -> QImage:
        return mask_from_paint(self.paint)

    def mask_png(self) -> bytes:
        return png_bytes(self.mask_image())

    # -- tools ----------------------------------------------------------------------------------------------
    def set_eraser(self, on: bool) -> None:
        self.erasing = on

    def set_brush_size(self, size: int) -> None:
        self.brush_size = max(1, size)

    def clear(self) -> None:
        self._push_undo()
        self.paint.fill(Qt.GlobalColor.transparent)
        self.update()
        self.changed.emit()

    def undo(self) -> None:
        if self._undo:
            self.paint = self._undo.pop()
            self.update()
            self.changed.emit()

    def can_undo(self) -> bool:
        return bool(self._undo)

    def _push_undo(self) -> None:
        self._undo.append(self.paint.copy())
        del self._undo[:-UNDO_STEPS]

    def stroke(self, points: list[QPointF]) -> None:
        """Paint (or erase) a stroke through `points` in image pixels: one undo step."""
        self._push_undo()
        for a, b in zip(points, points[1:] or points, strict=False):
            self._line(a, b)
        self.update()
        self.changed.emit()

    def _line(self, a: QPointF, b: QPointF) -> None:
        painter = QPainter(self.paint)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.erasing:
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
        pen = QPen(PAINT_COLOUR, self.brush_size, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.drawLine(a, b)
        painter.end()

    # -- drawing and the mouse -------------------------------------------------------------------------------
    def _target(self) -> QRectF:
        """Where the image is drawn: as large as fits, centred, aspect kept."""
        w, h = self.image.width(), self.image.height()
        scale = min(self.width() / max(1, w), self.height() / max(1, h))
        return QRectF((self.width() - w * scale) / 2, (self.height() - h * scale) / 2, w * scale, h * scale)

    def to_image(self, pos: QPointF) -> QPointF:
        rect = self._target()
        scale = self.image.width() / max(1.0, rect.width())
        return QPointF((pos.x() - rect.left()) * scale, (pos.y() - rect.top()) * scale)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt name
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(self.backgroundRole()))
        rect = self._target()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(rect, self.image)
        painter.setOpacity(0.55)
        painter.drawImage(rect, self.paint)
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt name
        if event.button() == Qt.MouseButton.LeftButton:
            self._push_undo()
            self._last = self.to_image(event.position())
            self._line(self._last, self._last)
            self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt name
        if self._last is not None:
            point = self.to_image(event.position())
            self._line(self._last, point)
            self._last = point
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt name
        if self._last is not None:
            self._last = None
            self.changed.emit()


class EditDialog(QDialog):
    """Paint the mask (optional), describe the change, and Edit: `prompt()` and `editor.mask_image()` after accept."""

    def __init__(self, image: QImage, title: str, prompt: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Edit image — {title}")
        self.editor = MaskEditor(image)
        self.brush = QPushButton("&Brush")
        self.eraser = QPushButton("&Eraser")
        group = QButtonGroup(self)
        for button in (self.brush, self.eraser):
            button.setCheckable(True)
            group.addButton(button)
        self.brush.setChecked(True)
        self.eraser.toggled.connect(self.editor.set_eraser)
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(4, max(8, min(image.width(), image.height()) // 3))
        self.size_slider.setValue(self.editor.brush_size)
        self.size_slider.setAccessibleName("Brush size")
        self.size_slider.valueChanged.connect(self.editor.set_brush_size)
        self.clear_button = QPushButton("C&lear")
        self.clear_button.clicked.connect(self.editor.clear)
        self.undo_button = QPushButton("&Undo")
        self.undo_button.clicked.connect(self.editor.undo)
        self.undo_button.setEnabled(False)
        self.editor.changed.connect(self._on_changed)
        QShortcut(QKeySequence.StandardKey.Undo, self, self.editor.undo)
        tools = QHBoxLayout()
        for widget in (
            self.brush,
            self.eraser,
            QLabel("Size:"),
            self.size_slider,
            self.clear_button,
            self.undo_button,
        ):
            tools.addWidget(widget)
        tools.addStretch(1)
        self.hint = QLabel(
            "Paint over what should change; leave it unpainted to let the model change anything."
        )
        self.hint.setWordWrap(True)
        self.prompt_edit = QPlainTextEdit(prompt)
        self.prompt_edit.setPlaceholderText("Describe the change… (e.g. add a red hat)")
        self.prompt_edit.setAccessibleName("Edit prompt")
        self.prompt_edit.setMaximumHeight(80)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.edit_button = self.buttons.addButton("E&dit", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(tools)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.hint)
        layout.addWidget(self.prompt_edit)
        layout.addWidget(self.buttons)
        self.resize(640, 720)

    @Slot()
    def _on_changed(self) -> None:
        self.undo_button.setEnabled(self.editor.can_undo())

    def prompt(self) -> str:
        return self.prompt_edit.toPlainText().strip()

    def has_mask(self) -> bool:
        return self.editor.painted()

    @Slot()
    def _accept(self) -> None:
        if not self.prompt():
            self.hint.setText("<b>Describe the change first.</b>")
            self.prompt_edit.setFocus()
            return
        self.accept()

    def result_values(self) -> tuple[str, Any]:
        """(prompt, mask QImage or None when nothing is painted)."""
        return self.prompt(), (self.editor.mask_image() if self.has_mask() else None)
