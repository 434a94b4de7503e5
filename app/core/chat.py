"""Chat completions as a generator of typed events: Started, prompt and completion filter verdicts, deltas, Done
(the event machinery is `streaming.py`, shared with legacy completions).

Images: core stays free of Qt and Pillow, so `prepare_image` does not re-encode pixels. It checks the type (PNG,
JPEG, GIF, WebP, sniffed from the bytes), reads the pixel size from the header, and returns a note when the image is
over Azure's 20 MB per-image limit; the UI scales such an image with Qt before sending (`fit_size` gives the target,
2048 px on the long side, which is all the model uses anyway). Images within the limit are sent as they are.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from app.core import capabilities, errors
from app.core.cancel import CancelToken
from app.core.capabilities import ChatTraits
from app.core.deadline import timeout_of
from app.core.events import Done, Event, Failed, Learned, Notice, Started
from app.core.streaming import as_dicts, extra, run_stream, run_whole

if TYPE_CHECKING:  # types only: importing them costs start-up time
    from openai import AzureOpenAI

SUPPORTED_MIME = ("image/png", "image/jpeg", "image/gif", "image/webp")
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # Azure's limit per image
MAX_SIDE = 2048  # the model fits images into 2048 x 2048, then the short side into 768


# ---------------------------------------------------------------------------------------------------------------
# Requests


@dataclass(frozen=True)
class ImagePart:
    data: bytes
    mime: str
    name: str = ""

    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


@dataclass(frozen=True)
class Message:
    role: str  # "user", "assistant" or "system"
    text: str
    images: tuple[ImagePart, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        if not self.images:
            return {"role": self.role, "content": self.text}
        parts: list[dict[str, Any]] = []
        if self.text:
            parts.append({"type": "text", "text": self.text})
        parts.extend({"type": "image_url", "image_url": {"url": img.data_url()}} for img in self.images)
        return {"role": self.role, "content": parts}


@dataclass(frozen=True)
class ChatRequest:
    """One chat request. `traits` says what the deployment accepts (`Profile.chat_traits(deployment)`); without it
    the deployment's name decides. The request is shaped by `shaped()`: a reasoning model gets
    `max_completion_tokens` for `max_tokens`, no temperature, the developer role and only an effort it takes."""

    deployment: str
    messages: tuple[Message, ...]
    system: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    stream: bool = True
    reasoning_effort: str | None = None  # capabilities.REASONING_EFFORTS; sent only where the model takes it
    traits: ChatTraits | None = None

    @property
    def model_traits(self) -> ChatTraits:
        if self.traits is not None:
            return self.traits
        return capabilities.chat_traits(capabilities.family_for_model(self.deployment), self.deployment)

    def wire_messages(self) -> list[dict[str, Any]]:
        """The `messages` list as sent: the instructions first (system or developer role, or in front of the first
        user message for a model that takes neither), then the conversation."""
        role = self.model_traits.system_role
        out: list[dict[str, Any]] = []
        if self.system and role:
            out.append({"role": role, "content": self.system})
        messages = list(self.messages)
        if self.system and not role:
            first = next((i for i, m in enumerate(messages) if m.role == "user"), None)
            if first is not None:
                m = messages[first]
                messages[first] = Message(m.role, f"{self.system}\n\n{m.text}", m.images)
        out.extend(m.to_wire() for m in messages)
        return out

    def create_kwargs(self) -> dict[str, Any]:
        return self.shaped()[0]

    def shaped(self) -> tuple[dict[str, Any], list[Notice]]:
        """(the create() keyword arguments, notes for the user about settings this model does not take)."""
        traits = self.model_traits
        kwargs: dict[str, Any] = {"model": self.deployment, "messages": self.wire_messages()}
        notes: list[Notice] = []
        if self.max_tokens is not None:
            kwargs[traits.token_limit] = self.max_tokens
        if self.temperature is not None:
            if traits.sampling:
                kwargs["temperature"] = self.temperature
            else:
                notes.append(
                    Notice(
                        f"Temperature does not apply to '{self.deployment}' (a reasoning model chooses its own "
                        "sampling), so it was not sent; the setting stays for chat models.",
                        "temperature",
                    )
                )
        effort = (self.reasoning_effort or "").strip().lower()
        if effort:
            if effort in traits.efforts:
                kwargs["reasoning_effort"] = effort
            else:
                takes = ", ".join(traits.efforts)
                why = f"it takes {takes}" if takes else "it takes no reasoning effort setting"
                notes.append(
                    Notice(
                        f"Reasoning effort '{effort}' does not apply to '{self.deployment}' ({why}), so it was "
                        "not sent.",
                        "reasoning_effort",
                    )
                )
        return kwargs, notes


# ---------------------------------------------------------------------------------------------------------------
# Images


def sniff_mime(data: bytes) -> str | None:
    """The image type from its first bytes (PNG, JPEG, GIF, WebP), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) read from a PNG/JPEG/GIF/WebP header, without decoding pixels; None when unreadable."""
    try:
        mime = sniff_mime(data)
        if mime == "image/png" and data[12:16] == b"IHDR":
            w, h = struct.unpack(">II", data[16:24])
            return w, h
        if mime == "image/gif":
            w, h = struct.unpack("<HH", data[6:10])
            return w, h
        if mime == "image/webp":
            kind = data[12:16]
            if kind == b"VP8 ":
                w, h = struct.unpack("<HH", data[26:30])
                return w & 0x3FFF, h & 0x3FFF
            if kind == b"VP8L":
                b = data[21:25]
                w = 1 + (((b[1] & 0x3F) << 8) | b[0])
                h = 1 + (((b[3] & 0xF) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
                return w, h
            if kind == b"VP8X":
                w = 1 + int.from_bytes(data[24:27], "little")
                h = 1 + int.from_bytes(data[27:30], "little")
                return w, h
            return None
        if mime == "image/jpeg":
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    i += 1
                    continue
                marker = data[i + 1]
                if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                    i += 1 if marker == 0xFF else 2
                    continue
                length = struct.unpack(">H", data[i + 2 : i + 4])[0]
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                    return w, h
                i += 2 + length
    except (struct.error, IndexError):
        return None
    return None


def fit_size(width: int, height: int, limit: int = MAX_SIDE) -> tuple[int, int]:
    """The size to scale to so both sides fit in `limit` (aspect kept); the same size when it already fits."""
    if width <= limit and height <= limit:
        return width, height
    scale = limit / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def prepare_image(data: bytes, mime: str, name: str = "") -> tuple[ImagePart, str | None]:
    """Check an image for sending: (ImagePart, note or None).

    The type is taken from the bytes when they say otherwise than `mime`. Raises ParleyError(BAD_REQUEST) for a type
    Azure does not accept. Over 20 MB the part is still returned with a note; the caller (the UI, with Qt) scales it
    to `fit_size(*image_size(data))` and calls again. Pixels are never re-encoded here (no Qt or Pillow in core).
    """
    sniffed = sniff_mime(data)
    mime = (mime or "").lower().strip()
    if mime == "image/jpg":
        mime = "image/jpeg"
    if sniffed and sniffed != mime:
        mime = sniffed
    if mime not in SUPPORTED_MIME:
        raise errors.ParleyError(
            errors.Problem(
                errors.Kind.BAD_REQUEST,
                "Image type not supported",
                f"{name or 'This file'} is not a PNG, JPEG, GIF or WebP image.",
                "Convert it to PNG or JPEG and attach it again.",
            )
        )
    part = ImagePart(data, mime, name)
    if len(data) > MAX_IMAGE_BYTES:
        size = image_size(data)
        target = fit_size(*size) if size else None
        to = f" to {target[0]}×{target[1]}" if target and target != size else ""
        return part, (
            f"{name or 'The image'} is {len(data) / 1_048_576:.1f} MB; Azure accepts up to 20 MB per image, "
            f"so it is too large as it is and must be scaled down{to} before sending."
        )
    return part, None


# ---------------------------------------------------------------------------------------------------------------
# Chat


def _delta_text(choice: Any) -> str | None:
    return extra(extra(choice, "delta"), "content")


def _message_text(choice: Any) -> str | None:
    message = getattr(choice, "message", None)
    return getattr(message, "content", None) if message is not None else None


def stream_chat(
    client: AzureOpenAI,
    request: ChatRequest,
    *,
    cancel: CancelToken,
    ctx: errors.Context = errors.Context("chat"),
    max_retries: int = 2,
) -> Iterator[Event]:
    """Run one chat completion, streamed (or not: `request.stream=False`, or a model that cannot stream), as
    events. A `Notice` says once that a setting was not sent; a 400 naming a parameter the model rejects adapts the
    request and retries it once, and `Learned` (before the retry) tells the caller the deployment reasons, to keep
    in the profile; `lesson(request, done)` gives what the answer's `model` taught. Never raises for Azure
    failures."""
    _kwargs, notes = request.shaped()
    yield from notes
    adapted: ChatRequest | None = None
    for event in run_once(client, request, cancel=cancel, ctx=ctx, max_retries=max_retries):
        if isinstance(event, Failed) and adapted is None:
            adapted, notes = _adapt(request, event.problem)
            if adapted is not None:  # Azure named what this model rejects: send it once more without it
                yield from notes
                if adapted.model_traits.reasoning and not request.model_traits.reasoning:
                    yield Learned(request.deployment, capabilities.Family.REASONING)
                break
            yield Failed(refine_problem(event.problem, request.deployment))
            return
        if isinstance(event, Started):
            adapted = request  # the answer has begun: nothing to adapt any more
        yield event
    else:
        return
    assert adapted is not None
    for event in run_once(client, adapted, cancel=cancel, ctx=ctx, max_retries=max_retries):
        if isinstance(event, Failed):
            yield Failed(refine_problem(event.problem, adapted.deployment))
            return
        yield event


def run_once(
    client: AzureOpenAI,
    request: ChatRequest,
    *,
    cancel: CancelToken,
    ctx: errors.Context,
    max_retries: int,
) -> Iterator[Event]:
    """One request exactly as `request` shapes it (no adapting, no notices): the events of `streaming`."""
    kwargs = request.create_kwargs()
    if request.stream and request.model_traits.stream:
        yield from run_stream(
            lambda: as_dicts(
                client,
                client.chat.completions.create(**kwargs, stream=True, stream_options={"include_usage": True}),
            ),
            _delta_text,
            cancel=cancel,
            ctx=ctx,
            max_retries=max_retries,
            timeout=timeout_of(client),
        )
    else:
        yield from run_whole(
            lambda: client.chat.completions.with_streaming_response.create(**kwargs),
            _message_text,
            cancel=cancel,
            ctx=ctx,
            max_retries=max_retries,
            timeout=timeout_of(client),
        )


# ---------------------------------------------------------------------------------------------------------------
# Learning from Azure: a 400 that names a parameter, and the `model` of an answer

_ADAPTABLE = ("unsupported_parameter", "unsupported_value")
_PARAM_RE = re.compile(r"'([A-Za-z_.]+)'")


def rejected_parameter(problem: errors.Problem) -> str | None:
    """The parameter a 400 `unsupported_parameter` / `unsupported_value` names ("Unsupported parameter:
    'max_tokens' is not supported with this model. ..."), or None for any other failure."""
    if problem.status != 400 or (problem.code or "") not in _ADAPTABLE:
        return None
    m = _PARAM_RE.search(problem.detail)
    return m.group(1) if m else None


def _adapt(request: ChatRequest, problem: errors.Problem) -> tuple[ChatRequest | None, list[Notice]]:
    """The request reshaped for what Azure said the model rejects, with the notes to show; (None, []) when the
    failure is not one a different request can fix (or the request already avoids the parameter)."""
    param = rejected_parameter(problem)
    if param is None:
        return None, []
    traits = request.model_traits
    if param == "stream" and traits.stream:
        return replace(request, traits=replace(traits, stream=False)), []
    if param == "reasoning_effort" and request.reasoning_effort:
        notice = Notice(
            f"'{request.deployment}' does not take reasoning effort '{request.reasoning_effort}' "
            f"({problem.detail}); it was sent without it.",
            "reasoning_effort",
        )
        return replace(request, reasoning_effort=None), [notice]
    if param in ("max_tokens", *capabilities.SAMPLING_PARAMETERS) and not traits.reasoning:
        # a reasoning model behind a name that did not say so: shape the request the reasoning way
        reasoned = capabilities.chat_traits(capabilities.Family.REASONING, request.deployment)
        adapted = replace(request, traits=reasoned)
        return adapted, adapted.shaped()[1]
    return None, []


def lesson(request: ChatRequest, done: Done) -> Learned | None:
    """What an answer taught about its deployment, for the caller to keep (`ProfileStore.remember`): the family
    of the model that answered (`Done.model`) and its name. `model-router` names a different model per answer, so
    only its family is kept. None when the answer says nothing (cancelled, or no model named)."""
    if done.finish_reason == "cancelled" or not done.model:
        return None
    traits = request.model_traits
    if traits.router:
        return Learned(request.deployment, capabilities.Family.REASONING, None)
    family = capabilities.family_for_model(done.model)
    if traits.reasoning and family != capabilities.Family.REASONING:
        family = capabilities.Family.REASONING  # what a 400 revealed wins over a model name we do not know
    return Learned(request.deployment, family, done.model)


def refine_problem(problem: errors.Problem, deployment: str) -> errors.Problem:
    """Azure's "Model {modelName} is enabled only for api versions 2024-12-01-preview and later", in words that
    say what to change."""
    if problem.status == 400 and "enabled only for api versions" in problem.detail.lower():
        return replace(
            problem,
            kind=errors.Kind.API_VERSION,
            title="This model needs a newer api-version",
            detail=(
                f"'{deployment}' is a reasoning model, and Azure serves those only at api-version "
                f'{capabilities.REASONING_API_VERSION} or later (Azure: "{problem.detail}").'
            ),
            action=(
                "In Settings, set the api-version to 2025-04-01-preview, or switch the profile's API to v1 "
                "(no api-version needed)."
            ),
        )
    return problem
