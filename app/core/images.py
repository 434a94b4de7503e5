"""Image generation for DALL-E 3 and the gpt-image family: the request shaped per family (`image_options`), the
images decoded (DALL-E's url results downloaded), saved in their format and recorded in the gallery
(`generate_and_store`), and deleted images' files removed once the undo is long past (`purge_deleted`).

`generate` validates the request when called (raising `ParleyError` CONFIG for an option the deployment's family
does not take) and returns a generator of events: `Started`, `Retrying`, a `GeneratedImage` per image, then `Done`;
or `Failed(problem)`; or `Done(finish_reason="cancelled")` when the token fires.
"""

from __future__ import annotations

import base64
import os
import re
import time
import unicodedata
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core import errors, filters, image_options, paths
from app.core.cancel import Cancelled, CancelToken
from app.core.events import Done, Failed, Started
from app.core.image_options import ImageRequest, ImageUsage
from app.core.netio import call_abandonable, guard_response, request_parsed  # noqa: F401 - their old home
from app.core.retry import retrying

if TYPE_CHECKING:
    from app.core.history import History, ImageRecord


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DOWNLOAD_TIMEOUT = 60.0
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
PURGE_AFTER_S = (
    600.0  # a deleted image's file stays this long (the undo lasts seconds; a restart loses nothing)
)
# The seed's names for DALL-E's choices, kept for callers that offer them.
SIZES, QUALITIES = image_options.DALLE_SIZES, image_options.DALLE_QUALITIES
STYLES, RESPONSE_FORMATS = image_options.STYLES, image_options.RESPONSE_FORMATS
MAX_PROMPT_CHARS = image_options.DALLE_MAX_PROMPT


@dataclass(frozen=True)
class GeneratedImage:
    """One image as Azure returned it: `data` is a PNG or a JPEG (`format`); `index` counts the images of one
    request (gpt-image makes up to 10); `usage` is the whole request's image token usage (gpt-image only)."""

    data: bytes
    revised_prompt: str | None
    prompt_verdict: filters.Verdict | None
    content_verdict: filters.Verdict | None
    request_id: str | None
    request: ImageRequest
    format: str = "png"  # png, jpeg or webp: what the bytes are
    index: int = 0
    usage: ImageUsage | None = None
    parent_id: int | None = None  # an edit's source image in the gallery

    @property
    def png(self) -> bytes:
        """The image bytes (the name is DALL-E's, whose images are always PNGs; see `format`)."""
        return self.data

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) from the image's header."""
        return image_size(self.data)


def generate(
    client: Any,
    request: ImageRequest,
    *,
    cancel: CancelToken,
    ctx: errors.Context = errors.Context("images"),
    max_retries: int = 2,
    http_get: Callable[[str], bytes] | None = None,
) -> Iterator[Any]:
    """Validate now (raises `ParleyError` CONFIG, nothing sent), then return the generator of events: one
    `GeneratedImage` per image (gpt-image makes up to `n`)."""
    image_options.validate(request)
    params = image_options.wire_params(request)

    def open_response() -> Any:
        return client.images.with_streaming_response.generate(
            model=request.deployment, prompt=request.prompt, **params
        )

    return run_request(client, request, open_response, cancel, ctx, max_retries, http_get)


def run_request(
    client: Any,
    request: ImageRequest,
    open_response: Callable[[], Any],
    cancel: CancelToken,
    ctx: errors.Context,
    max_retries: int,
    http_get: Callable[[str], bytes] | None = None,
    parent_id: int | None = None,
) -> Iterator[Any]:
    """The events of one images request (a generation or an edit): `Started`, `Retrying`, a `GeneratedImage` per
    image, then `Done`; or `Failed(problem)`; or `Done("cancelled")`. The answer must start within the client's
    timeout, retries included, and its body may not stall longer than that."""
    from app.core.deadline import timeout_of

    family = request.resolved_family
    timeout = timeout_of(client)
    start_by = time.monotonic() + timeout
    try:
        yield Started(None)
        headers, result = yield from retrying(
            lambda: request_parsed(
                open_response, cancel, timeout=timeout, start_by=start_by, member="data", convert=_answer
            ),
            cancel=cancel,
            max_retries=max_retries,
            ctx=ctx,
            deadline=start_by,
        )
        request_id = _header_request_id(headers)
        items, usage = result
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
        for index, item in enumerate(items):
            data = yield from _item_bytes(
                client, item, request_id, cancel, ctx, max_retries, http_get, timeout
            )
            kind = image_format(data)
            if kind is None:
                raise _bad_image("the image is neither a PNG nor a JPEG", request_id)
            extra, revised = item.extra, item.revised_prompt
            content_results = extra.get("content_filter_results")
            content_verdict = (
                filters.completion_verdict(content_results) if isinstance(content_results, dict) else None
            )
            prompt_verdicts = filters.prompt_verdicts(extra.get("prompt_filter_results"))
            prompt_verdict = prompt_verdicts[0] if prompt_verdicts else None
            yield GeneratedImage(
                data,
                revised,
                prompt_verdict,
                content_verdict,
                request_id,
                request,
                format=kind,
                index=index,
                usage=usage,
                parent_id=parent_id,
            )
        yield Done("stop", request_id=request_id, model=request.deployment)
    except Cancelled:
        yield Done("cancelled")
    except errors.ParleyError as exc:
        yield Failed(image_options.family_hint(exc.problem, family, request.deployment))
    except Exception as exc:  # noqa: BLE001 - errors leave a generator as values
        if cancel.cancelled:
            yield Done("cancelled")
        else:
            yield Failed(
                image_options.family_hint(errors.from_exception(exc, ctx), family, request.deployment)
            )


