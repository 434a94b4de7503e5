"""Shutting an HTTP response's socket down from another thread, so a cancel wakes a blocked read at once.

`response.close()` from another thread does not wake a thread blocked in `recv()` on the same socket; shutting the
socket down (`SHUT_RDWR`) does: the read returns EOF/raises immediately. httpcore2 exposes the socket through the
response's `network_stream` extension (`get_extra_info("socket")`), which httpx2 passes through to its Response.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

from app.core.cancel import CancelToken


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


def close_on_cancel(response: Any, cancel: CancelToken) -> None:
    """Register with `cancel` a closer that shuts `response`'s socket down (runs at once if already cancelled).

    `response` may be an openai `Stream`, an openai `APIResponse` (from `with_streaming_response`), or an
    httpx2 `Response`. When no socket can be found the response is closed instead.
    """
    cancel.on_cancel(lambda: shutdown(response))
