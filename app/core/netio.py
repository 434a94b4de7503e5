"""Shutting an HTTP response's socket down from another thread, so a cancel wakes a blocked read at once.

`response.close()` from another thread does not wake a thread blocked in `recv()` on the same socket; shutting the
socket down (`SHUT_RDWR`) does: the read returns EOF/raises immediately. httpcore2 exposes the socket through the
response's `network_stream` extension (`get_extra_info("socket")`), which httpx2 passes through to its Response.

Before the response headers arrive there is no response yet (Azure may queue a request for a long time). For that
stretch, wrap the blocking call in `with cancellable(cancel):`; `build_client` installs `request_hook` on the
client's httpx2 client, which adds an httpcore2 trace callback to each request made inside that block. When the
request's headers are about to be sent, the callback finds the connection's socket and registers its shutdown with
the token, disarmed again when the block ends (the connection may go back to the pool and serve someone else).

`request_parsed` puts it together for one non-streamed request: cancellable at every stage and, with a timeout,
bounded like a chat stream (`deadline.watched`).
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, TypeVar

from app.core.cancel import Cancelled, CancelToken

T = TypeVar("T")


def http_response_of(response: Any) -> Any:
    """The httpx2 response behind an openai `Stream`, an `APIResponse` (`with_streaming_response`) or itself."""
    seen = 0
    while response is not None and seen < 5:
        seen += 1
        if hasattr(response, "extensions") and hasattr(response, "iter_bytes"):
            return response  # an httpx2.Response
        inner = getattr(response, "http_response", None)  # APIResponse / LegacyAPIResponse
        if inner is None:
            inner = getattr(response, "response", None)  # openai Stream
        if inner is None or inner is response:
            return response
        response = inner
    return response


def socket_of(response: Any) -> socket.socket | None:
    """The OS socket under an HTTP response, or None when it cannot be found (e.g. a mocked transport)."""
    http = http_response_of(response)
    extensions = getattr(http, "extensions", None) or {}
    stream = extensions.get("network_stream") if isinstance(extensions, dict) else None
    if stream is None:
        return None
    get = getattr(stream, "get_extra_info", None)
    if get is None:
        return None
    try:
        sock = get("socket")
    except Exception:  # noqa: BLE001 - an exotic stream; fall back to close()
        return None
    return sock if isinstance(sock, socket.socket) else None


def shutdown(response: Any) -> None:
    """Shut the socket down (wakes a blocked reader, whose own thread then cleans up); close() if no socket. Never raises."""
    sock = socket_of(response)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        return
    close = getattr(response, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):
            close()


def read_body(response: Any, feed: Callable[[], None]) -> None:
    """Read a response's body chunk by chunk, calling `feed()` for each (a watchdog's), and keep it where
    `response.read()`/`parse()` find it: a body that stalls half-way is then cut like a silent stream."""
    http = http_response_of(response)
    if not hasattr(http, "iter_bytes") or hasattr(http, "_content"):
        return
    chunks = []
    for chunk in http.iter_bytes():
        feed()
        chunks.append(chunk)
    http._content = b"".join(chunks)  # httpx2's own cache of the read body: read() returns it


SAMPLED_BYTES = 1 << 20  # of a reply that is not an answer: its start is quoted, the rest not worth the wait


def body_start(response: Any) -> tuple[bytes, int]:
    """The start of a response's body (up to `SAMPLED_BYTES`) and its length: Content-Length when given, else what
    was read (for a longer body without one, at least that)."""
    http = http_response_of(response)
    if hasattr(http, "_content"):
        return http.content[:SAMPLED_BYTES], len(http.content)
    chunks, total = [], 0
    for chunk in http.iter_bytes():
        chunks.append(chunk)
        total += len(chunk)
        if total >= SAMPLED_BYTES:
            break
    length = str(http.headers.get("content-length") or "")
    return b"".join(chunks)[:SAMPLED_BYTES], int(length) if length.isdigit() else total


def parsed(response: Any, member: str | None = None) -> Any:
    """`response.parse()` of a JSON object (with `member`, when given), else `errors.UnexpectedReply`: openai hands a
    200 that is not JSON (a proxy's or captive portal's page) back as its text, and makes a model of any JSON
    without looking, so either would pass for an empty answer."""
    from app.core import errors

    http = http_response_of(response)
    ctype = http.headers.get("content-type")
    if "json" not in str(ctype or "").split(";")[0]:
        raise errors.UnexpectedReply(ctype, *body_start(http))
    result = response.parse()
    if isinstance(result, str | bytes | int | float | list) or result is None:
        raise errors.UnexpectedReply(ctype, *body_start(http))
    if member and (result.get(member) if isinstance(result, dict) else getattr(result, member, None)) is None:
        raise errors.UnexpectedReply(ctype, *body_start(http))
    return result


# What reading a reply of the wrong shape raises: a number where a list was due, a list of numbers where objects were.
SHAPE_ERRORS = (TypeError, AttributeError, KeyError, IndexError, ValueError)


def shaped(response: Any, convert: Callable[[Any], T], member: str | None = None) -> T:
    """`convert(parsed(response, member))`: where replies are turned into results. JSON of another shape (`{"data": 5}`)
    that `convert` cannot read is `errors.UnexpectedReply` quoting the body, like a page, not a TypeError."""
    import json

    from app.core import errors

    try:
        return convert(parsed(response, member))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise  # mangled bytes: `errors.from_exception` says so, and they are worth another try
    except SHAPE_ERRORS as exc:  # openai's model of the body, or `convert`, could not read it
        http = http_response_of(response)
        raise errors.UnexpectedReply(http.headers.get("content-type"), *body_start(http)) from exc


def expect_binary(response: Any) -> None:
    """`errors.UnexpectedReply` for a 200 of text, JSON or a page (a proxy's) where bytes (audio) were due."""
    from app.core import errors

    ctype = str(http_response_of(response).headers.get("content-type") or "").lower()
    if ctype.startswith("text/") or any(word in ctype for word in ("json", "html", "xml")):
        raise errors.UnexpectedReply(ctype, *body_start(response))


def close_on_cancel(response: Any, cancel: CancelToken) -> None:
    """Register with `cancel` a closer that shuts `response`'s socket down (runs at once if already cancelled).

    `response` may be an openai `Stream`, an openai `APIResponse` (from `with_streaming_response`), or an
    httpx2 `Response`. When no socket can be found the response is closed instead. Once the response is closed
    (read to the end) the closer does nothing, as its connection may be serving another request by then.
    """
    http = http_response_of(response)

    def closer() -> None:
        if getattr(http, "is_closed", False):
            return
        shutdown(response)

    cancel.on_cancel(closer)


# -- before the response: the trace hook ---------------------------------------------------------------------------

_local = threading.local()


class _Armed:
    """Closers registered inside one `cancellable` block; they act only while the block runs."""

    def __init__(self, cancel: CancelToken):
        self.cancel = cancel
        self.active = True
        self.lock = threading.Lock()

    def watch(self, sock: socket.socket) -> None:
        def closer() -> None:
            with self.lock:
                if not self.active:
                    return
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        self.cancel.on_cancel(closer)


@contextlib.contextmanager
def cancellable(cancel: CancelToken) -> Iterator[None]:
    """Requests made by this thread inside the block are shut down when `cancel` fires, even before their headers.

    Needs a client from `app.core.client.build_client` (which installs `request_hook`).
    """
    armed = _Armed(cancel)
    previous = getattr(_local, "armed", None)
    _local.armed = armed
    try:
        yield
    finally:
        _local.armed = previous
        with armed.lock:
            armed.active = False


def _socket_from_frames() -> socket.socket | None:
    """The socket of the httpcore2 connection whose `handle_request` is running (the trace callback's caller)."""
    frame: FrameType | None = sys._getframe(2)
    for _ in range(8):
        if frame is None:
            return None
        owner = frame.f_locals.get("self")
        stream = getattr(owner, "_network_stream", None)
        if stream is not None and hasattr(stream, "get_extra_info"):
            with contextlib.suppress(Exception):
                sock = stream.get_extra_info("socket")
                if isinstance(sock, socket.socket):
                    return sock
            return None
        frame = frame.f_back
    return None


def request_hook(request: Any) -> None:
    """An httpx2 `request` event hook: inside `cancellable`, trace the request so its socket can be shut down."""
    armed = getattr(_local, "armed", None)
    if armed is None:
        return
    inner = request.extensions.get("trace")

    def trace(event: str, info: dict[str, Any]) -> None:
        if event.endswith("send_request_headers.started"):
            sock = _socket_from_frames()
            if sock is not None:
                armed.watch(sock)
        if inner is not None:
            inner(event, info)

    request.extensions["trace"] = trace


def install(http_client: Any) -> Any:
    """Add `request_hook` to an httpx2 client's request hooks (idempotent); returns the client."""
    hooks = http_client.event_hooks
    if request_hook not in hooks["request"]:
        hooks["request"].append(request_hook)
        http_client.event_hooks = hooks
    return http_client


# -- one request, cancellable and bounded in time at every stage ----------------------------------------------------


def call_abandonable(call: Callable[[], T], cancel: CancelToken, *, poll: float = 0.05) -> T:
    """Run a blocking request in a helper thread so a cancel returns at once (raises `Cancelled`).

    A request still waiting for its response headers has no socket we can reach to shut down; the helper thread
    finishes (or fails) on its own and its result is dropped.
    """
    cancel.raise_if_cancelled()
    box: dict[str, Any] = {}
    finished = threading.Event()

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=run, name="parley-request", daemon=True).start()
    while not finished.wait(poll):
        if cancel.cancelled:
            raise Cancelled()
    if "error" in box:
        raise box["error"]
    return box["value"]


