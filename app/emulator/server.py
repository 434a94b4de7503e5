"""The emulator: Azure's checks in Azure's order, routing to the operations, faults, and its start, stop and state."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
import uuid
from collections import deque
from typing import Any
from urllib.parse import parse_qs, urlsplit

from app.emulator import content
from app.emulator.catalog import (
    API_VERSIONS,
    DEPLOYMENT_RE,
    DEPLOYMENTS,
    MAX_UPLOAD,
    MSG_500,
    MSG_DEPLOYMENT,
    MSG_INVALID_KEY,
    MSG_MISSING_KEY,
    OPERATIONS,
    V1_PREFIX,
)
from app.emulator.content import Directives
from app.emulator.jobs import Store
from app.emulator.jobs_ops import JobsOps
from app.emulator.media_ops import MediaOps
from app.emulator.multipart import parse_multipart
from app.emulator.text_ops import TextOps
from app.emulator.wire import REDACTED, Abort, RecordedRequest, WireServer, digest


class Handler(TextOps, MediaOps, JobsOps):
    """One request: check it as Azure does (key, api-version, route, deployment, body), then hand it on."""

    def _handle(self, method: str) -> None:
        split = urlsplit(self.path)
        path = split.path
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        api_key = headers.get("api-key", "").strip()
        authz = headers.get("authorization", "").strip()
        scheme = "api-key" if api_key else (authz.split(" ", 1)[0] if authz else None)
        credential = api_key or (authz.split(" ", 1)[1].strip() if " " in authz else "")
        shown = dict(headers)
        if "api-key" in shown:
            shown["api-key"] = REDACTED
        if "authorization" in shown:
            shown["authorization"] = f"{authz.split(' ', 1)[0]} {REDACTED}" if authz else REDACTED
        length = int(headers.get("content-length") or 0)

        def record(js: Any = None, size: int = 0, form: dict | None = None) -> None:
            self.emu._record(
                RecordedRequest(
                    method,
                    path,
                    query,
                    shown,
                    js,
                    size,
                    form,
                    bool(api_key),
                    scheme,
                    digest(credential) if credential else None,
                )
            )

        if length > MAX_UPLOAD:  # decided before reading the body, as Azure's gateway does
            record(None, length)
            self.close_connection = True
            self._error(
                413,
                {
                    "message": f"Maximum content size limit ({MAX_UPLOAD}) exceeded ({length} bytes read)",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                },
            )
            self._drain(length)
            return
        body = self._read_body()
        ctype = headers.get("content-type", "")
        js: Any = None
        form: dict[str, Any] | None = None
        files: dict[str, tuple[str, bytes]] = {}
        bad_json = False
        if body and "multipart/form-data" in ctype:
            form, files = parse_multipart(body, ctype)
        elif body:
            try:
                js = json.loads(body)
            except ValueError:
                bad_json = True
        record(js, len(body), form)
        self.request_json = js

        if method == "GET" and path.startswith("/openai/emulator/images/"):
            return self._serve_image(path)
        # Azure's order: key, then api-version, then the route and deployment.
        if not api_key and not (scheme and scheme.lower() == "bearer" and credential):
            return self._error(401, {"code": "401", "message": MSG_MISSING_KEY})
        if api_key and self.emu.api_key is not None and api_key != self.emu.api_key:
            return self._error(401, {"code": "401", "message": MSG_INVALID_KEY})
        v1 = path == V1_PREFIX or path.startswith(V1_PREFIX + "/")
        version = "v1" if v1 else query.get("api-version", "")
        if not v1 and version not in API_VERSIONS:
            return self._error(404, {"code": "404", "message": "Resource not found"})
        self.api_version = version
        if v1:  # the same operations, addressed the v1 way: the deployment travels in the body
            rest = path[len(V1_PREFIX) :].strip("/")
            if rest in OPERATIONS and method == "POST":
                named = (js if isinstance(js, dict) else {}).get("model") or (form or {}).get("model")
                if not named:
                    return self._invalid("you must provide a model parameter", "model")
                path = f"/openai/deployments/{named}/{rest}"
            else:
                path = f"/openai/{rest}"

        m = DEPLOYMENT_RE.match(path)
        if m and method == "POST":
            deployment, op = m.group(1), m.group(2)
            kind, op_word, rl_name = OPERATIONS[op]
            if op == "audio/speech" and not (
                v1 or (version.endswith("-preview") and version >= "2024-02-15-preview")
            ):
                return self._error(404, {"code": "404", "message": "Resource not found"})
            if deployment not in DEPLOYMENTS:
                return self._error(404, {"code": "DeploymentNotFound", "message": MSG_DEPLOYMENT})
            dep_kind, model, dims = DEPLOYMENTS[deployment]
            if dep_kind != kind:
                return self._error(
                    400,
                    {
                        "code": "OperationNotSupported",
                        "message": (
                            f"The {op_word} operation does not work with the specified model, {deployment}. Please choose "
                            "different model and try again. You can learn more about which models can be used with each "
                            "operation here: https://go.microsoft.com/fwlink/?linkid=2197993."
                        ),
                    },
                )
            if bad_json:
                return self._invalid(
                    "We could not parse the JSON body of your request. (HINT: This likely means "
                    "you aren't using your HTTP library correctly.)"
                )
            if kind not in ("transcription",) and form is None and not isinstance(js, dict):
                return self._invalid("The request body must be a JSON object.")
            text = _prompt_text(kind, js, form)
            d = content.directives(text, headers)
            self._fault(d, rl_name, method, body)
            return getattr(self, f"_op_{kind}")(deployment, model, dims, js or {}, form or {}, files, d, op)

        d = content.directives("", headers)
        self._fault(d, "Files_Operations", method, body)
        return self._jobs_route(method, path, query, js, form, files)

    def _fault(self, d: Directives, operation: str, method: str, body: bytes) -> None:
        """429 / 500 / hang, before any work. Raises Abort after answering."""
        fault = d.fault
        if fault in ("429once", "500once"):
            key = hashlib.sha256(method.encode() + self.path.encode() + b"\0" + body).hexdigest()
            if not self.emu._first_time(fault + key):
                return
            fault = fault[:3]
        if fault == "429":
            self._error(
                429,
                {
                    "code": "429",
                    "message": (
                        f"Requests to the {operation} Operation under Azure OpenAI API version {self.api_version} have "
                        "exceeded token rate limit of your current AIServices S0 pricing tier. Please retry after 1 second. "
                        "Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default "
                        "rate limit."
                    ),
                },
                [
                    ("retry-after-ms", "300"),
                    ("retry-after", "1"),
                    ("x-ratelimit-remaining-requests", "0"),
                    ("x-ratelimit-remaining-tokens", "0"),
                ],
            )
            raise Abort()
        if fault == "500":
            self._error(500, {"code": "InternalServerError", "message": MSG_500})
            raise Abort()
        if fault == "hang":
            # The gateway answers 200 and its headers, then the upstream stalls: not one byte of the body. This
            # lets a client that cancels by shutting the response's socket down do so, and trips read timeouts.
            streamed = isinstance(self.request_json, dict) and bool(self.request_json.get("stream"))
            self._start_stream("text/event-stream; charset=utf-8" if streamed else "application/json")
            self._hang()


def _prompt_text(kind: str, js: Any, form: dict | None) -> str:
    """The text demo words are looked for in: the last user message, the prompt, or the speech input."""
    if not isinstance(js, dict):
        return str((form or {}).get("prompt") or "")
    if kind == "chat":
        for msg in reversed(js.get("messages") or []):
            if isinstance(msg, dict) and msg.get("role") == "user":
                c = msg.get("content")
                if isinstance(c, str):
                    return c
                if isinstance(c, list):
                    return " ".join(
                        str(p.get("text", "")) for p in c if isinstance(p, dict) and p.get("type") == "text"
                    )
        return ""
    if kind in ("completions", "images"):
        p = js.get("prompt")
        return " ".join(map(str, p)) if isinstance(p, list) else str(p or "")
    if kind == "speech":
        return str(js.get("input") or "")
    return ""


class Emulator:
    """An Azure OpenAI look-alike on 127.0.0.1 for demo mode and tests. See docs/emulator.md."""

    def __init__(
        self,
        port: int = 0,
        api_key: str | None = None,
        token_rate: float | None = None,
        think_seconds: float | None = None,
    ):
        self.port = port
        self.api_key = api_key
        self.token_rate = token_rate
        # how long reasoning deployments think before their first token: a felt pause in demo mode, none when
        # the tests turn pacing off (token_rate=0)
        self.think_seconds = think_seconds if think_seconds is not None else (0.0 if token_rate == 0 else 1.5)
        self.job_seconds = 6.0  # how long a fine-tuning job or a batch takes to finish
        self._heard: deque[str] = deque()
        self._transcripts: deque[tuple[str, float]] = deque(maxlen=500)
        self._requests: deque[RecordedRequest] = deque(maxlen=500)
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._images: dict[str, bytes] = {}
        self._store = Store(self.job_seconds)
        self._stopping = threading.Event()
        self._server: WireServer | None = None
        self._thread: threading.Thread | None = None
        self.endpoint = ""

    # -- lifecycle ----------------------------------------------------------------------------------------------

    def start(self) -> str:
        if self._server is not None:
            return self.endpoint
        self._stopping.clear()
        self._server = WireServer(("127.0.0.1", self.port), Handler, self)
        self.port = self._server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="parley-emulator",
            daemon=True,
        )
        self._thread.start()
        return self.endpoint

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with server.conn_lock:
            conns = list(server.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()
        if self._thread is not None:
            self._thread.join(2)

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- state --------------------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def _record(self, req: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(req)

    def hear(self, *texts: str) -> None:
        """Queue what the next transcriptions of real speech return, one text each (audio played into a microphone
        cannot carry an ICMT comment). Silence still transcribes to '', and a comment still wins."""
        with self._lock:
            self._heard.extend(texts)

    @property
    def transcripts(self) -> list[tuple[str, float]]:
        """(text returned, seconds of audio received) for each transcription or translation, oldest first."""
        with self._lock:
            return list(self._transcripts)

    def _take_heard(self) -> str | None:
        with self._lock:
            return self._heard.popleft() if self._heard else None

    def _record_transcript(self, text: str, seconds: float) -> None:
        with self._lock:
            self._transcripts.append((text, seconds))

    def _first_time(self, key: str) -> bool:
        with self._lock:
            if key in self._seen:
                return False
            self._seen.add(key)
            return True

    def _store_image(self, png: bytes) -> str:
        image_id = uuid.uuid4().hex
        with self._lock:
            self._images[image_id] = png
            while len(self._images) > 50:
                self._images.pop(next(iter(self._images)))
        return image_id

    def _image(self, image_id: str) -> bytes | None:
        with self._lock:
            return self._images.get(image_id)


def serve_forever(port: int, api_key: str | None = None, on_ready: Any = None) -> None:
    """Run an emulator until KeyboardInterrupt. Prints nothing; `on_ready(url)` is called once it listens."""
    emu = Emulator(port=port, api_key=api_key)
    url = emu.start()
    if on_ready is not None:
        on_ready(url)
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
