"""Chat completions as a generator of typed events: Started, prompt and completion filter verdicts, deltas, Done.

Azure adds content-filter results to the OpenAI wire format; the openai client keeps them as extra fields:
`prompt_filter_results` on the first chunk (with no choices), `choices[0].content_filter_results` on chunks with
text, and on later chunks without text when the deployment uses the asynchronous filter. They become `FilterResult`
events: one per prompt index, and for the completion the first verdict, then one whenever a category changes, and
the final one.

Images: core stays free of Qt and Pillow, so `prepare_image` does not re-encode pixels. It checks the type (PNG,
JPEG, GIF, WebP, sniffed from the bytes), reads the pixel size from the header, and returns a note when the image is
over Azure's 20 MB per-image limit; the UI scales such an image with Qt before sending (`fit_size` gives the target,
2048 px on the long side, which is all the model uses anyway). Images within the limit are sent as they are.
"""

from __future__ import annotations

import base64
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from app.core import errors, filters
from app.core.cancel import Cancelled, CancelToken
from app.core.deadline import DEFAULT_TIMEOUT, Watchdog, timed_out, timeout_of
from app.core.events import Delta, Done, Event, Failed, FilterResult, Started, Usage
from app.core.netio import cancellable, close_on_cancel
from app.core.retry import retrying

if TYPE_CHECKING:  # types only: importing them costs start-up time
    from openai import AzureOpenAI

SUPPORTED_MIME = ("image/png", "image/jpeg", "image/gif", "image/webp")
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # Azure's limit per image
MAX_SIDE = 2048  # the model fits images into 2048 x 2048, then the short side into 768

DROPPED = "The connection dropped before the answer was complete."
GARBLED = "Part of the answer arrived garbled (not valid JSON or UTF-8), so the stream was ended there."


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
    deployment: str
    messages: tuple[Message, ...]
    system: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    stream: bool = True

    def wire_messages(self) -> list[dict[str, Any]]:
        """The `messages` list as sent: the system prompt first, then the conversation."""
        out: list[dict[str, Any]] = []
        if self.system:
            out.append({"role": "system", "content": self.system})
        out.extend(m.to_wire() for m in self.messages)
        return out

    def create_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": self.deployment, "messages": self.wire_messages()}
        if self.max_tokens is not None:
            kwargs["max_tokens"] = self.max_tokens
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        return kwargs


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
# Streaming machinery shared with completions.py


