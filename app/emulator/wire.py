"""The emulator's wire: the threaded HTTP server, the request record, and the handler plumbing every route uses."""

from __future__ import annotations

import hashlib
import json
import select
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from app.emulator.catalog import MAX_UPLOAD

REDACTED = "<redacted>"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as it arrived. Secrets are never kept: `api-key` reads "<redacted>" and `authorization`
    reads "<scheme> <redacted>"; `had_api_key`, `auth_scheme` and `used_key()` say what was sent."""

    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    json: Any
    body_size: int
    form: dict[str, Any] | None = None  # multipart: field -> value, or (filename, size) for files
    had_api_key: bool = False
    auth_scheme: str | None = None  # "api-key", "Bearer", another scheme, or None
    credential_digest: str | None = field(default=None, repr=False)

    @property
    def files(self) -> dict[str, tuple[str, int]]:
        return {k: v for k, v in (self.form or {}).items() if isinstance(v, tuple)}

    def used_key(self, secret: str) -> bool:
        """Whether the api-key (or bearer token) sent was `secret`, without the emulator keeping it."""
        return self.credential_digest is not None and self.credential_digest == digest(secret)


def digest(secret: str) -> str:
    return hashlib.blake2b(secret.encode("utf-8"), digest_size=16, person=b"parley-emu").hexdigest()


class Abort(Exception):
    """The client went away or the server is stopping: drop this response."""


class WireServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, addr, handler, emulator: Any):
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(addr, handler)

    def handle_error(self, request, client_address):  # noqa: D401 - quiet: dropped connections are normal
        pass


class WireHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 plumbing every route shares: Azure's headers, JSON and error bodies, chunked streams and SSE,
    pacing that stops with the server, dropped connections, and reading the request body."""

    protocol_version = "HTTP/1.1"
    server_version = "ParleyEmulator/1.0"
    sys_version = ""
    server: WireServer
    request_id: str
    apim_id: str
    api_version: str
    request_json: Any

    # -- plumbing -----------------------------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.conn_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.conn_lock:
            self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    @property
    def emu(self) -> Any:
        return self.server.emulator

    def do_GET(self) -> None:
        if (self.headers.get("Upgrade") or "").lower() == "websocket":  # the Realtime API (realtime.py)
            from app.emulator.realtime import serve_websocket

            return serve_websocket(self)
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        self.request_id = str(uuid.uuid4())
        self.apim_id = str(uuid.uuid4())
        try:
            self._handle(method)
        except Abort:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True

    def _handle(self, method: str) -> None:  # the checks and routes: app.emulator.server.Handler
        raise NotImplementedError

    def _base_headers(self) -> list[tuple[str, str]]:
        return [
            ("x-request-id", self.request_id),
            ("apim-request-id", self.apim_id),
            ("x-ms-region", "Emulator"),
            ("x-content-type-options", "nosniff"),
        ]

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str,
        headers: list[tuple[str, str]] | None = None,
        cut: bool = False,
    ) -> None:
        self.send_response(status)
        for k, v in self._base_headers() + (headers or []):
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if cut:
            self.wfile.write(body[: max(1, int(len(body) * 0.3))])
            self._cut()
        self.wfile.write(body)

    def _json(
        self, status: int, obj: Any, headers: list[tuple[str, str]] | None = None, cut: bool = False
    ) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json", headers, cut)

    def _error(self, status: int, err: dict[str, Any], headers: list[tuple[str, str]] | None = None) -> None:
        self._json(status, {"error": err}, headers)

    def _cut(self) -> None:
        """Drop the connection abruptly (fault:cut)."""
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True
        raise Abort()

    def _start_stream(self, ctype: str, headers: list[tuple[str, str]] | None = None) -> None:
        self.send_response(200)
        for k, v in self._base_headers() + (headers or []):
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        if self.emu._stopping.is_set():
            raise Abort()
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def _sse(self, obj: Any) -> None:
        self._chunk(b"data: " + json.dumps(obj).encode() + b"\n\n")

    def _client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if readable:
                return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True
        return False

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            if self.emu._stopping.is_set():
                raise Abort()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.05))

    def _hang(self) -> None:
        while not self.emu._stopping.is_set():
            if self._client_gone():
                break
            time.sleep(0.05)
        self.close_connection = True
        raise Abort()

    # -- request intake -----------------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
                if len(out) > MAX_UPLOAD:
                    raise Abort()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _drain(self, length: int) -> None:
        """Read and drop an unwanted body so the client sees our answer instead of a reset."""
        self.connection.settimeout(5)
        left = length
        try:
            while left > 0:
                got = self.rfile.read(min(left, 1 << 20))
                if not got:
                    break
                left -= len(got)
        except OSError:
            pass

    def _invalid(self, message: str, param: str | None = None, code: str | None = None) -> None:
        self._error(400, {"message": message, "type": "invalid_request_error", "param": param, "code": code})
