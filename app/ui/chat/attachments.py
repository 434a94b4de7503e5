"""Images the user attaches to a chat message: read, checked and scaled off the GUI thread, with a thumbnail.

Azure takes PNG, JPEG, GIF and WebP up to 20 MB each, and the model looks at no more than 2048 px on the long side,
so a bigger image is scaled down before sending (with a note saying so). Other formats Qt can read (BMP, TIFF...)
are converted to PNG. QImage is safe to use on a worker thread; QPixmap is made from the thumbnail on the GUI side.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QImage

from app.core import errors
from app.core.cancel import CancelToken

if TYPE_CHECKING:
    from app.core import chat

THUMB_SIZE = 64


@dataclass(frozen=True)
class PendingImage:
    data: bytes
    mime: str
    name: str
    note: str | None  # "Scaled from 4000×3000 to 2048×1536 …"
    thumb: QImage

    def part(self) -> chat.ImagePart:
        # The chat core is imported once a message goes, not for the first frame's box.
        from app.core import chat

        return chat.ImagePart(self.data, self.mime, self.name)


def _encode(image: QImage, fmt: str) -> bytes:
    buffer = QByteArray()
    device = QBuffer(buffer)
    device.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(device, fmt, 90 if fmt == "JPEG" else -1)
    device.close()
    return bytes(buffer.data())


def _bad(name: str, why: str) -> errors.ParleyError:
    return errors.ParleyError(
        errors.Problem(
            errors.Kind.BAD_REQUEST,
            "Image not attached",
            f"{name}: {why}",
            "Attach a PNG, JPEG, GIF or WebP image.",
        )
    )


def prepare(
    data: bytes | None = None, name: str = "image", *, path: str | None = None, image: QImage | None = None
) -> PendingImage:
    """Bytes, a file, or a pasted QImage, made ready to send. Raises ParleyError with a clear text."""
    from app.core import chat

    if path is not None:
        name = Path(path).name
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise _bad(name, f"could not be read ({exc.strerror or exc}).") from None
    if image is not None:
        data, name = _encode(image, "PNG"), name if name != "image" else "pasted image.png"
    if not data:
        raise _bad(name, "the file is empty.")
    mime = chat.sniff_mime(data)
    decoded = QImage.fromData(data)
    if mime is None:
        if decoded.isNull():
            raise _bad(name, "this is not an image Parley can read.")
        data, mime = _encode(decoded, "PNG"), "image/png"  # BMP, TIFF and the like
    if decoded.isNull():
        raise _bad(name, "the image data is damaged.")
    note = None
    w, h = decoded.width(), decoded.height()
    if max(w, h) > chat.MAX_SIDE or len(data) > chat.MAX_IMAGE_BYTES:
        tw, th = chat.fit_size(w, h)
        # fit_size kept the aspect already; fitting its rounded box again lost a pixel (2048 became 2047).
        scaled = decoded.scaled(
            tw, th, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        fmt = "PNG" if mime in ("image/png", "image/gif") and scaled.hasAlphaChannel() else "JPEG"
        data, mime = _encode(scaled, fmt), f"image/{fmt.lower()}"
        note = (
            f"{name} was scaled from {w}×{h} to {scaled.width()}×{scaled.height()} before sending "
            f"(the model looks at no more than {chat.MAX_SIDE} px)."
        )
    part, size_note = chat.prepare_image(data, mime, name)
    thumb = decoded.scaled(
        THUMB_SIZE, THUMB_SIZE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    return PendingImage(part.data, part.mime, name, note or size_note, thumb)


def prepare_many(
    sources: list[tuple[str, object]], *, cancel: CancelToken
) -> list[PendingImage | errors.Problem]:
    """For a Job: ("path", str) / ("bytes", (data, name)) / ("image", QImage) each prepared, problems kept."""
    out: list[PendingImage | errors.Problem] = []
    for kind, value in sources:
        cancel.raise_if_cancelled()
        try:
            if kind == "path":
                out.append(prepare(path=str(value)))
            elif kind == "bytes":
                data, name = value  # type: ignore[misc]
                out.append(prepare(data, name))
            else:
                out.append(prepare(image=value))  # type: ignore[arg-type]
        except errors.ParleyError as exc:
            out.append(exc.problem)
    return out