def extra(obj: Any, name: str) -> Any:
    """An Azure extra field of an openai model (kept in `model_extra`) or a dict."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    value = getattr(obj, name, None)
    if value is None:
        value = (getattr(obj, "model_extra", None) or {}).get(name)
    return value


def _cat_key(c: filters.Category) -> tuple[str, tuple[tuple[str, str], ...]]:
    return (c.name, c.details if c.name == "custom_blocklists" else ())


def worst_of(old: filters.Verdict | None, new: filters.Verdict) -> filters.Verdict:
    """Merge a later completion verdict into the one so far, keeping the worst of each category.

    The asynchronous filter reports each stretch of text separately; a later 'safe' stretch must not clear an
    earlier detection.
    """
    if old is None:
        return new
    by_key = {_cat_key(c): c for c in old.categories}
    for c in new.categories:
        prev = by_key.get(_cat_key(c))
        if prev is None:
            by_key[_cat_key(c)] = c
            continue
        sev = prev.severity
        if c.severity is not None and filters.SEVERITY_ORDER.get(c.severity, 0) >= filters.SEVERITY_ORDER.get(
            sev or "safe", 0
        ):
            sev = c.severity
        detected = None if prev.detected is None and c.detected is None else bool(prev.detected or c.detected)
        by_key[_cat_key(c)] = filters.Category(
            c.name, prev.filtered or c.filtered, sev, detected, c.details or prev.details
        )
    return filters.Verdict(old.source, tuple(by_key.values()), old.index, new.error or old.error)


def _signature(v: filters.Verdict | None) -> Any:
    if v is None:
        return None
    return (v.error, tuple(sorted((_cat_key(c), c.filtered, c.severity, c.detected) for c in v.categories)))


def _header(response: Any, name: str) -> str | None:
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        return headers.get(name) or None
    except Exception:  # noqa: BLE001
        return None


def _request_id(response: Any) -> str | None:
    return _header(response, "x-request-id") or _header(response, "apim-request-id")


class _State:
    """What the events so far have said: model, usage, finish reason and the completion verdict."""

    def __init__(self, text_of: Callable[[Any], str | None]):
        self.text_of = text_of
        self.model: str | None = None
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.verdict: filters.Verdict | None = None
        self.emitted: Any = None
        self.prompt_seen: set[Any] = set()
        self.text_len = 0

    def handle(self, chunk: Any) -> list[Event]:
        out: list[Event] = []
        self.model = getattr(chunk, "model", None) or self.model
        for v in filters.prompt_verdicts(
            extra(chunk, "prompt_filter_results") or extra(chunk, "prompt_annotations")
        ):
            key = (v.index, _signature(v))
            if key not in self.prompt_seen:
                self.prompt_seen.add(key)
                out.append(FilterResult(v))
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = Usage.from_obj(usage)
        for choice in getattr(chunk, "choices", None) or ():
            if (getattr(choice, "index", 0) or 0) != 0:
                continue
            text = self.text_of(choice)
            if text:
                self.text_len += len(text)
                out.append(Delta(text))
            results = extra(choice, "content_filter_results")
            if results:
                verdict = filters.completion_verdict(results)
                if verdict is not None:
                    self.verdict = worst_of(self.verdict, verdict)
                    if self.emitted is None or _signature(self.verdict) != self.emitted:
                        out.append(self._emit())
            if getattr(choice, "finish_reason", None):
                self.finish_reason = choice.finish_reason
        return out

    def _emit(self) -> FilterResult:
        assert self.verdict is not None
        self.emitted = _signature(self.verdict)
        return FilterResult(self.verdict)

    def final(self) -> list[Event]:
        if self.verdict is not None and _signature(self.verdict) != self.emitted:
            return [self._emit()]
        return []


def _mid_stream_problem(exc: BaseException, ctx: errors.Context, request_id: str | None) -> errors.Problem:
    import openai

    again = "Send again to retry; the partial answer is kept."
    if isinstance(exc, openai.APITimeoutError):
        return errors.Problem(
            errors.Kind.TIMEOUT,
            "Answer stopped",
            "Azure stopped sending before the answer was complete.",
            again,
            request_id=request_id,
        )
    if isinstance(exc, TimeoutError):  # our watchdog: silence mid-answer (keep-alive comments do not count)
        return errors.Problem(errors.Kind.TIMEOUT, "Answer stopped", str(exc), again, request_id=request_id)
    if isinstance(exc, openai.APIConnectionError | OSError):
        return errors.Problem(errors.Kind.NETWORK, "Connection lost", DROPPED, again, request_id=request_id)
    if isinstance(
        exc, ValueError
    ):  # a malformed event line or garbage bytes: the stream broke, like a cut one
        return errors.Problem(
            errors.Kind.NETWORK, "The answer stream broke", GARBLED, again, request_id=request_id
        )
    if isinstance(exc, openai.APIError) and not isinstance(exc, openai.APIStatusError):
        return errors.Problem(
            errors.Kind.SERVER,
            "Azure stopped the answer",
            str(exc.message or exc),
            again,
            request_id=request_id,
        )
    problem = errors.from_exception(exc, ctx)
    if problem.request_id is None and request_id:
        problem = replace(problem, request_id=request_id)
    return problem


def run_stream(
    open_stream: Callable[[], Any],
    text_of: Callable[[Any], str | None],
    *,
    cancel: CancelToken,
    ctx: errors.Context,
    max_retries: int,
    timeout: float = DEFAULT_TIMEOUT,
) -> Iterator[Event]:
    """Events from an openai `Stream` opened by `open_stream()` (chat or legacy completions).

    Retries (ours) cover opening the stream and its first chunk; after that a failure ends with `Failed`.
    Time bounds (`deadline.Watchdog`): the first chunk must arrive within `timeout` of the call, retries included,
    and no two chunks may be more than `timeout` apart (keep-alive comments do not count).
    """
    state = _State(text_of)
    start_by = time.monotonic() + timeout

    def open_and_peek() -> tuple[Any, Iterator[Any], Any, Watchdog]:
        request = cancel.child()
        dog = Watchdog(request, idle=timeout, deadline=start_by).__enter__()
        stream = None
        try:
            with cancellable(request):
                stream = open_stream()
            close_on_cancel(stream, request)
            it = iter(stream)
            first = next(it, None)
        except BaseException as exc:
            dog.__exit__(None, None, None)
            cancel.forget(request.cancel)
            if stream is not None:
                stream.close()
            if dog.fired and not cancel.cancelled:
                raise timed_out(timeout, started=False) from exc
            raise
        dog.feed()
        return stream, it, first, dog

    try:
        stream, it, first, dog = yield from retrying(
            open_and_peek, cancel=cancel, max_retries=max_retries, ctx=ctx, deadline=start_by
        )
    except Cancelled:
        yield Done("cancelled")
        return
    except errors.ParleyError as exc:
        yield Failed(exc.problem)
        return

    request_id = _request_id(getattr(stream, "response", None))
    yield Started(request_id)
    try:
        chunk = first
        while chunk is not None:
            if cancel.cancelled:
                break
            dog.feed()
            yield from state.handle(chunk)
            chunk = next(it, None)
    except Exception as exc:  # noqa: BLE001 - every failure becomes an event
        if not cancel.cancelled:
            yield from state.final()
            failure = timed_out(timeout, started=True) if dog.fired else exc
            yield Failed(_mid_stream_problem(failure, ctx, request_id))
            return
    finally:
        dog.__exit__(None, None, None)
        cancel.forget(dog.token.cancel)
        stream.close()
    if cancel.cancelled:
        yield Done("cancelled", state.usage, request_id, state.model)
        return
    yield from state.final()
    if dog.fired:  # the cut socket may read as a clean end of stream
        yield Failed(_mid_stream_problem(timed_out(timeout, started=True), ctx, request_id))
        return
    if state.finish_reason is None:
        yield Failed(
            errors.Problem(
                errors.Kind.NETWORK,
                "Connection lost",
                DROPPED,
                "Send again to retry; the partial answer is kept.",
                request_id=request_id,
            )
        )
        return
    yield Done(state.finish_reason, state.usage, request_id, state.model)


def run_whole(
    open_response: Callable[[], Any],
    text_of: Callable[[Any], str | None],
    *,
    cancel: CancelToken,
    ctx: errors.Context,
    max_retries: int,
) -> Iterator[Event]:
    """The same events from one non-streamed response. `open_response()` returns a `with_streaming_response`
    context manager, so the socket is known (and cancellable) before the body is read."""

    def call() -> tuple[Any, str | None]:
        manager = open_response()
        with cancellable(cancel):
            response = manager.__enter__()
        try:
            close_on_cancel(response, cancel)
            return response.parse(), _request_id(response)
        finally:
            manager.__exit__(None, None, None)

    try:
        result, request_id = yield from retrying(call, cancel=cancel, max_retries=max_retries, ctx=ctx)
    except Cancelled:
        yield Done("cancelled")
        return
    except errors.ParleyError as exc:
        yield Failed(exc.problem)
        return
    if cancel.cancelled:
        yield Done("cancelled", request_id=request_id)
        return
    request_id = getattr(result, "_request_id", None) or request_id
    state = _State(text_of)
    yield Started(request_id)
    yield from state.handle(result)
    yield from state.final()
    yield Done(state.finish_reason, state.usage, request_id, state.model)


# ---------------------------------------------------------------------------------------------------------------
# Chat


def _delta_text(choice: Any) -> str | None:
    delta = getattr(choice, "delta", None)
    return getattr(delta, "content", None) if delta is not None else None


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
    """Run one chat completion, streamed (or not, `request.stream=False`), as events. Never raises for Azure failures."""
    kwargs = request.create_kwargs()
    if request.stream:
        yield from run_stream(
            lambda: client.chat.completions.create(
                **kwargs, stream=True, stream_options={"include_usage": True}
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
        )
