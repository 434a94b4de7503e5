"""DALL-E 3 image generation: options checked before sending, revised prompt and filter verdicts parsed, a PNG
always returned (url results are downloaded), saved under a readable file name and recorded in the gallery
(`generate_and_store`), and deleted images' files removed once the undo is long past (`purge_deleted`).

`generate` validates the request when called (raising `ParleyError` CONFIG for an option DALL-E 3 does not take)
and returns a generator of events: `Started`, `Retrying`, `GeneratedImage`, then `Done`; or `Failed(problem)`; or
`Done(finish_reason="cancelled")` when the token fires.
"""

from __future__ import annotations

import base64
import re
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core import errors, filters
from app.core.cancel import Cancelled, CancelToken
from app.core.events import Done, Failed, Started
from app.core.netio import call_abandonable, guard_response, request_parsed  # noqa: F401 - their old home
from app.core.retry import retrying

if TYPE_CHECKING:
    from app.core.history import History, ImageRecord

SIZES = ("1024x1024", "1792x1024", "1024x1792")
QUALITIES = ("standard", "hd")
STYLES = ("vivid", "natural")
RESPONSE_FORMATS = ("b64_json", "url")
MAX_PROMPT_CHARS = 4000  # DALL-E 3's prompt limit
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DOWNLOAD_TIMEOUT = 60.0
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
PURGE_AFTER_S = (
    600.0  # a deleted image's file stays this long (the undo lasts seconds; a restart loses nothing)
)


@dataclass(frozen=True)
class ImageRequest:
    deployment: str
    prompt: str
    size: str = "1024x1024"
    quality: str = "standard"
    style: str = "vivid"
    response_format: str = "b64_json"


