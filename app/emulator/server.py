"""The HTTP side of the emulator: Azure's checks in Azure's order, routes, wire shapes, faults and pacing."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import select
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from app.emulator import audio, content, embeddings, imaging
from app.emulator.content import Directives
from app.emulator.jobs import Store

API_VERSIONS = (
    "2022-12-01",
    "2023-05-15",
    "2023-06-01-preview",
    "2023-12-01-preview",
    "2024-02-01",
    "2024-02-15-preview",
    "2024-03-01-preview",
    "2024-04-01-preview",
    "2024-05-01-preview",
    "2024-06-01",
    "2024-07-01-preview",
    "2024-08-01-preview",
    "2024-09-01-preview",
    "2024-10-01-preview",
    "2024-10-21",
    "2024-12-01-preview",
    "2025-01-01-preview",
    "2025-03-01-preview",
    "2025-04-01-preview",
)

# deployment -> (operation kind, model name in responses, embedding dimensions)
DEPLOYMENTS: dict[str, tuple[str, str, int]] = {
    "gpt-4o": ("chat", "gpt-4o-2024-08-06", 0),
    "gpt-4o-mini": ("chat", "gpt-4o-mini-2024-07-18", 0),
    "tts-hd": ("speech", "tts-hd", 0),
    "tts": ("speech", "tts", 0),
    "whisper": ("transcription", "whisper", 0),
    "text-embedding-3-large": ("embeddings", "text-embedding-3-large", 3072),
    "text-embedding-3-small": ("embeddings", "text-embedding-3-small", 1536),
    "text-embedding-ada-002": ("embeddings", "ada", 1536),
    "dall-e-3": ("images", "dall-e-3", 0),
    "gpt-35-turbo-instruct": ("completions", "gpt-35-turbo-instruct", 0),
}

MAX_UPLOAD = 25 * 1024 * 1024
MAX_SPEECH_CHARS = 4096
DEFAULT_TOKEN_RATE = 200.0
SPEECH_CHUNK = 4800  # bytes: 0.1 s of 24 kHz s16le mono
DALLE_SIZES = ("1024x1024", "1792x1024", "1024x1792")
REDACTED = "<redacted>"

# route suffix -> (operation kind, Azure's operation word for OperationNotSupported, rate-limit operation name)
_OPERATIONS = {
    "chat/completions": ("chat", "chatCompletion", "ChatCompletions_Create"),
    "completions": ("completions", "completion", "Completions_Create"),
    "embeddings": ("embeddings", "embeddings", "Embeddings_Create"),
    "audio/speech": ("speech", "audioSpeech", "AudioSpeech_Create"),
    "audio/transcriptions": ("transcription", "audioTranscription", "AudioTranscriptions_Create"),
    "audio/translations": ("transcription", "audioTranslation", "AudioTranslations_Create"),
    "images/generations": ("images", "imageGeneration", "ImageGenerations_Create"),
}
_DEPLOYMENT_RE = re.compile(
    r"^/openai/deployments/([^/]+)/(chat/completions|completions|embeddings|audio/speech|"
    r"audio/transcriptions|audio/translations|images/generations)/?$"
)

MSG_MISSING_KEY = (
    "Access denied due to missing subscription key. Make sure to include subscription key when "
    "making requests to an API."
)
MSG_INVALID_KEY = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
    "valid key for an active subscription and use a correct regional API endpoint for your resource."
)
MSG_DEPLOYMENT = (
    "The API deployment for this resource does not exist. If you created the deployment within the "
    "last 5 minutes, please wait a moment and try again."
)
MSG_PROMPT_FILTER = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content management "
    "policy. Please modify your prompt and retry. To learn more about our content filtering "
    "policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766"
)
MSG_IMAGE_FILTER = (
    "Your request was rejected as a result of our safety system. Your prompt may contain text that "
    "is not allowed by our safety system."
)
MSG_500 = "The server had an error while processing your request. Sorry about that!"


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

    @property
    def target(self) -> str:
        """Path and query string as sent."""
        if not self.query:
            return self.path
        return self.path + "?" + "&".join(f"{k}={v}" for k, v in self.query.items())

    def used_key(self, secret: str) -> bool:
        """Whether the api-key (or bearer token) sent was `secret`, without the emulator keeping it."""
        return self.credential_digest is not None and self.credential_digest == _digest(secret)


def _digest(secret: str) -> str:
    return hashlib.blake2b(secret.encode("utf-8"), digest_size=16, person=b"parley-emu").hexdigest()


class _Abort(Exception):
    """The client went away or the server is stopping: drop this response."""


class _Server(ThreadingHTTPServer):
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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ParleyEmulator/1.0"
    sys_version = ""
    server: _Server

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
        except _Abort:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True

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
        raise _Abort()

    def _start_stream(self, ctype: str, headers: list[tuple[str, str]] | None = None) -> None:
        self.send_response(200)
        for k, v in self._base_headers() + (headers or []):
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        if self.emu._stopping.is_set():
            raise _Abort()
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
                raise _Abort()
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
        raise _Abort()

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
                    raise _Abort()
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
                    _digest(credential) if credential else None,
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
            form, files = _parse_multipart(body, ctype)
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
        version = query.get("api-version", "")
        if version not in API_VERSIONS:
            return self._error(404, {"code": "404", "message": "Resource not found"})
        self.api_version = version

        m = _DEPLOYMENT_RE.match(path)
        if m and method == "POST":
            deployment, op = m.group(1), m.group(2)
            kind, op_word, rl_name = _OPERATIONS[op]
            if op == "audio/speech" and not (
                version.endswith("-preview") and version >= "2024-02-15-preview"
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
            if kind not in ("transcription",) and not isinstance(js, dict):
                return self._invalid("The request body must be a JSON object.")
            text = _prompt_text(kind, js, form)
            d = content.directives(text, headers)
            self._fault(d, rl_name, method, body)
            return getattr(self, f"_op_{kind}")(deployment, model, dims, js or {}, form or {}, files, d, op)

        d = content.directives("", headers)
        self._fault(d, "Files_Operations", method, body)
        return self._jobs_route(method, path, query, js, form, files)

    def _invalid(self, message: str, param: str | None = None, code: str | None = None) -> None:
        self._error(400, {"message": message, "type": "invalid_request_error", "param": param, "code": code})

    def _fault(self, d: Directives, operation: str, method: str, body: bytes) -> None:
        """429 / 500 / hang, before any work. Raises _Abort after answering."""
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
            raise _Abort()
        if fault == "500":
            self._error(500, {"code": "InternalServerError", "message": MSG_500})
            raise _Abort()
        if fault == "hang":
            # The gateway answers 200 and its headers, then the upstream stalls: not one byte of the body. This
            # lets a client that cancels by shutting the response's socket down do so, and trips read timeouts.
            streamed = isinstance(self.request_json, dict) and bool(self.request_json.get("stream"))
            self._start_stream("text/event-stream; charset=utf-8" if streamed else "application/json")
            self._hang()

    def _rate(self, d: Directives) -> float:
        if d.rate is not None:
            return d.rate
        return DEFAULT_TOKEN_RATE if self.emu.token_rate is None else float(self.emu.token_rate)

    # -- chat and completions -----------------------------------------------------------------------------------

    def _op_chat(
        self,
        deployment: str,
        model: str,
        dims: int,
        js: dict,
        form: dict,
        files: dict,
        d: Directives,
        op: str,
    ) -> None:
        messages = js.get("messages")
        if not isinstance(messages, list) or not messages:
            return self._invalid(
                "'messages' is a required property" if messages is None else "[] is too short - 'messages'",
                "messages",
            )
        question, images, prompt_tokens = "", [], 0
        for msg in messages:
            if not isinstance(msg, dict):
                return self._invalid(f"{msg!r} is not of type 'object' - 'messages'", "messages")
            prompt_tokens += 4
            parts = msg.get("content")
            texts: list[str] = []
            msg_images: list[str] = []
            if isinstance(parts, str):
                texts.append(parts)
            elif isinstance(parts, list):
                for part in parts:
                    if not isinstance(part, dict):
                        continue
                    if part.get("type") == "text":
                        texts.append(str(part.get("text", "")))
                    elif part.get("type") == "image_url":
                        url = str((part.get("image_url") or {}).get("url", ""))
                        note, tokens = _describe_image(url)
                        if note is None:
                            return self._error(
                                400,
                                {
                                    "code": "BadRequest",
                                    "message": "Invalid image data.",
                                    "param": None,
                                    "type": None,
                                },
                            )
                        msg_images.append(note)
                        prompt_tokens += tokens
            joined = " ".join(texts)
            prompt_tokens += content.count_tokens(joined)
            if msg.get("role") == "user":
                question, images = joined, msg_images
        prompt_tokens += 3
        if d.filter in ("prompt", "jailbreak"):
            return self._content_filter_error(d.filter)
        answer = content.answer_markdown(question, images, d.tokens)
        limit = js.get("max_completion_tokens") or js.get("max_tokens")
        pfr = content.prompt_filter_results(len(images))
        self._respond_text("chat", model, answer, limit, prompt_tokens, pfr, js, d)

    def _op_completions(
        self,
        deployment: str,
        model: str,
        dims: int,
        js: dict,
        form: dict,
        files: dict,
        d: Directives,
        op: str,
    ) -> None:
        prompt = js.get("prompt")
        if isinstance(prompt, list):
            prompt = " ".join(str(p) for p in prompt)
        if prompt is None:
            prompt = "<|endoftext|>"
        prompt = str(prompt)
        if d.filter in ("prompt", "jailbreak"):
            return self._content_filter_error(d.filter)
        answer = content.completion_text(prompt, d.tokens)
        limit = js.get("max_tokens", 16)
        pfr = [{"prompt_index": 0, "content_filter_results": content.prompt_results(jailbreak=False)}]
        self._respond_text("completions", model, answer, limit, content.count_tokens(prompt), pfr, js, d)

    def _content_filter_error(self, kind: str) -> None:
        self._error(
            400,
            {
                "message": MSG_PROMPT_FILTER,
                "type": None,
                "param": "prompt",
                "code": "content_filter",
                "status": 400,
                "innererror": {
                    "code": "ResponsibleAIPolicyViolation",
                    "content_filter_result": content.blocked_prompt_result(kind),
                },
            },
        )

    def _respond_text(
        self,
        kind: str,
        model: str,
        answer: str,
        limit: Any,
        prompt_tokens: int,
        pfr: list,
        js: dict,
        d: Directives,
    ) -> None:
        pieces = content.tokenize(answer)
        finish = "stop"
        if isinstance(limit, int) and 0 < limit < len(pieces):
            pieces, finish = pieces[:limit], "length"
        if d.filter == "answer":
            pieces, finish = pieces[: max(1, int(len(pieces) * 0.4))], "content_filter"
        completion_tokens = len(pieces)
        usage = {
            "completion_tokens": completion_tokens,
            "prompt_tokens": prompt_tokens,
            "total_tokens": completion_tokens + prompt_tokens,
        }
        chat = kind == "chat"
        prefix = "chatcmpl-" if chat else "cmpl-"
        cid = prefix + base64.b32encode(uuid.uuid4().bytes).decode().rstrip("=")[:29]
        created = int(time.time())
        fingerprint = "fp_" + hashlib.md5(model.encode()).hexdigest()[:10] if chat else None
        results = content.safe_results()
        final_results = content.filtered_answer_results() if finish == "content_filter" else results
        if d.filter == "async":
            final_results = content.async_annotation_results()

        if not js.get("stream"):
            text = "".join(pieces)
            if chat:
                choice = {
                    "finish_reason": finish,
                    "index": 0,
                    "logprobs": None,
                    "message": {"content": text, "refusal": None, "role": "assistant"},
                    "content_filter_results": final_results,
                }
                obj = "chat.completion"
            else:
                choice = {
                    "finish_reason": finish,
                    "index": 0,
                    "logprobs": None,
                    "text": text,
                    "content_filter_results": final_results,
                }
                obj = "text_completion"
            body = {
                "id": cid,
                "choices": [choice],
                "created": created,
                "model": model,
                "object": obj,
                "system_fingerprint": fingerprint,
                "usage": dict(usage, completion_tokens_details=None, prompt_tokens_details=None),
                "prompt_filter_results": pfr,
            }
            return self._json(200, body, cut=d.fault == "cut")

        include_usage = bool((js.get("stream_options") or {}).get("include_usage"))
        rate = self._rate(d)
        head = {
            "id": cid,
            "created": created,
            "model": model,
            "object": "chat.completion.chunk" if chat else "text_completion",
            "system_fingerprint": fingerprint,
        }
        if include_usage:
            head["usage"] = None
        if not chat:
            head.pop("system_fingerprint")

        def chunk(
            text: str | None, cfr: dict | None, finish_reason: str | None = None, role: bool = False
        ) -> dict:
            if chat:
                delta: dict[str, Any] = {}
                if role:
                    delta = {"content": "", "refusal": None, "role": "assistant"}
                elif text is not None:
                    delta = {"content": text}
                choice = {
                    "content_filter_results": cfr if cfr is not None else {},
                    "delta": delta,
                    "finish_reason": finish_reason,
                    "index": 0,
                    "logprobs": None,
                }
            else:
                choice = {
                    "text": text or "",
                    "index": 0,
                    "finish_reason": finish_reason,
                    "logprobs": None,
                    "content_filter_results": cfr if cfr is not None else {},
                }
            return dict(head, choices=[choice])

        self._start_stream("text/event-stream; charset=utf-8", [("Cache-Control", "no-cache")])
        self._sse(
            {"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": pfr}
        )
        if chat:
            self._sse(chunk(None, {}, role=True))
        start = time.monotonic()
        cut_at = max(1, int(len(pieces) * 0.3)) if d.fault == "cut" else None
        async_mode = d.filter == "async"
        for i, piece in enumerate(pieces):
            if rate > 0:
                self._sleep(start + (i + 1) / rate - time.monotonic())
            if cut_at is not None and i >= cut_at:
                self._cut()
            self._sse(chunk(piece, {} if async_mode else results))
        if cut_at is not None:
            self._cut()
        if async_mode:  # late annotations: what the asynchronous filter found, with the offsets it covers
            n = len("".join(pieces))
            for start_off, end_off, cfr in (
                (0, n // 2, content.safe_results()),
                (n // 2, n, content.async_annotation_results()),
            ):
                self._sse(
                    {
                        "id": "",
                        "object": "",
                        "created": 0,
                        "model": "",
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": None,
                                "content_filter_results": cfr,
                                "content_filter_offsets": {
                                    "check_offset": end_off,
                                    "start_offset": start_off,
                                    "end_offset": end_off,
                                },
                            }
                        ],
                    }
                )
        if finish == "content_filter":
            self._sse(chunk(None, final_results, "content_filter"))
        else:
            self._sse(chunk(None if chat else "", {} if chat else None, finish))
        if include_usage:
            self._sse(dict(head, choices=[], usage=usage))
        self._chunk(b"data: [DONE]\n\n")
        self._end_stream()

    # -- embeddings ---------------------------------------------------------------------------------------------

    def _op_embeddings(
        self,
        deployment: str,
        model: str,
        dims: int,
        js: dict,
        form: dict,
        files: dict,
        d: Directives,
        op: str,
    ) -> None:
        raw = js.get("input")
        if raw is None:
            return self._invalid("'input' is a required property", "input")
        if isinstance(raw, str):
            texts = [raw]
        elif isinstance(raw, list) and raw and all(isinstance(x, int) for x in raw):
            texts = [" ".join(map(str, raw))]
        elif isinstance(raw, list) and raw:
            texts = [x if isinstance(x, str) else " ".join(map(str, x)) for x in raw]
        else:
            return self._invalid(
                "'$.input' is invalid. Please check the API reference: "
                "https://platform.openai.com/docs/api-reference.",
                "input",
            )
        if len(texts) > 2048:
            return self._invalid("Too many inputs. The max number of inputs is 2048.", "input")
        if any(t == "" for t in texts):
            return self._invalid(
                "'$.input' is invalid. Please check the API reference: "
                "https://platform.openai.com/docs/api-reference.",
                "input",
            )
        want = js.get("dimensions")
        if want is not None:
            if not deployment.startswith("text-embedding-3"):
                return self._invalid("This model does not support specifying dimensions.", "dimensions")
            if not isinstance(want, int) or not 1 <= want <= dims:
                return self._invalid(
                    f"Invalid value for 'dimensions': must be between 1 and {dims}.", "dimensions"
                )
            dims = want
        fmt = js.get("encoding_format") or "float"
        if fmt not in ("float", "base64"):
            return self._invalid(
                f"'{fmt}' is not one of ['float', 'base64'] - 'encoding_format'", "encoding_format"
            )
        data = []
        for i, text in enumerate(texts):
            vec = embeddings.embed(text, dims)
            value: Any = (
                base64.b64encode(vec.astype("<f4").tobytes()).decode()
                if fmt == "base64"
                else [round(float(x), 8) for x in vec.tolist()]
            )
            data.append({"object": "embedding", "index": i, "embedding": value})
        tokens = sum(content.count_tokens(t) for t in texts)
        self._json(
            200,
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
            cut=d.fault == "cut",
        )

    # -- speech and transcription -------------------------------------------------------------------------------

    def _op_speech(
        self,
        deployment: str,
        model: str,
        dims: int,
        js: dict,
        form: dict,
        files: dict,
        d: Directives,
        op: str,
    ) -> None:
        text = js.get("input")
        if not isinstance(text, str) or not text.strip():
            return self._invalid("'input' is a required property", "input")
        if len(text) > MAX_SPEECH_CHARS:
            return self._invalid(
                f"string too long. Expected a string with maximum length {MAX_SPEECH_CHARS}, but "
                f"got a string with length {len(text)} instead.",
                "input",
                "string_above_max_length",
            )
        voice = js.get("voice")
        if voice not in audio.VOICES:
            return self._invalid(
                f"Input should be {', '.join(repr(v) for v in audio.VOICES[:-1])} or "
                f"'{audio.VOICES[-1]}' - 'voice'",
                "voice",
                "invalid_value",
            )
        speed = js.get("speed", 1.0)
        if not isinstance(speed, (int, float)) or not 0.25 <= float(speed) <= 4.0:
            return self._invalid(
                "Input should be less than or equal to 4 and greater than or equal to 0.25 - 'speed'",
                "speed",
                "invalid_value",
            )
        fmt = js.get("response_format") or "mp3"
        if fmt not in ("wav", "pcm"):
            if fmt in ("mp3", "opus", "aac", "flac"):
                return self._invalid(
                    f"response_format '{fmt}': the Parley emulator produces wav and pcm only; "
                    "ask for response_format='wav' or 'pcm'.",
                    "response_format",
                    "unsupported_value",
                )
            return self._invalid(
                "Input should be 'mp3', 'opus', 'aac', 'flac', 'wav' or 'pcm' - 'response_format'",
                "response_format",
                "invalid_value",
            )
        pcm = audio.synthesize(text, voice, float(speed))
        body = (audio.wav_header(len(pcm)) + pcm) if fmt == "wav" else pcm
        if d.rate is not None:
            per_chunk = 1.0 / d.rate if d.rate > 0 else 0.0
        elif self.emu.token_rate == 0:
            per_chunk = 0.0
        else:
            per_chunk = SPEECH_CHUNK / (audio.RATE * 2) / 5.0  # 5x real time
        self._start_stream("audio/wav" if fmt == "wav" else "audio/pcm")
        start = time.monotonic()
        count = (len(body) + SPEECH_CHUNK - 1) // SPEECH_CHUNK
        for i in range(count):
            if d.fault == "cut" and i >= max(1, int(count * 0.3)):
                self._cut()
            if per_chunk and i:
                self._sleep(start + i * per_chunk - time.monotonic())
            self._chunk(body[i * SPEECH_CHUNK : (i + 1) * SPEECH_CHUNK])
        self._end_stream()

    def _op_transcription(
        self,
        deployment: str,
        model: str,
        dims: int,
        js: dict,
        form: dict,
        files: dict,
        d: Directives,
        op: str,
    ) -> None:
        if "file" not in files:
            return self._invalid("'file' is a required property", "file")
        filename, data = files["file"]
        if not data:
            return self._invalid(
                "The audio file could not be decoded or its format is not supported.", "file", "invalid_value"
            )
        fmt = str(form.get("response_format") or "json")
        if fmt not in ("json", "text", "srt", "verbose_json", "vtt"):
            return self._invalid(
                f"'{fmt}' is not one of ['json', 'text', 'srt', 'verbose_json', 'vtt'] - 'response_format'",
                "response_format",
            )
        text, duration, segments = audio.transcribe(data, self.emu._take_heard)
        self.emu._record_transcript(text, duration)
        language = str(form.get("language") or "en")
        cut = d.fault == "cut"
        if fmt == "json":
            return self._json(200, {"text": text}, cut=cut)
        if fmt == "text":
            return self._send(200, (text + "\n").encode(), "text/plain; charset=utf-8", cut=cut)
        if fmt in ("srt", "vtt"):
            return self._send(
                200, audio.subtitles(text, segments, fmt).encode(), "text/plain; charset=utf-8", cut=cut
            )
        lines = audio.split_sentences(text, len(segments)) if text else []
        segs = [
            {
                "id": i,
                "seek": 0,
                "start": s,
                "end": e,
                "text": " " + line,
                "tokens": list(range(50364, 50364 + content.count_tokens(line))),
                "temperature": 0.0,
                "avg_logprob": -0.25,
                "compression_ratio": 1.2,
                "no_speech_prob": 0.01,
            }
            for i, ((s, e), line) in enumerate(zip(segments, lines, strict=False))
        ]
        names = {
            "en": "english",
            "de": "german",
            "fr": "french",
            "es": "spanish",
            "it": "italian",
            "nl": "dutch",
            "pt": "portuguese",
            "ja": "japanese",
            "zh": "chinese",
        }
        task = "translate" if op.endswith("translations") else "transcribe"
        self._json(
            200,
            {
                "task": task,
                "language": names.get(language, language),
                "duration": round(duration, 2),
                "text": text,
                "segments": segs,
            },
            cut=cut,
        )

    # -- images -------------------------------------------------------------------------------------------------

    def _op_images(
        self,
        deployment: str,
        model: str,
        dims: int,
        js: dict,
        form: dict,
        files: dict,
        d: Directives,
        op: str,
    ) -> None:
        prompt = js.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return self._invalid("'prompt' is a required property", "prompt")
        if len(prompt) > 4000:
            return self._invalid(
                "The prompt is too long. The maximum length is 4000 characters.", "prompt", "invalid_prompt"
            )
        n = js.get("n", 1)
        if n != 1:
            return self._invalid("You must provide n=1 for this model.", "n", "invalid_value")
        size = js.get("size") or "1024x1024"
        if size not in DALLE_SIZES:
            return self._invalid(
                "The size is not supported by this model. Supported sizes are 1024x1024, "
                "1792x1024 and 1024x1792.",
                "size",
                "invalid_size",
            )
        quality = js.get("quality") or "standard"
        if quality not in ("standard", "hd"):
            return self._invalid(
                f"'{quality}' is not one of ['standard', 'hd'] - 'quality'", "quality", "invalid_value"
            )
        style = js.get("style") or "vivid"
        if style not in ("vivid", "natural"):
            return self._invalid(
                f"'{style}' is not one of ['vivid', 'natural'] - 'style'", "style", "invalid_value"
            )
        fmt = js.get("response_format") or "url"
        if fmt not in ("url", "b64_json"):
            return self._invalid(
                f"'{fmt}' is not one of ['url', 'b64_json'] - 'response_format'",
                "response_format",
                "invalid_value",
            )
        revised = content.revised_prompt(prompt)
        if d.filter == "image":
            return self._error(
                400,
                {
                    "code": "content_policy_violation",
                    "inner_error": {
                        "code": "ResponsibleAIPolicyViolation",
                        "content_filter_results": content.image_blocked_results(),
                        "revised_prompt": revised,
                    },
                    "message": MSG_IMAGE_FILTER,
                    "type": "invalid_request_error",
                },
            )
        width, height = (int(v) for v in size.split("x"))
        png = imaging.png(width, height, f"{prompt}|{quality}|{style}")
        item: dict[str, Any] = {"b64_json": None, "revised_prompt": revised, "url": None}
        if fmt == "b64_json":
            item["b64_json"] = base64.b64encode(png).decode()
        else:
            image_id = self.emu._store_image(png)
            item["url"] = f"{self.emu.endpoint}/openai/emulator/images/{image_id}.png"
        item["content_filter_results"] = content.safe_results()
        item["prompt_filter_results"] = content.image_prompt_results()
        self._json(200, {"created": int(time.time()), "data": [item]}, cut=d.fault == "cut")

    def _serve_image(self, path: str) -> None:
        m = re.match(r"^/openai/emulator/images/([A-Za-z0-9_-]+)\.png$", path)
        png = self.emu._image(m.group(1)) if m else None
        if png is None:
            return self._send(
                404,
                b'<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobNotFound</Code>'
                b"<Message>The specified blob does not exist.</Message></Error>",
                "application/xml",
            )
        self._send(200, png, "image/png")

    # -- files, fine-tuning, batches ----------------------------------------------------------------------------

    def _not_found(self, what: str, ident: str) -> None:
        self._error(
            404,
            {
                "code": "NotFound",
                "message": f"{what} with id '{ident}' not found.",
                "param": None,
                "type": "invalid_request_error",
            },
        )

    def _jobs_route(
        self,
        method: str,
        path: str,
        query: dict,
        js: Any,
        form: dict | None,
        files: dict[str, tuple[str, bytes]],
    ) -> None:
        store: Store = self.emu._store
        store.seconds = float(self.emu.job_seconds)
        parts = [p for p in path.split("/") if p]
        if parts[:1] != ["openai"]:
            return self._error(404, {"code": "404", "message": "Resource not found"})
        parts = parts[1:]
        js = js if isinstance(js, dict) else {}
        if parts[:1] == ["files"]:
            if len(parts) == 1 and method == "GET":
                return self._json(
                    200, {"object": "list", "data": store.list_files(query.get("purpose")), "has_more": False}
                )
            if len(parts) == 1 and method == "POST":
                purpose = (form or {}).get("purpose")
                if "file" not in files:
                    return self._invalid("'file' is a required property", "file")
                if purpose not in ("fine-tune", "batch", "assistants", "vision", "user_data", "evals"):
                    return self._invalid(
                        f"Invalid value for purpose: {purpose!r}.", "purpose", "invalidPayload"
                    )
                filename, data = files["file"]
                return self._json(200, store.add_file(filename, str(purpose), data).to_json())
            f = store.get_file(parts[1]) if len(parts) >= 2 else None
            if f is None:
                return self._not_found("File", parts[1] if len(parts) > 1 else "")
            if len(parts) == 2 and method == "GET":
                return self._json(200, f.to_json())
            if len(parts) == 2 and method == "DELETE":
                store.delete_file(f.id)
                return self._json(200, {"id": f.id, "object": "file", "deleted": True})
            if len(parts) == 3 and parts[2] == "content" and method == "GET":
                return self._send(200, f.data, "application/octet-stream")
        elif parts[:2] == ["fine_tuning", "jobs"]:
            rest = parts[2:]
            if not rest and method == "POST":
                if not js.get("model") or not js.get("training_file"):
                    return self._invalid("'model' and 'training_file' are required.", "training_file")
                if store.get_file(str(js["training_file"])) is None:
                    return self._invalid(
                        f"The training file '{js['training_file']}' was not found.",
                        "training_file",
                        "invalidPayload",
                    )
                return self._json(200, store.ft_json(store.create("ft", js)))
            if not rest and method == "GET":
                return self._page([store.ft_json(j) for j in store.all("ft")], query)
            job = store.get("ft", rest[0]) if rest else None
            if job is None:
                return self._not_found("Fine-tuning job", rest[0] if rest else "")
            if len(rest) == 1 and method == "GET":
                return self._json(200, store.ft_json(job))
            if rest[1:] == ["cancel"] and method == "POST":
                store.cancel(job)
                return self._json(200, store.ft_json(job))
            if rest[1:] == ["events"] and method == "GET":
                return self._page(store.ft_events(job), query)
            if rest[1:] == ["checkpoints"] and method == "GET":
                return self._page([], query)
        elif parts[:1] == ["batches"]:
            rest = parts[1:]
            if not rest and method == "POST":
                file_id = str(js.get("input_file_id") or "")
                source = store.get_file(file_id)
                if source is None:
                    return self._invalid(
                        f"The input file '{file_id}' was not found.", "input_file_id", "invalidPayload"
                    )
                endpoint = js.get("endpoint") or "/chat/completions"
                if endpoint not in (
                    "/chat/completions",
                    "/v1/chat/completions",
                    "/embeddings",
                    "/completions",
                ):
                    return self._invalid(f"Unsupported endpoint '{endpoint}'.", "endpoint", "invalidPayload")
                total = sum(1 for line in source.data.splitlines() if line.strip())
                return self._json(200, store.batch_json(store.create("batch", js, total)))
            if not rest and method == "GET":
                return self._page([store.batch_json(j) for j in store.all("batch")], query)
            job = store.get("batch", rest[0]) if rest else None
            if job is None:
                return self._not_found("Batch", rest[0] if rest else "")
            if len(rest) == 1 and method == "GET":
                return self._json(200, store.batch_json(job))
            if rest[1:] == ["cancel"] and method == "POST":
                store.cancel(job)
                return self._json(200, store.batch_json(job))
        elif parts == ["models"] and method == "GET":
            return self._json(
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": name, "object": "model", "created": 0, "owned_by": "system"}
                        for name in DEPLOYMENTS
                    ],
                },
            )
        return self._error(404, {"code": "404", "message": "Resource not found"})

    def _page(self, items: list[dict], query: dict) -> None:
        after = query.get("after")
        if after:
            ids = [i["id"] for i in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        try:
            limit = max(1, min(100, int(query.get("limit") or 20)))
        except ValueError:
            limit = 20
        self._json(200, {"object": "list", "data": items[:limit], "has_more": len(items) > limit})


# -- helpers ------------------------------------------------------------------------------------------------------


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


def _describe_image(url: str) -> tuple[str | None, int]:
    """(a sentence for the answer, prompt tokens) or (None, 0) if a data: URL does not hold an image."""
    if url.startswith("data:"):
        header, _, payload = url.partition(",")
        try:
            raw = base64.b64decode(payload, validate=False) if ";base64" in header else payload.encode()
        except (binascii.Error, ValueError):
            return None, 0
        info = imaging.image_info(raw[:65536]) or imaging.image_info(raw)
        if info is None:
            return None, 0
        fmt, w, h = info
        return f"I received an image of {w}×{h} pixels ({fmt}).", _image_tokens(w, h)
    if url.startswith(("http://", "https://")):
        return f"I received an image link ({url[:60]}).", 85
    return None, 0


def _image_tokens(w: int, h: int) -> int:
    scale = min(1.0, 2048 / max(w, h, 1))
    w, h = w * scale, h * scale
    scale = min(1.0, 768 / max(min(w, h), 1))
    w, h = w * scale, h * scale
    tiles = -(-int(w) // 512) * -(-int(h) // 512)
    return 85 + 170 * max(1, tiles)


def _parse_multipart(body: bytes, ctype: str) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    m = re.search(r'boundary="?([^";]+)"?', ctype)
    form: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if not m:
        return form, files
    boundary = b"--" + m.group(1).encode()
    for part in body.split(boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        disp = re.search(rb"content-disposition:[^\r\n]*", head, re.I)
        if not disp:
            continue
        name = re.search(rb'\bname="([^"]*)"', disp.group(0))
        filename = re.search(rb'filename="([^"]*)"', disp.group(0))
        if not name:
            continue
        key = name.group(1).decode("utf-8", "replace")
        if filename is not None:
            fname = filename.group(1).decode("utf-8", "replace")
            files[key] = (fname, data)
            form[key] = (fname, len(data))
        else:
            form[key] = data.decode("utf-8", "replace")
    return form, files


class Emulator:
    """An Azure OpenAI look-alike on 127.0.0.1 for demo mode and tests. See docs/emulator.md."""

    def __init__(self, port: int = 0, api_key: str | None = None, token_rate: float | None = None):
        self.port = port
        self.api_key = api_key
        self.token_rate = token_rate
        self.job_seconds = 6.0  # how long a fine-tuning job or a batch takes to finish
        self._heard: deque[str] = deque()
        self._transcripts: deque[tuple[str, float]] = deque(maxlen=500)
        self._requests: deque[RecordedRequest] = deque(maxlen=500)
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._images: dict[str, bytes] = {}
        self._store = Store(self.job_seconds)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.endpoint = ""

    # -- lifecycle ----------------------------------------------------------------------------------------------

    def start(self) -> str:
        if self._server is not None:
            return self.endpoint
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", self.port), Handler, self)
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
