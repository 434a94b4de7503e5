"""What each image family accepts (DALL-E 3, the gpt-image family), a request checked against it before anything is
sent, the request's wire parameters, and the image token usage gpt-image answers with."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from app.core import errors
from app.core.capabilities import Family, family_for_model

# DALL-E 3 (Microsoft Learn, "How to use Azure OpenAI image generation models", DALL-E 3 tab).
DALLE_SIZES = ("1024x1024", "1792x1024", "1024x1792")
DALLE_QUALITIES = ("standard", "hd")
STYLES = ("vivid", "natural")
RESPONSE_FORMATS = ("b64_json", "url")
DALLE_MAX_PROMPT = 4000
# The gpt-image family (same page, GPT-image-1 tab; openai-python's ImageGenerateParams). Always base64 back.
GPT_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
GPT_QUALITIES = ("low", "medium", "high", "auto")
BACKGROUNDS = ("transparent", "opaque", "auto")
# Azure's docs: "WEBP images aren't supported"; the window offers these two, the CLI may still pass webp through.
OUTPUT_FORMATS = ("png", "jpeg")
PASS_THROUGH_FORMATS = ("webp",)
GPT_MAX_PROMPT = 32000
GPT_MAX_N = 10
# gpt-image-2 takes any WIDTHxHEIGHT within these (Azure AI Foundry's model card for gpt-image-2).
FREE_SIZE_MULTIPLE = 16
FREE_SIZE_MAX_EDGE = 3840  # exclusive: "must be less than 3840px"
FREE_SIZE_MAX_RATIO = 3.0
FREE_SIZE_MIN_PIXELS = 655_360
FREE_SIZE_MAX_PIXELS = 8_294_400
# Image edits: the input image is PNG or JPEG under 50 MB; a mask is a PNG with alpha, under 4 MB, the same size.
EDIT_MAX_IMAGE_BYTES = 50 * 1024 * 1024
EDIT_MAX_MASK_BYTES = 4 * 1024 * 1024

IMAGE_FAMILIES = (Family.DALLE, Family.GPT_IMAGE)


@dataclass(frozen=True)
class ImageRequest:
    """One image generation. None means "the family's default": DALL-E's are filled in (and sent, as before);
    gpt-image options left None are not sent, so Azure's defaults apply."""

    deployment: str
    prompt: str
    size: str | None = None
    quality: str | None = None
    style: str | None = None  # DALL-E only
    response_format: str | None = None  # DALL-E only
    family: Family | None = None  # None: from the deployment's name, else DALL-E (the seed's family)
    background: str | None = None  # gpt-image only
    output_format: str | None = None  # gpt-image only: png or jpeg (webp passes through to Azure)
    output_compression: int | None = None  # gpt-image, jpeg/webp only: 0-100
    n: int = 1

    @property
    def resolved_family(self) -> Family:
        return resolve_family(self.family, self.deployment)

    def effective(self) -> ImageRequest:
        """This request with its family and DALL-E's defaults filled in (what goes on the wire)."""
        family = self.resolved_family
        if family is not Family.DALLE:
            return replace(self, family=family)
        return replace(
            self,
            family=family,
            size=self.size or "1024x1024",
            quality=self.quality or "standard",
            style=self.style or "vivid",
            response_format=self.response_format or "b64_json",
        )

    def options(self) -> dict[str, Any]:
        """The options as the gallery records them (what was asked, with the family's defaults filled in)."""
        if self.resolved_family is Family.DALLE:
            full = self.effective()
            return {
                "size": full.size,
                "quality": full.quality,
                "style": full.style,
                "response_format": full.response_format,
            }
        chosen = {
            "size": self.size,
            "quality": self.quality,
            "background": self.background,
            "output_format": self.output_format,
            "output_compression": self.output_compression,
            "n": self.n,
        }
        return {k: v for k, v in chosen.items() if v is not None}


@dataclass(frozen=True)
class ImageUsage:
    """Image token usage from a gpt-image answer's `usage` (DALL-E answers carry none)."""

    input_tokens: int = 0
    input_text_tokens: int = 0
    input_image_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def from_obj(cls, usage: Any) -> ImageUsage | None:
        if usage is None:
            return None

        def get(obj: Any, key: str) -> Any:
            return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)

        details = get(usage, "input_tokens_details") or {}
        return cls(
            int(get(usage, "input_tokens") or 0),
            int(get(details, "text_tokens") or 0),
            int(get(details, "image_tokens") or 0),
            int(get(usage, "output_tokens") or 0),
            int(get(usage, "total_tokens") or 0),
        )

    def to_json(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "input_text_tokens": self.input_text_tokens,
            "input_image_tokens": self.input_image_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
        }

    def words(self) -> str:
        """'Tokens: 50 in (10 text, 40 image) · 4160 out · 4210 total'."""
        parts = [f"{self.input_tokens} in"]
        if self.input_image_tokens:
            parts[0] += f" ({self.input_text_tokens} text, {self.input_image_tokens} image)"
        return f"Tokens: {parts[0]} · {self.output_tokens} out · {self.total_tokens} total"