@dataclass(frozen=True)
class _Item:
    """One image of an answer, read: its base64 data or URL, DALL-E's revised prompt, and Azure's extra fields."""

    b64_json: str | None
    url: str | None
    revised_prompt: str | None
    extra: dict[str, Any]


def _answer(result: Any) -> tuple[list[_Item], ImageUsage | None]:
    """An images answer's items and usage; a `netio.SHAPE_ERRORS` error for JSON of another shape (`{"data": "x"}`,
    `{"data": [5]}`), which `request_parsed` quotes as an unexpected reply."""
    data = result.data
    if not isinstance(data, list):
        raise TypeError(f"data is {type(data).__name__}, not a list")
    return [_item(entry) for entry in data], ImageUsage.from_obj(getattr(result, "usage", None))


def _item(entry: Any) -> _Item:
    if entry is None or isinstance(entry, str | bytes | int | float | list):
        raise TypeError(f"an image is {type(entry).__name__}, not an object")
    extra = _extra(entry)

    def text(name: str) -> str | None:
        value = entry.get(name) if isinstance(entry, dict) else getattr(entry, name, None)
        value = extra.get(name) if value is None else value
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} is {type(value).__name__}")
        return value or None

    return _Item(text("b64_json"), text("url"), text("revised_prompt"), extra)


def _item_bytes(
    client: Any,
    item: _Item,
    request_id: str | None,
    cancel: CancelToken,
    ctx: errors.Context,
    max_retries: int,
    http_get: Callable[[str], bytes] | None,
    timeout: float,
) -> Generator[Any, None, bytes]:
    """One answer item's image: its base64 data, or (DALL-E's url answers) the download."""
    if item.b64_json:
        try:
            return base64.b64decode(item.b64_json, validate=False)
        except (ValueError, TypeError) as exc:
            raise _bad_image(f"the image data was not valid base64 ({exc})", request_id) from exc
    if item.url:
        url = item.url
        get = http_get or (lambda u: download(client, u, cancel, timeout=timeout))
        return (
            yield from retrying(
                lambda: get(url),
                cancel=cancel,
                max_retries=max_retries,
                ctx=errors.Context("image download", ctx.deployment, ctx.api_version, ctx.endpoint, ctx.auth),
                deadline=time.monotonic() + timeout,
            )
        )
    raise _bad_image("the answer held neither image data nor a URL", request_id)


def image_format(data: bytes) -> str | None:
    """'png', 'jpeg' or 'webp' from the first bytes, else None."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG, JPEG or WebP header; ValueError when unreadable."""
    from app.core.chat import image_size as header_size

    size = header_size(data)
    if size is None:
        raise ValueError("not an image Parley can read")
    return size


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


EXTENSIONS = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}


def save_image(image: GeneratedImage, folder: str | Path, *, now: float | None = None) -> Path:
    """Write the image into `folder` as `YYYYmmdd-HHMMSS-<prompt slug>.png` (`.jpg` for a JPEG), never overwriting,
    and return the path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    base = f"{stamp}-{slug(image.request.prompt)}"
    ext = EXTENSIONS.get(image.format, ".png")
    for n in range(1, 1000):
        path = folder / (f"{base}{ext}" if n == 1 else f"{base}-{n}{ext}")
        try:
            fd = paths.private_open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)  # 0600 from creation
            with open(fd, "wb") as fh:
                fh.write(image.data)
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


save_png = save_image  # the seed's name (DALL-E's images are PNGs)


@dataclass(frozen=True)
class StoredImage:
    """A generated or edited image, saved in its format and recorded in the gallery (`generate_and_store` and
    `image_edits.edit_and_store` yield it in place of the `GeneratedImage`)."""

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
    options, format and token usage: the events of `generate`, a `StoredImage` where it yields a `GeneratedImage`."""
    events = generate(client, request, cancel=cancel, ctx=ctx, max_retries=max_retries, http_get=http_get)
    return stored(events, history, Path(folder))


def stored(events: Iterator[Any], history: History, folder: Path) -> Iterator[Any]:
    """`events` with each `GeneratedImage` saved into `folder` and recorded in the gallery (an edit with its
    source image as the parent)."""
    for event in events:
        if not isinstance(event, GeneratedImage):
            yield event
            continue
        path = save_image(event, folder)
        record = history.add_image(
            path=str(path),
            prompt=event.request.prompt,
            revised_prompt=event.revised_prompt,
            options=event.request.options(),
            deployment=event.request.deployment,
            format=event.format,
            parent_id=event.parent_id,
            usage=event.usage,
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
