"""The Images tab's large view of one image, and the worker function that reads and decodes an image file for it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from app.core import errors
from app.core.cancel import CancelToken


def load_image(path: str, cancel: CancelToken) -> QImage:
    image = QImage(path)
    if image.isNull():
        raise errors.ParleyError(
            errors.Problem(
                errors.Kind.OTHER,
                "Image missing",
                f"{path} could not be read.",
                "It may have been moved or deleted; remove it from the gallery.",
            )
        )
    return image


class ImageView(QLabel):
    """Shows the image as large as the space allows, rendered at the screen's pixel density (sharp on high-DPI)."""

    PLACEHOLDER = "Your image appears here."

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._image: QImage | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(120, 80)  # a small window still shows it, and the lines under it whole
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setAccessibleName("Generated image")
        self.setText(self.PLACEHOLDER)

    def set_image(self, image: QImage | None, description: str = "") -> None:
        self._image = image
        self.setAccessibleDescription(description)
        self._rescale()

    def image(self) -> QImage | None:
        return self._image

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._image is None or self._image.isNull():
            if self.text() != self.PLACEHOLDER:
                self.setText(self.PLACEHOLDER)  # setText also drops any old pixmap
            return
        dpr = self.devicePixelRatioF()
        target = self.size() * dpr
        scaled = self._image.scaled(
            target, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        pix = QPixmap.fromImage(scaled)
        pix.setDevicePixelRatio(dpr)
        self.setPixmap(pix)