def resolve_family(family: Family | None, deployment: str, *, edit: bool = False) -> Family:
    """The image family a request is shaped for: the one given (Settings/learned), else the name's, else DALL-E for a
    generation (the seed's images family) and gpt-image for an edit (the only family Azure edits with)."""
    if family in IMAGE_FAMILIES:
        return family
    guess = family_for_model(deployment)
    if guess in IMAGE_FAMILIES:
        return guess
    return Family.GPT_IMAGE if edit else Family.DALLE


def takes_free_sizes(deployment: str) -> bool:
    """gpt-image-2 and later take any WIDTHxHEIGHT within limits; gpt-image-1/-1-mini/-1.5 only the listed sizes.
    An opaque deployment name could be either, so its free size is sent and Azure decides."""
    name = deployment.strip().lower()
    if re.match(r"gpt-?image-?1", name):
        return False
    return True


def sizes_for(family: Family, deployment: str = "") -> tuple[str, ...]:
    return DALLE_SIZES if family is Family.DALLE else GPT_SIZES


def qualities_for(family: Family) -> tuple[str, ...]:
    return DALLE_QUALITIES if family is Family.DALLE else GPT_QUALITIES


def max_n(family: Family) -> int:
    return 1 if family is Family.DALLE else GPT_MAX_N


def free_size_problem(size: str) -> str | None:
    """Why `size` (WIDTHxHEIGHT) is not a size gpt-image-2 takes, or None when it is."""
    m = re.fullmatch(r"(\d{2,5})x(\d{2,5})", size)
    if not m:
        return "a size is WIDTHxHEIGHT in pixels, e.g. 1536x864"
    w, h = int(m.group(1)), int(m.group(2))
    if w % FREE_SIZE_MULTIPLE or h % FREE_SIZE_MULTIPLE:
        return f"both edges must be multiples of {FREE_SIZE_MULTIPLE}"
    if max(w, h) >= FREE_SIZE_MAX_EDGE:
        return f"the longest edge must be under {FREE_SIZE_MAX_EDGE} px"
    if max(w, h) / min(w, h) > FREE_SIZE_MAX_RATIO:
        return "the long edge may be at most 3 times the short one"
    if not FREE_SIZE_MIN_PIXELS <= w * h <= FREE_SIZE_MAX_PIXELS:
        return f"it must have between {FREE_SIZE_MIN_PIXELS:,} and {FREE_SIZE_MAX_PIXELS:,} pixels"
    return None


def config(title: str, detail: str, action: str) -> errors.ParleyError:
    return errors.ParleyError(errors.Problem(errors.Kind.CONFIG, title, detail, action))


def _choose(name: str, value: Any, allowed: tuple[Any, ...], model: str) -> None:
    if value not in allowed:
        raise config(
            f"Unsupported image {name}",
            f"{model} does not take {name} '{value}'.",
            f"Choose one of: {', '.join(str(a) for a in allowed)}.",
        )


def _label(family: Family, deployment: str) -> str:
    return "DALL-E 3" if family is Family.DALLE else f"'{deployment}' (a gpt-image model)"


def validate(request: ImageRequest) -> None:
    """Raise `ParleyError` CONFIG (so nothing is sent) for an option the deployment's family does not take, naming
    the values it does."""
    if not (request.deployment or "").strip():
        raise config(
            "No images deployment",
            "No image deployment is set for this profile.",
            "Enter the images deployment name (e.g. gpt-image-1 or dall-e-3) in Settings.",
        )
    if not (request.prompt or "").strip():
        raise config(
            "Nothing to draw", "The image prompt is empty.", "Type a description of the image first."
        )
    family = request.resolved_family
    model = _label(family, request.deployment)
    limit = DALLE_MAX_PROMPT if family is Family.DALLE else GPT_MAX_PROMPT
    if len(request.prompt) > limit:
        raise config(
            "Prompt too long",
            f"The prompt has {len(request.prompt)} characters; {model} takes at most {limit}.",
            "Shorten the description.",
        )
    if family is Family.DALLE:
        _validate_dalle(request, model)
    else:
        _validate_gpt(request, model)


def _validate_dalle(request: ImageRequest, model: str) -> None:
    for name, value in (
        ("background", request.background),
        ("output format", request.output_format),
        ("output compression", request.output_compression),
    ):
        if value is not None:
            raise config(
                f"No {name} on DALL-E 3",
                f"DALL-E 3 does not take a {name}; it answers with a PNG.",
                "Leave it out, or choose a gpt-image deployment (set its family in Settings if its name hides it).",
            )
    resolved = request.effective()
    _choose("size", resolved.size, DALLE_SIZES, model)
    _choose("quality", resolved.quality, DALLE_QUALITIES, model)
    _choose("style", resolved.style, STYLES, model)
    _choose("response format", resolved.response_format, RESPONSE_FORMATS, model)
    if resolved.n != 1:
        raise config(
            "One image at a time", "DALL-E 3 makes one image per request (n=1).", "Ask for one image."
        )