@dataclass(frozen=True)
class GeneratedImage:
    png: bytes
    revised_prompt: str | None
    prompt_verdict: filters.Verdict | None
    content_verdict: filters.Verdict | None
    request_id: str | None
    request: ImageRequest

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) from the PNG header."""
        return png_size(self.png)


def _config(title: str, detail: str, action: str) -> errors.ParleyError:
    return errors.ParleyError(errors.Problem(errors.Kind.CONFIG, title, detail, action))


def validate(request: ImageRequest) -> None:
    """Raise `ParleyError` CONFIG when the request cannot be sent to DALL-E 3 as it is."""
    if not (request.deployment or "").strip():
        raise _config(
            "No images deployment",
            "No DALL-E deployment is set for this profile.",
            "Enter the images deployment name (e.g. dall-e-3) in Settings.",
        )
    if not (request.prompt or "").strip():
        raise _config(
            "Nothing to draw", "The image prompt is empty.", "Type a description of the image first."
        )
    if len(request.prompt) > MAX_PROMPT_CHARS:
        raise _config(
            "Prompt too long",
            f"The prompt has {len(request.prompt)} characters; DALL-E 3 takes at most {MAX_PROMPT_CHARS}.",
            "Shorten the description.",
        )
    for name, value, allowed in (
        ("size", request.size, SIZES),
        ("quality", request.quality, QUALITIES),
        ("style", request.style, STYLES),
        ("response format", request.response_format, RESPONSE_FORMATS),
    ):
        if value not in allowed:
            raise _config(
                f"Unsupported image {name}",
                f"DALL-E 3 does not offer {name} '{value}'.",
                f"Choose one of: {', '.join(allowed)}.",
            )


def generate(
    client: Any,
    request: ImageRequest,
    *,
    cancel: CancelToken,
    ctx: errors.Context = errors.Context("images"),
    max_retries: int = 2,
    http_get: Callable[[str], bytes] | None = None,
) -> Iterator[Any]:
    """Validate now (raises `ParleyError` CONFIG), then return the generator of events for one image."""
    validate(request)
    return _generate(client, request, cancel, ctx, max_retries, http_get)


def _generate(
    client: Any,
    request: ImageRequest,
    cancel: CancelToken,
    ctx: errors.Context,
    max_retries: int,
    http_get: Callable[[str], bytes] | None,
) -> Iterator[Any]:
    from app.core.deadline import timeout_of

    timeout = timeout_of(client)
    start_by = time.monotonic() + timeout

    def call() -> tuple[Any, Any]:
        return request_parsed(
            lambda: client.images.with_streaming_response.generate(
                model=request.deployment,
                prompt=request.prompt,
                n=1,
                size=request.size,
                quality=request.quality,
                style=request.style,
                response_format=request.response_format,
            ),
            cancel,
            timeout=timeout,
            start_by=start_by,
        )

    try:
        yield Started(None)
        headers, result = yield from retrying(
            call, cancel=cancel, max_retries=max_retries, ctx=ctx, deadline=start_by
        )
        request_id = _header_request_id(headers)
        items = list(getattr(result, "data", None) or [])
        if not items:
            raise errors.ParleyError(
                errors.Problem(
                    errors.Kind.OTHER,
                    "No image came back",
                    "Azure answered without an image.",
                    "Try again; if it persists, report it with the request id.",
                    request_id=request_id,
                )
            )
        item = items[0]
        extra = _extra(item)
        revised = getattr(item, "revised_prompt", None) or extra.get("revised_prompt")
        content_results = extra.get("content_filter_results")
        content_verdict = (
            filters.completion_verdict(content_results) if isinstance(content_results, dict) else None
        )
        prompt_verdicts = filters.prompt_verdicts(extra.get("prompt_filter_results"))
        prompt_verdict = prompt_verdicts[0] if prompt_verdicts else None
        if getattr(item, "b64_json", None):
            try:
                png = base64.b64decode(item.b64_json, validate=False)
            except (ValueError, TypeError) as exc:
                raise _bad_image(f"the image data was not valid base64 ({exc})", request_id) from exc
        elif getattr(item, "url", None):
            url = str(item.url)
            get = http_get or (lambda u: download(client, u, cancel, timeout=timeout))
            png = yield from retrying(
                lambda: get(url),
                cancel=cancel,
                max_retries=max_retries,
                ctx=errors.Context("image download", ctx.deployment, ctx.api_version, ctx.endpoint, ctx.auth),
                deadline=time.monotonic() + timeout,
            )
        else:
            raise _bad_image("the answer held neither image data nor a URL", request_id)
        if not png.startswith(PNG_SIGNATURE):
            raise _bad_image("the image is not a PNG", request_id)
        yield GeneratedImage(png, revised, prompt_verdict, content_verdict, request_id, request)
        yield Done("stop", request_id=request_id, model=request.deployment)
    except Cancelled:
        yield Done("cancelled")
    except errors.ParleyError as exc:
        yield Failed(exc.problem)
    except Exception as exc:  # noqa: BLE001 - errors leave a generator as values
        if cancel.cancelled:
            yield Done("cancelled")
        else:
            yield Failed(errors.from_exception(exc, ctx))


def _bad_image(detail: str, request_id: str | None) -> errors.ParleyError:
    return errors.ParleyError(
        errors.Problem(
            errors.Kind.OTHER,
            "Unexpected image",
            f"Azure's answer could not be used: {detail}.",
            "Try again; if it persists, report it with the request id.",
            request_id=request_id,
        )
    )


def _extra(item: Any) -> dict[str, Any]:
    extra = getattr(item, "model_extra", None)
    if isinstance(extra, dict):
        return extra
    if isinstance(item, dict):
        return item
    return {}


def _header_request_id(headers: Any) -> str | None:
    if headers is None:
        return None
    return headers.get("apim-request-id") or headers.get("x-request-id")


def download(
    client: Any, url: str, cancel: CancelToken | None = None, *, timeout: float | None = None
) -> bytes:
    """GET `url` (an Azure blob SAS link) with the client's own HTTP transport; no Azure credentials are sent.

    Bounded like every request (`deadline.watched`, the client's timeout unless `timeout` is given): the headers
    within it, and no silence longer than it while the image arrives; a stall raises a retryable TimeoutError."""
    from app.core.deadline import timeout_of, watched

    http = getattr(client, "_client", None)
    if http is None or not hasattr(http, "stream"):
        return _urllib_get(url)
    seconds = timeout if timeout is not None else timeout_of(client)

    def get(request: CancelToken, feed: Callable[[], None]) -> bytes:
        from app.core.netio import cancellable

        with (
            cancellable(request),
            http.stream("GET", url, timeout=seconds, follow_redirects=True) as response,
        ):
            feed()
            release = guard_response(response, request)
            try:
                return _read_download(response, request, feed)
            finally:
                release()

    return watched(get, cancel or CancelToken(), timeout=seconds, start_by=time.monotonic() + seconds)


def _read_download(
    response: Any, cancel: CancelToken | None, feed: Callable[[], None] = lambda: None
) -> bytes:
    if response.status_code >= 400:
        response.read()
        raise _download_error(response.status_code, response.headers)
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        feed()
        if cancel is not None and cancel.cancelled:
            raise Cancelled()
        total += len(chunk)
        if total > MAX_DOWNLOAD_BYTES:
            raise _bad_image("the image download is too large", None)
        chunks.append(chunk)
    return b"".join(chunks)


def _download_error(status: int, headers: Any) -> errors.ParleyError:
    if status >= 500 or status in (408, 429):
        problem = errors.from_status(status, None, headers, None, errors.Context("image download"))
        return errors.ParleyError(problem)
    return errors.ParleyError(
        errors.Problem(
            errors.Kind.NOT_FOUND if status in (403, 404) else errors.Kind.BAD_REQUEST,
            "Image download failed",
            f"The image link answered {status}; Azure keeps generated images for 24 hours.",
            "Generate the image again (choose b64_json to receive it directly).",
            status=status,
        )
    )


def _urllib_get(url: str) -> bytes:  # pragma: no cover - the openai client always has a transport
    import urllib.request

    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as resp:  # noqa: S310 - https blob link
        return resp.read(MAX_DOWNLOAD_BYTES + 1)


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; ValueError if `data` is not a PNG."""
    if not data.startswith(PNG_SIGNATURE) or len(data) < 24 or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def slug(text: str, max_len: int = 40) -> str:
    """A short, file-name-safe form of a prompt: 'A rabbit eating pancakes!' -> 'a-rabbit-eating-pancakes'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(words) > max_len:
        words = words[:max_len].rsplit("-", 1)[0] or words[:max_len]
    return words.strip("-") or "image"


def save_png(image: GeneratedImage, folder: str | Path, *, now: float | None = None) -> Path:
    """Write the PNG into `folder` as `YYYYmmdd-HHMMSS-<prompt slug>.png` (never overwriting) and return the path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    base = f"{stamp}-{slug(image.request.prompt)}"
    for n in range(1, 1000):
        path = folder / (f"{base}.png" if n == 1 else f"{base}-{n}.png")
        try:
            with open(path, "xb") as fh:
                fh.write(image.png)
            return path
        except FileExistsError:
            continue
    raise errors.ParleyError(
        errors.Problem(
            errors.Kind.OTHER,
            "Could not save the image",
            f"Too many images named {base} in {folder}.",
            "Choose another folder.",
        )
    )


@dataclass(frozen=True)
class StoredImage:
    """A generated image, saved as a PNG and recorded in the gallery (`generate_and_store` yields it in place of
    the `GeneratedImage`)."""

    image: GeneratedImage
    record: ImageRecord


def generate_and_store(
    client: Any,
    request: ImageRequest,
    history: History,
    folder: str | Path,
    *,
    cancel: CancelToken,
    ctx: errors.Context = errors.Context("images"),
    max_retries: int = 2,
    http_get: Callable[[str], bytes] | None = None,
) -> Iterator[Any]:
    """`generate` (validating now), with each image saved into `folder` and added to `history`'s gallery with its
    options: the events of `generate`, a `StoredImage` where it yields a `GeneratedImage`."""
    events = generate(client, request, cancel=cancel, ctx=ctx, max_retries=max_retries, http_get=http_get)
    return _stored(events, request, history, Path(folder))


def _stored(events: Iterator[Any], request: ImageRequest, history: History, folder: Path) -> Iterator[Any]:
    for event in events:
        if not isinstance(event, GeneratedImage):
            yield event
            continue
        path = save_png(event, folder)
        record = history.add_image(
            path=str(path),
            prompt=request.prompt,
            revised_prompt=event.revised_prompt,
            options={
                "size": request.size,
                "quality": request.quality,
                "style": request.style,
                "response_format": request.response_format,
            },
            deployment=request.deployment,
        )
        yield StoredImage(event, record)


def purge_deleted(history: History, older_than_seconds: float | None = None) -> list[Path]:
    """Forget gallery images deleted at least `older_than_seconds` (PURGE_AFTER_S) ago and remove their PNGs;
    returns the paths removed (a file already gone is not an error)."""
    age = PURGE_AFTER_S if older_than_seconds is None else older_than_seconds
    removed = []
    for name in history.purge_deleted_images(age):
        path = Path(name)
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError:  # read-only or in use: the record is gone, the file stays for the user to remove
            continue
        removed.append(path)
    return removed
