"""What the Images tab runs on a worker: a generation or an edit through core (stored in the gallery), decoding the
results for display there, never on the GUI thread."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtGui import QImage

from app.core import paths
from app.core.cancel import CancelToken
from app.core.history import ImageRecord
from app.ui.images.gallery import make_thumbnail


@dataclass(frozen=True)
class Generated:
    image: Any  # app.core.images.GeneratedImage
    record: ImageRecord
    thumb: QImage | None
    full: QImage  # decoded on the worker: a 1792x1024 PNG takes tens of ms to decode


@dataclass(frozen=True)
class EditSource:
    """The image to edit: a gallery record (its lineage) or a file; `mask` a QImage painted in the app, or None."""

    path: str
    mask: QImage | None
    parent_id: int | None


def _decoded(events: Any) -> Any:
    from app.core import images

    for event in events:
        if isinstance(event, images.StoredImage):  # saved and in the gallery: decode here
            full = QImage.fromData(event.image.data)
            yield Generated(event.image, event.record, make_thumbnail(event.record.path), full)
        else:
            yield event


def generate(connection: Any, request: Any, cancel: CancelToken) -> Any:
    from app.core import images
    from app.core.history import History

    yield from _decoded(
        images.generate_and_store(
            connection.client(),
            request,
            History.open(),
            paths.ensure(paths.data_dir() / "images"),
            cancel=cancel,
            ctx=connection.context("images"),
            max_retries=connection.profile.max_retries,
        )
    )


def edit(connection: Any, request: Any, source: EditSource, cancel: CancelToken) -> Any:
    """Read the source, encode the painted mask as a PNG, and run the edit (all here, on the worker)."""
    from app.core import errors, image_edits
    from app.core.history import History
    from app.ui.images.mask_editor import png_bytes

    try:
        data = Path(source.path).read_bytes()
    except OSError as exc:
        raise errors.ParleyError(
            errors.Problem(
                errors.Kind.NOT_FOUND,
                "Image missing",
                f"{source.path} could not be read ({exc.strerror or exc}).",
                "Choose another image.",
            )
        ) from None
    mask = png_bytes(source.mask) if source.mask is not None else None
    job = image_edits.EditRequest(request, data, Path(source.path).name, mask, source.parent_id)
    yield from _decoded(
        image_edits.edit_and_store(
            connection.client(),
            job,
            History.open(),
            paths.ensure(paths.data_dir() / "images"),
            cancel=cancel,
            ctx=connection.context("images"),
            max_retries=connection.profile.max_retries,
        )
    )
