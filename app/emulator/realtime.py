"""The Realtime API's WebSocket on the emulator's own port: the handshake checked in Azure's order (key, route,
api-version, deployment, faults), then frames through `websockets`' sans-I/O `ServerProtocol` and events through
`realtime_protocol.Session`. GA: `/openai/v1/realtime?model=D`; preview: `/openai/realtime?api-version=V&deployment=D`."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections import deque
from typing import Any
from urllib.parse import parse_qs, urlsplit

from app.emulator.catalog import (
    API_VERSIONS,
    DEPLOYMENTS,
    MSG_500,
    MSG_DEPLOYMENT,
    MSG_INVALID_KEY,
    MSG_MISSING_KEY,
)
from app.emulator.realtime_protocol import Session
from app.emulator.wire import REDACTED, RecordedRequest, digest

GA_PATH = "/openai/v1/realtime"
PREVIEW_PATH = "/openai/realtime"
FIRST_PREVIEW_VERSION = "2024-10-01-preview"  # realtime came with this preview api-version
LOG_LIMIT = 5000


def client_events(emu: Any) -> list[dict[str, Any]]:
    """What Realtime clients sent, oldest first: each event as it came, but `audio` as {"bytes": n}, with the
    session it belongs to in `_session` (the test's view of the wire, as `emu.requests` is for HTTP)."""
    with emu._lock:
        return list(_log(emu))


def _log(emu: Any) -> deque[dict[str, Any]]:
    log = emu.__dict__.get("_realtime_log")
    if log is None:
        log = emu.__dict__.setdefault("_realtime_log", deque(maxlen=LOG_LIMIT))
    return log


def _looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def serve_websocket(handler: Any) -> None:
    """Answer a GET with `Upgrade: websocket` on `handler` (the emulator's HTTP handler): refuse it as Azure
    refuses a handshake (an HTTP status with Azure's JSON error), or accept it and run the session until either
    side closes."""
    handler.request_id = str(uuid.uuid4())
    handler.apim_id = str(uuid.uuid4())
    handler.close_connection = True
    try:
        _serve(handler)
    except (OSError, ValueError):
        pass


def _serve(handler: Any) -> None:
    emu = handler.emu
    split = urlsplit(handler.path)
    path = split.path.rstrip("/")
    query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
    headers = {k.lower(): v for k, v in handler.headers.items()}
    api_key = headers.get("api-key", "").strip()
    authz = headers.get("authorization", "").strip()
    scheme = "api-key" if api_key else (authz.split(" ", 1)[0] if authz else None)
    bearer = authz.split(" ", 1)[1].strip() if " " in authz and authz.lower().startswith("bearer ") else ""
    credential = api_key or bearer
    shown = dict(headers)
    if "api-key" in shown:
        shown["api-key"] = REDACTED
    if "authorization" in shown:
        shown["authorization"] = f"{authz.split(' ', 1)[0]} {REDACTED}" if authz else REDACTED
    emu._record(
        RecordedRequest(
            "GET",
            path,
            query,
            shown,
            None,
            0,
            None,
            bool(api_key),
            scheme,
            digest(credential) if credential else None,
        )
    )

    ga = path == GA_PATH
    if not ga and path != PREVIEW_PATH:
        return handler._error(404, {"code": "404", "message": "Resource not found"})
    # Azure's order: the key first. On v1 a key may come as a bearer token (the openai client sends it so); a
    # token that is not a JWT is checked as a key.
    if not credential:
        return handler._error(401, {"code": "401", "message": MSG_MISSING_KEY})
    if emu.api_key is not None:
        as_key = api_key or (bearer if ga and not _looks_like_jwt(bearer) else "")
        if as_key and as_key != emu.api_key:
            return handler._error(401, {"code": "401", "message": MSG_INVALID_KEY})
    version = query.get("api-version", "")
    if ga:
        if version and version not in ("v1", "preview"):
            # A dated api-version on the v1 route: Azure refuses the handshake with 401 (the wording is ours).
            return handler._error(
                401,
                {
                    "code": "401",
                    "message": f"The v1 realtime route takes no dated api-version ('{version}').",
                },
            )
        deployment = query.get("model", "")
    else:
        if version not in API_VERSIONS or not version.endswith("-preview") or version < FIRST_PREVIEW_VERSION:
            return handler._error(404, {"code": "404", "message": "Resource not found"})
        deployment = query.get("deployment", "")
    if not deployment:
        what = "model" if ga else "deployment"
        return handler._invalid(f"Missing required parameter: '{what}'.", what, "missing_required_parameter")
    if deployment not in DEPLOYMENTS:
        return handler._error(404, {"code": "DeploymentNotFound", "message": MSG_DEPLOYMENT})
    kind, model, _ = DEPLOYMENTS[deployment]
    if kind != "realtime":
        return handler._error(
            400,
            {
                "code": "OperationNotSupported",
                "message": (
                    f"The realtime operation does not work with the specified model, {deployment}. Please choose "
                    "different model and try again. You can learn more about which models can be used with each "
                    "operation here: https://go.microsoft.com/fwlink/?linkid=2197993."
                ),
            },
        )
    fault = (headers.get("x-parley-fault") or "").strip().lower() or None
    if fault in ("429", "429once") and (fault == "429" or emu._first_time("rt429" + handler.path)):
        return handler._error(
            429,
            {
                "code": "429",
                "message": (
                    f"Requests to the Realtime Operation under Azure OpenAI API version {version or 'v1'} have "
                    "exceeded token rate limit of your current AIServices S0 pricing tier. Please retry after 1 "
                    "second. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase "
                    "the default rate limit."
                ),
            },
            [("retry-after-ms", "300"), ("retry-after", "1")],
        )
    if fault in ("500", "500once") and (fault == "500" or emu._first_time("rt500" + handler.path)):
        return handler._error(500, {"code": "InternalServerError", "message": MSG_500})
    _Socket(handler, preview=not ga, deployment=deployment, model=model, fault=fault).run()


class _Socket:
    """The accepted WebSocket: frames in on the handler's thread, frames out from any thread under one lock."""

    def __init__(self, handler: Any, *, preview: bool, deployment: str, model: str, fault: str | None):
        from websockets.http11 import Request
        from websockets.server import ServerProtocol

        self.handler = handler
        self.emu = handler.emu
        self.sock: socket.socket = handler.connection
        self.proto = ServerProtocol(max_size=None)
        # http.server has read the request already: hand the protocol the same bytes, so it parses and checks the
        # handshake itself (Sec-WebSocket-Key, version) as it would off the socket.
        lines = [f"GET {handler.path} HTTP/1.1"] + [f"{k}: {v}" for k, v in handler.headers.items()]
        self.proto.receive_data(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        request = self.proto.events_received()[0]
        assert isinstance(request, Request)
        self.request = request
        self._lock = threading.Lock()
        self.session = Session(
            preview=preview,
            deployment=deployment,
            model=model,
            send=self._send_event,
            heard=self.emu._take_heard,
            record_transcript=self.emu._record_transcript,
            token_rate=self.emu.token_rate,
            stopping=self.emu._stopping,
            drop=self._drop,
            fault=fault if fault in ("hang", "cut", "slow", "429", "500") else None,
        )

    def run(self) -> None:
        from websockets.frames import Frame, Opcode

        response = self.proto.accept(self.request)
        for name, value in self.handler._base_headers():
            response.headers[name] = value
        self.proto.send_response(response)
        self._flush()
        if response.status_code != 101:
            return
        self._send_event({"event_id": "", "type": "session.created", "session": self.session.session_json()})
        try:
            while not self.emu._stopping.is_set():
                data = self.handler.rfile.read1(65536)
                if not data:
                    self.proto.receive_eof()
                    break
                with self._lock:
                    self.proto.receive_data(data)
                    frames = self.proto.events_received()
                self._flush()  # pongs and the close handshake's answer
                for frame in frames:
                    if not isinstance(frame, Frame):
                        continue
                    if frame.opcode is Opcode.TEXT:
                        self._receive(bytes(frame.data))
                    elif frame.opcode is Opcode.CLOSE:
                        return
        finally:
            self.session.close()

    def _receive(self, data: bytes) -> None:
        try:
            event = json.loads(data)
        except ValueError:
            event = None
        if isinstance(event, dict):
            logged = dict(event)
            if isinstance(logged.get("audio"), str):
                logged["audio"] = {"bytes": len(logged["audio"]) * 3 // 4}
            logged["_session"] = self.session.id
            with self.emu._lock:
                _log(self.emu).append(logged)
        self.session.receive(event)

    def _send_event(self, event: dict[str, Any]) -> None:
        if not event.get("event_id"):
            event = {**event, "event_id": f"event_{uuid.uuid4().hex[:22]}"}
        data = json.dumps(event).encode()
        with self._lock:
            self.proto.send_text(data)
        self._flush()

    def _flush(self) -> None:
        with self._lock:
            chunks = self.proto.data_to_send()
            if chunks:
                self.sock.sendall(b"".join(chunks))

    def _drop(self) -> None:
        """fault:cut: the TCP connection goes away mid-answer, no close frame."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
