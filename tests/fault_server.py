"""A tiny HTTP server that misbehaves in ways the emulator (which is faithful to Azure) never does: garbled event
streams, non-JSON bodies, bodies that stall or are cut, keys echoed back. Each test hands it one function that writes
the raw answer (to every POST, and to every GET unless `get` is given)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[BaseHTTPRequestHandler], None]


class FaultServer:
    def __init__(self, answer: Answer, get: Answer | None = None):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("content-length") or 0))
                outer.requests += 1
                answer(self)

            def do_GET(self) -> None:  # noqa: N802
                outer.requests += 1
                outer.gets += 1
                (get or answer)(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.requests = 0
        self.gets = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/"

    def __enter__(self) -> FaultServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def sse(handler: BaseHTTPRequestHandler, *events: bytes) -> None:
    """A 200 event stream made of `events`, each written as it is (so a test can send garbage)."""
    handler.send_response(200)
    handler.send_header("content-type", "text/event-stream")
    handler.send_header("connection", "close")
    handler.end_headers()
    for event in events:
        handler.wfile.write(event)
        handler.wfile.flush()
    handler.close_connection = True


def body(handler: BaseHTTPRequestHandler, status: int, data: bytes, ctype: str = "application/json") -> None:
    handler.send_response(status)
    handler.send_header("content-type", ctype)
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def chunk(text: str) -> bytes:
    """One chat.completion.chunk event carrying `text`."""
    import json

    obj = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}],
    }
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def hang(handler: BaseHTTPRequestHandler, seconds: float = 30.0) -> None:
    """Accept the request, then send nothing (a server that hangs before its headers), until the client leaves."""
    import select

    select.select([handler.connection], [], [], seconds)


def trickle(handler: BaseHTTPRequestHandler, first: bytes, seconds: float = 30.0) -> None:
    """Headers and `first`, then only keep-alive comments every 0.2 s: a slowloris stream that never ends."""
    import time

    sse(handler, first)
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            handler.wfile.write(b": keep-alive\n\n")
            handler.wfile.flush()
            time.sleep(0.2)
    except OSError:
        pass


def stall(
    handler: BaseHTTPRequestHandler, head: bytes, seconds: float = 30.0, ctype: str = "application/json"
) -> None:
    """Headers announcing a body longer than `head`, then `head`, then nothing: a body that stalls mid-way."""
    import select

    handler.send_response(200)
    handler.send_header("content-type", ctype)
    handler.send_header("content-length", str(len(head) + 100_000))
    handler.end_headers()
    handler.wfile.write(head)
    handler.wfile.flush()
    select.select([handler.connection], [], [], seconds)
    handler.close_connection = True


def cut(handler: BaseHTTPRequestHandler, head: bytes, ctype: str = "application/json") -> None:
    """Headers announcing a longer body, `head`, then the connection is closed: a body cut mid-way."""
    import socket

    handler.send_response(200)
    handler.send_header("content-type", ctype)
    handler.send_header("content-length", str(len(head) + 100_000))
    handler.end_headers()
    handler.wfile.write(head)
    handler.wfile.flush()
    handler.connection.shutdown(socket.SHUT_RDWR)
    handler.close_connection = True


def finish(text: str = "", model: str = "gpt-4o") -> bytes:
    """The last chat.completion.chunk (finish_reason stop) and [DONE]."""
    import json

    obj = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": "stop"}],
    }
    return b"data: " + json.dumps(obj).encode() + b"\n\ndata: [DONE]\n\n"
