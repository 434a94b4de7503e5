"""The media operations: DALL-E 3 images and their download URLs (speech and transcription: `audio_ops`; the
gpt-image family and edits: `gpt_image_ops`)."""

from __future__ import annotations

import base64
import re
import time
from typing import Any

from app.emulator import content, imaging
from app.emulator.audio_ops import AudioOps
from app.emulator.catalog import DALLE_SIZES, MSG_IMAGE_FILTER
from app.emulator.content import Directives
from app.emulator.gpt_image_ops import GptImageOps


class MediaOps(AudioOps, GptImageOps):
    """The handler's DALL-E routes (and, inherited, its audio and gpt-image ones); `Handler` dispatches to `_op_<kind>`."""

    # -- images -------------------------------------------------------------------------------------------------

    def _op_images(
        self,
        deployment: str,
        model: str,
        dims: int,
        js: dict,
        form: dict,
        files: dict,
        d: Directives,
        op: str,
    ) -> None:
        if op == "images/edits" or model.startswith("gpt-image"):
            return self._gpt_image_op(deployment, model, js, form, files, d, op)
        prompt = js.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return self._invalid("'prompt' is a required property", "prompt")
        if len(prompt) > 4000:
            return self._invalid(
                "The prompt is too long. The maximum length is 4000 characters.", "prompt", "invalid_prompt"
            )
        n = js.get("n", 1)
        if n != 1:
            return self._invalid("You must provide n=1 for this model.", "n", "invalid_value")
        size = js.get("size") or "1024x1024"
        if size not in DALLE_SIZES:
            return self._invalid(
                "The size is not supported by this model. Supported sizes are 1024x1024, "
                "1792x1024 and 1024x1792.",
                "size",
                "invalid_size",
            )
        quality = js.get("quality") or "standard"
        if quality not in ("standard", "hd"):
            return self._invalid(
                f"'{quality}' is not one of ['standard', 'hd'] - 'quality'", "quality", "invalid_value"
            )
        style = js.get("style") or "vivid"
        if style not in ("vivid", "natural"):
            return self._invalid(
                f"'{style}' is not one of ['vivid', 'natural'] - 'style'", "style", "invalid_value"
            )
        fmt = js.get("response_format") or "url"
        if fmt not in ("url", "b64_json"):
            return self._invalid(
                f"'{fmt}' is not one of ['url', 'b64_json'] - 'response_format'",
                "response_format",
                "invalid_value",
            )
        revised = content.revised_prompt(prompt)
        if d.filter == "image":
            return self._error(
                400,
                {
                    "code": "content_policy_violation",
                    "inner_error": {
                        "code": "ResponsibleAIPolicyViolation",
                        "content_filter_results": content.image_blocked_results(),
                        "revised_prompt": revised,
                    },
                    "message": MSG_IMAGE_FILTER,
                    "type": "invalid_request_error",
                },
            )
        width, height = (int(v) for v in size.split("x"))
        png = imaging.png(width, height, f"{prompt}|{quality}|{style}")
        item: dict[str, Any] = {"b64_json": None, "revised_prompt": revised, "url": None}
        if fmt == "b64_json":
            item["b64_json"] = base64.b64encode(png).decode()
        else:
            image_id = self.emu._store_image(png)
            item["url"] = f"{self.emu.endpoint}/openai/emulator/images/{image_id}.png"
        item["content_filter_results"] = content.safe_results()
        item["prompt_filter_results"] = content.image_prompt_results()
        self._json(200, {"created": int(time.time()), "data": [item]}, cut=d.fault == "cut")

    def _serve_image(self, path: str) -> None:
        m = re.match(r"^/openai/emulator/images/([A-Za-z0-9_-]+)\.png$", path)
        png = self.emu._image(m.group(1)) if m else None
        if png is None:
            return self._send(
                404,
                b'<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobNotFound</Code>'
                b"<Message>The specified blob does not exist.</Message></Error>",
                "application/xml",
            )
        self._send(200, png, "image/png")
