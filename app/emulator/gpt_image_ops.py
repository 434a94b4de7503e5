"""The gpt-image family's routes: `images/generations` with its options (sizes, qualities, backgrounds, png/jpeg,
compression, n up to 10) and multipart `images/edits` with an image and an optional PNG mask; Azure's 400s for
what the family rejects (`response_format`, `style`, webp, a transparent JPEG). DALL-E 3 cannot edit."""

from __future__ import annotations

import base64
import struct
import time
from typing import Any

from app.emulator import content, imaging, jpeg
from app.emulator.catalog import (
    GPT_IMAGE_BACKGROUNDS,
    GPT_IMAGE_FORMATS,
    GPT_IMAGE_QUALITIES,
    GPT_IMAGE_SIZES,
    MSG_IMAGE_FILTER,
)
from app.emulator.content import Directives
from app.emulator.wire import WireHandler

# Output image tokens per quality for 1024x1024, 1024x1536, 1536x1024 (modelled on OpenAI's published table for
# gpt-image-1); other sizes scale with their pixels.
_OUTPUT_TOKENS = {
    "low": (272, 408, 400),
    "medium": (1056, 1584, 1568),
    "high": (4160, 6240, 6208),
}
_DEFAULT_QUALITY = {"gpt-image-1-mini": "medium"}  # Microsoft Learn: -1 defaults to high, -1-mini to medium
JPEG_QUALITY = 85


def _quote_list(values: tuple[str, ...]) -> str:
    quoted = [f"'{v}'" for v in values]
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}" if len(quoted) > 2 else " and ".join(quoted)


def free_size_ok(size: str) -> bool:
    """gpt-image-2's sizes: multiples of 16, long edge under 3840, at most 3:1, 655,360 to 8,294,400 pixels."""
    try:
        w, h = (int(v) for v in size.split("x"))
    except ValueError:
        return False
    return (
        w > 0
        and h > 0
        and w % 16 == 0
        and h % 16 == 0
        and max(w, h) < 3840
        and max(w, h) <= 3 * min(w, h)
        and 655_360 <= w * h <= 8_294_400
    )