def _validate_gpt(request: ImageRequest, model: str) -> None:
    for name, value, reason in (
        ("style", request.style, "describe the style in the prompt instead"),
        ("response format", request.response_format, "gpt-image always answers with the image data (base64)"),
    ):
        if value is not None:
            raise config(
                f"No {name} on gpt-image",
                f"{model} does not take a {name}: {reason}.",
                "Leave it out (it is a DALL-E 3 option).",
            )
    if request.quality is not None:
        _choose("quality", request.quality, GPT_QUALITIES, model)
    if request.size is not None and request.size not in GPT_SIZES:
        why: str | None = "a listed size"
        if takes_free_sizes(request.deployment):
            why = free_size_problem(request.size)
        if why:
            raise config(
                "Unsupported image size",
                f"{model} does not take size '{request.size}'"
                + ("." if why == "a listed size" else f": {why}."),
                f"Choose one of: {', '.join(GPT_SIZES)}"
                + (
                    ""
                    if why == "a listed size"
                    else " (gpt-image-2 also takes other sizes within its limits)"
                )
                + ".",
            )
    if request.background is not None:
        _choose("background", request.background, BACKGROUNDS, model)
    if request.output_format is not None:
        _choose("output format", request.output_format, OUTPUT_FORMATS + PASS_THROUGH_FORMATS, model)
    if request.background == "transparent" and request.output_format == "jpeg":
        raise config(
            "No transparency in JPEG",
            "A transparent background needs a PNG; JPEG has no transparency.",
            "Choose PNG, or an opaque or automatic background.",
        )
    if request.output_compression is not None:
        if not 0 <= request.output_compression <= 100:
            raise config(
                "Unsupported compression",
                f"Output compression is a percentage (0-100), not {request.output_compression}.",
                "Choose a value from 0 to 100.",
            )
        if (request.output_format or "png") == "png":
            raise config(
                "No compression for PNG",
                "Output compression applies to JPEG images only.",
                "Choose JPEG, or leave the compression out.",
            )
    if not 1 <= request.n <= GPT_MAX_N:
        raise config(
            "Unsupported number of images",
            f"{model} makes 1 to {GPT_MAX_N} images per request, not {request.n}.",
            f"Ask for 1 to {GPT_MAX_N} images.",
        )


def wire_params(request: ImageRequest) -> dict[str, Any]:
    """The body of `images.generate` for a validated request: DALL-E's four options, or only the gpt-image options
    chosen (never `response_format` or `style`, which gpt-image rejects)."""
    request = request.effective()
    if request.family is Family.DALLE:
        return {
            "n": 1,
            "size": request.size,
            "quality": request.quality,
            "style": request.style,
            "response_format": request.response_format,
        }
    params: dict[str, Any] = {"n": request.n}
    for key in ("size", "quality", "background", "output_format", "output_compression"):
        value = getattr(request, key)
        if value is not None:
            params[key] = value
    return params


# How Azure's 400 reads when the request went to the other family (an opaque deployment name may hide it): a
# parameter that family does not know, or the other family's list of qualities.
_GPT_SYMPTOMS = (r"unknown parameter: '(response_format|style)'", r"'low', 'medium', 'high'")
_DALLE_SYMPTOMS = (r"unknown parameter: '(background|output_format|output_compression)'", r"'standard', 'hd'")


def family_hint(problem: errors.Problem, family: Family, deployment: str) -> errors.Problem:
    """A 400 that names an option of the family the request was shaped for usually means the deployment serves the
    other family (its name hides it): say so, and where to set it."""
    if problem.kind is not errors.Kind.BAD_REQUEST or problem.status != 400:
        return problem
    text = problem.detail.lower()
    if family is Family.DALLE and any(re.search(p, text) for p in _GPT_SYMPTOMS):
        other = "a gpt-image model (gpt-image-1, -1-mini, -1.5 or -2)"
        wanted = "GPT-image"
    elif family is Family.GPT_IMAGE and any(re.search(p, text) for p in _DALLE_SYMPTOMS):
        other = "DALL-E 3"
        wanted = "DALL-E"
    else:
        return problem
    return replace(
        problem,
        title="Wrong image model family",
        detail=f"{problem.detail} Parley shaped the request for {family.label}, but '{deployment}' seems to "
        f"serve {other}.",
        action=f"Set the family of '{deployment}' to {wanted} in Settings (or in the Images tab), then try again.",
    )