def guard_response(response: Any, cancel: CancelToken) -> Callable[[], None]:
    """Shut `response`'s socket down if `cancel` fires before the returned `release()` is called.

    `netio.close_on_cancel` without the release: once a response is finished its connection goes back to the
    client's pool, and a late cancel of this job must not shut down a socket another request is now using.
    """
    state = {"live": True}

    def close() -> None:
        if state["live"]:
            shutdown(response)

    cancel.on_cancel(close)

    def release() -> None:
        state["live"] = False

    return release


def request_parsed(
    open_response: Callable[[], Any],
    cancel: CancelToken,
    *,
    timeout: float | None = None,
    start_by: float | None = None,
    member: str | None = None,
    convert: Callable[[Any], Any] | None = None,
) -> tuple[Any, Any]:
    """(headers, parsed body) of an openai `with_streaming_response` call, cancellable at every stage: while waiting
    for headers (the helper thread is abandoned) and while reading the body (the socket is shut down). The body must
    be a JSON object with `member` (`parsed`), else `errors.UnexpectedReply`; with `convert`, the body is
    `convert(body)`, and a body it cannot read is an `errors.UnexpectedReply` too (`shaped`).

    With `timeout` it is bounded like a chat stream (`deadline.watched`): the headers must come by `start_by` and the
    body may not fall silent for `timeout` seconds; either raises a retryable TimeoutError."""
    if timeout is None:
        return call_abandonable(lambda: _read_parsed(open_response, cancel, None, member, convert), cancel)
    from app.core.deadline import watched

    return watched(
        lambda request, feed: call_abandonable(
            lambda: _read_parsed(open_response, request, feed, member, convert), request
        ),
        cancel,
        timeout=timeout,
        start_by=start_by,
    )


def _same(value: Any) -> Any:
    return value


def _read_parsed(
    open_response: Callable[[], Any],
    cancel: CancelToken,
    feed: Callable[[], None] | None,
    member: str | None,
    convert: Callable[[Any], Any] | None = None,
) -> tuple[Any, Any]:
    with open_response() as response:
        release = guard_response(response, cancel)
        try:
            if feed is not None:
                feed()  # the headers came
                read_body(response, feed)
            return response.headers, shaped(response, convert or _same, member)
        finally:
            release()