def png_info(data: bytes) -> tuple[int, int, bool] | None:
    """(width, height, has alpha) of a PNG, else None; alpha: an RGBA/grey-alpha colour type or a tRNS chunk."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or len(data) < 26 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    alpha = data[25] in (4, 6) or b"tRNS" in data[33 : data.find(b"IDAT") if b"IDAT" in data else len(data)]
    return width, height, alpha


class GptImageOps(WireHandler):
    """gpt-image generation and edits; `MediaOps._op_images` hands these requests here."""

    def _gpt_image_op(
        self, deployment: str, model: str, js: dict, form: dict, files: dict, d: Directives, op: str
    ) -> None:
        edit = op == "images/edits"
        if edit and not model.startswith("gpt-image"):
            return self._error(
                400,
                {
                    "code": "OperationNotSupported",
                    "message": (
                        f"The imageEdit operation does not work with the specified model, {deployment}. Please choose "
                        "different model and try again. You can learn more about which models can be used with each "
                        "operation here: https://go.microsoft.com/fwlink/?linkid=2197993."
                    ),
                },
            )
        params = {k: v for k, v in (form if edit else js).items() if not isinstance(v, tuple)}
        for name in ("response_format", "style"):
            if name in params:
                return self._invalid(f"Unknown parameter: '{name}'.", name, "unknown_parameter")
        prompt = params.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return self._invalid("'prompt' is a required property", "prompt")
        if len(prompt) > 32000:
            return self._invalid(
                f"Invalid 'prompt': string too long. Expected a string with maximum length 32000, but got a string "
                f"with length {len(prompt)} instead.",
                "prompt",
                "string_above_max_length",
            )
        n = _int(params.get("n", 1))
        if n is None or n < 1:
            return self._invalid("Invalid 'n': expected an integer of at least 1.", "n", "invalid_value")
        if n > 10:
            return self._invalid(
                f"Invalid 'n': integer above maximum value. Expected a value <= 10, but got {n} instead.",
                "n",
                "integer_above_max_value",
            )
        size = str(params.get("size") or "auto")
        free = model.startswith("gpt-image-2") and free_size_ok(size)
        if size not in GPT_IMAGE_SIZES and not free:
            return self._enum("size", size, GPT_IMAGE_SIZES)
        quality = str(params.get("quality") or "auto")
        if quality not in GPT_IMAGE_QUALITIES:
            return self._enum("quality", quality, GPT_IMAGE_QUALITIES)
        background = str(params.get("background") or "auto")
        if background not in GPT_IMAGE_BACKGROUNDS:
            return self._enum("background", background, GPT_IMAGE_BACKGROUNDS)
        fmt = str(params.get("output_format") or "png")
        if fmt not in GPT_IMAGE_FORMATS:  # Azure: "WEBP images aren't supported"
            return self._enum("output_format", fmt, GPT_IMAGE_FORMATS)
        compression = _int(params.get("output_compression", 100))
        if compression is None or not 0 <= compression <= 100:
            return self._invalid(
                "Invalid 'output_compression': expected an integer between 0 and 100.",
                "output_compression",
                "invalid_value",
            )
        if background == "transparent" and fmt != "png":
            return self._invalid(
                "Transparent background is only supported with output_format 'png'.",
                "background",
                "invalid_value",
            )
        source: tuple[int, int] | None = None
        input_image_tokens = 0
        if edit:
            checked = self._check_edit_files(files)
            if checked is None:
                return None
            source = checked
            input_image_tokens = _vision_tokens(*source)
        if d.filter == "image":
            return self._error(
                400,
                {
                    "code": "content_policy_violation",
                    "inner_error": {
                        "code": "ResponsibleAIPolicyViolation",
                        "content_filter_results": content.image_blocked_results(),
                    },
                    "message": MSG_IMAGE_FILTER,
                    "type": "invalid_request_error",
                },
            )
        if size == "auto":
            size = (
                f"{source[0]}x{source[1]}"
                if source and f"{source[0]}x{source[1]}" in GPT_IMAGE_SIZES
                else "1024x1024"
            )
        if quality == "auto":
            quality = _DEFAULT_QUALITY.get(model, "high")
        width, height = (int(v) for v in size.split("x"))
        transparent = background == "transparent"
        # Azure's docs: 0 is no compression, 100 the most; the encoder's quality is the other way round.
        jpeg_quality = JPEG_QUALITY if "output_compression" not in params else max(10, 100 - compression)
        data = []
        for i in range(n):
            seed = f"{prompt}|{quality}|{i}|{source}"
            if fmt == "jpeg":
                rgb, _ = imaging.pattern(width, height, seed)
                body = jpeg.encode(rgb, jpeg_quality)
            else:
                body = imaging.png(width, height, seed, transparent=transparent)
            data.append({"b64_json": base64.b64encode(body).decode()})
        text_tokens = content.count_tokens(prompt)
        output_tokens = _output_tokens(quality, width, height) * n
        usage = {
            "input_tokens": text_tokens + input_image_tokens,
            "input_tokens_details": {"image_tokens": input_image_tokens, "text_tokens": text_tokens},
            "output_tokens": output_tokens,
            "total_tokens": text_tokens + input_image_tokens + output_tokens,
        }
        answer = {
            "created": int(time.time()),
            "background": "transparent" if transparent else "opaque",
            "data": data,
            "output_format": fmt,
            "quality": quality,
            "size": size,
            "usage": usage,
        }
        self._json(200, answer, cut=d.fault == "cut")

    def _check_edit_files(self, files: dict) -> tuple[int, int] | None:
        """The source image's (width, height), or None after answering Azure's 400 for the image or the mask."""
        upload = files.get("image") or files.get("image[]")
        if upload is None:
            self._invalid("'image' is a required property", "image")
            return None
        data = upload[1]
        info = imaging.image_info(data)
        if info is None or info[0] not in ("PNG", "JPEG"):
            self._invalid(
                "Invalid image file: the image to edit must be a PNG or JPEG file.",
                "image",
                "invalid_image_format",
            )
            return None
        width, height = info[1], info[2]
        if "mask" in files:
            mask = png_info(files["mask"][1])
            if mask is None:
                self._invalid("Invalid mask: the mask must be a PNG file.", "mask", "invalid_image_format")
                return None
            if not mask[2]:
                self._invalid(
                    "Invalid mask: the mask must have an alpha channel; transparent pixels mark where to edit.",
                    "mask",
                    "invalid_image_format",
                )
                return None
            if mask[:2] != (width, height):
                self._invalid(
                    f"Invalid mask: the mask ({mask[0]}x{mask[1]}) must have the same dimensions as the image "
                    f"({width}x{height}).",
                    "mask",
                    "invalid_image_size",
                )
                return None
        return width, height

    def _enum(self, name: str, value: str, allowed: tuple[str, ...]) -> None:
        self._invalid(
            f"Invalid value: '{value}'. Supported values are: {_quote_list(allowed)}.", name, "invalid_value"
        )


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _output_tokens(quality: str, width: int, height: int) -> int:
    square, portrait, landscape = _OUTPUT_TOKENS.get(quality, _OUTPUT_TOKENS["high"])
    if (width, height) == (1024, 1536):
        return portrait
    if (width, height) == (1536, 1024):
        return landscape
    return round(square * width * height / (1024 * 1024))


def _vision_tokens(width: int, height: int) -> int:
    """Input image tokens as vision counts them: 85 + 170 per 512-px tile after fitting 2048 and a 768 short side."""
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return 85 + 170 * (-(-int(w) // 512)) * (-(-int(h) // 512))
