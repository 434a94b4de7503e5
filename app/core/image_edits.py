"""Image edits (`images.edit`, multipart `images/edits`) with the gpt-image family: a source image (PNG or JPEG) and an
optional mask (a PNG of the same size whose transparent pixels mark what to repaint), checked before sending; the
results saved and recorded in the gallery with their source as the parent (`edit_and_store`)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core import errors, image_options, images, paths
from app.core.cancel import CancelToken
from app.core.capabilities import Family
from app.core.image_options import ImageRequest, config

if TYPE_CHECKING:
    from app.core.history import History

MIME = {"png": "image/png", "jpeg": "image/jpeg"}


@dataclass(frozen=True)
class EditRequest:
    """`request` holds the prompt and the gpt-image options (size, quality, background, format, n); `image` the
    source's bytes; `mask` a PNG with alpha, or None to let the model repaint freely; `parent_id` the gallery image
    it came from (its lineage), None for a file."""

    request: ImageRequest
    image: bytes
    image_name: str = "image.png"
    mask: bytes | None = None
    parent_id: int | None = None


def has_alpha(png: bytes) -> bool:
    """Whether a PNG carries transparency: an alpha colour type (grey+alpha, RGBA) or a tRNS chunk."""
    if len(png) < 26 or not png.startswith(images.PNG_SIGNATURE):
        return False
    if png[25] in (4, 6):
        return True
    pos = 8
    while pos + 8 <= len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        if kind == b"tRNS":
            return True
        if kind in (b"IDAT", b"IEND"):
            return False
        pos += 12 + length
    return False


def validate_edit(edit: EditRequest) -> None:
    """Raise `ParleyError` CONFIG (nothing is sent) for an edit Azure would refuse: a DALL-E deployment, an image that
    is not a PNG/JPEG or is over 50 MB, a mask that is not a PNG with alpha, is over 4 MB or has another size."""
    request = edit.request
    family = image_options.resolve_family(request.family, request.deployment, edit=True)
    if family is Family.DALLE:
        raise config(
            "DALL-E cannot edit images",
            f"'{request.deployment}' is a DALL-E 3 deployment; Azure edits images with the gpt-image family only.",
            "Choose a gpt-image deployment (gpt-image-1, -1-mini, -1.5 or -2) for edits.",
        )
    image_options.validate(_as_gpt(request))
    kind = images.image_format(edit.image)
    if kind not in MIME:
        raise config(
            "Unsupported image to edit",
            "The image to edit must be a PNG or JPEG file.",
            "Choose a PNG or JPEG image (save it in one of those formats first).",
        )
    if len(edit.image) > image_options.EDIT_MAX_IMAGE_BYTES:
        raise config(
            "Image too large",
            f"The image to edit has {len(edit.image) / 2**20:.0f} MB; Azure takes less than 50 MB.",
            "Choose a smaller image.",
        )
    _whole(edit.image, edit.image_name)
    if edit.mask is None:
        return
    if not edit.mask.startswith(images.PNG_SIGNATURE) or not has_alpha(edit.mask):
        raise config(
            "Unsupported mask",
            "The mask must be a PNG with an alpha channel: its fully transparent pixels mark what to repaint.",
            "Paint the mask in the Images tab, or save it as a PNG with transparency.",
        )
    if len(edit.mask) > image_options.EDIT_MAX_MASK_BYTES:
        raise config(
            "Mask too large", "The mask is over 4 MB.", "Use a smaller mask (the same size as the image)."
        )
    _whole(edit.mask, "The mask")
    try:
        image_size, mask_size = images.image_size(edit.image), images.png_size(edit.mask)
    except ValueError as exc:
        raise config(
            "Unreadable image", f"The image's size could not be read ({exc}).", "Choose another image."
        ) from None
    if image_size != mask_size:
        raise config(
            "Mask size differs",
            f"The mask is {mask_size[0]}×{mask_size[1]} and the image {image_size[0]}×{image_size[1]}; Azure needs "
            "the same size.",
            "Paint the mask on this image in the Images tab.",
        )


def _whole(data: bytes, name: str) -> None:
    """CONFIG for a damaged or cut file (a bare PNG signature): Azure would refuse it only after the upload."""
    from app.core.imagecheck import damage

    wrong = damage(data)
    if wrong:
        raise config(
            "Damaged image",
            f"{name} is not a whole image: it is {wrong}. Nothing was sent.",
            "Choose a PNG or JPEG that opens in an image viewer (save it again if it was cut short).",
        )


def _as_gpt(request: ImageRequest) -> ImageRequest:
    from dataclasses import replace

    return replace(request, family=Family.GPT_IMAGE)


def edit(
    client: Any,
    edit_request: EditRequest,
    *,
    cancel: CancelToken,
    ctx: errors.Context = errors.Context("images"),
    max_retries: int = 2,
) -> Iterator[Any]:
    """Validate now (raises `ParleyError` CONFIG), then the events of one multipart `images/edits`: `Started`,
    `Retrying`, a `GeneratedImage` per image (`parent_id` set), `Done`; or `Failed`; or `Done("cancelled")`."""
    validate_edit(edit_request)
    request = _as_gpt(edit_request.request)
    params = image_options.wire_params(request)
    kind = images.image_format(edit_request.image) or "png"
    stem = Path(paths.wire_name(edit_request.image_name or "image")).stem
    name = stem + (".png" if kind == "png" else ".jpg")
    files: dict[str, Any] = {"image": (name, edit_request.image, MIME[kind])}
    if edit_request.mask is not None:
        files["mask"] = ("mask.png", edit_request.mask, "image/png")

    def open_response() -> Any:
        return client.images.with_streaming_response.edit(
            model=request.deployment, prompt=request.prompt, **files, **params
        )

    return images.run_request(
        client, request, open_response, cancel, ctx, max_retries, parent_id=edit_request.parent_id
    )


def edit_and_store(
    client: Any,
    edit_request: EditRequest,
    history: History,
    folder: str | Path,
    *,
    cancel: CancelToken,
    ctx: errors.Context = errors.Context("images"),
    max_retries: int = 2,
) -> Iterator[Any]:
    """`edit` (validating now), each result saved into `folder` and recorded in the gallery with its source image
    as the parent: the events of `edit`, a `StoredImage` where it yields a `GeneratedImage`."""
    events = edit(client, edit_request, cancel=cancel, ctx=ctx, max_retries=max_retries)
    return images.stored(events, history, Path(folder))
