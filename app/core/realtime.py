"""Live voice over Azure's Realtime API (GA route `/openai/v1/realtime?model=DEPLOYMENT`) through the openai SDK's
realtime client: connect, configure, stream audio in, typed events out (`realtime_events`). No Qt; openai is
imported lazily.

`RealtimeSession.run()` is the generator a worker runs (it ends with `Done` or `Failed`, never raises for Azure's
failures); `send_audio`, `commit`, `respond`, `cancel_response`, `truncate` and `close` may be called from any
other thread meanwhile. A cancel shuts the socket down at once.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from app.core import errors
from app.core.cancel import CancelToken
from app.core.deadline import CONNECT_TIMEOUT, timed_out
from app.core.events import Done, Failed
from app.core.profiles import Profile
from app.core.realtime_events import (
    AnswerDelta,
    AudioDelta,
    Committed,
    Heard,
    LiveConfig,
    LiveEvent,
    Rejected,
    ResponseDone,
    ResponseStarted,
    SessionStarted,
    SpeechStarted,
    SpeechStopped,
    Truncated,
    finish_reason_of,
    usage_of,
)

if TYPE_CHECKING:  # pragma: no cover
    from openai import OpenAI

SESSION_EVENT_ID = "parley_session_update"
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "WSS_PROXY", "wss_proxy")


def ga_root(endpoint: str) -> tuple[str, str]:
    """(`https://RES…/openai/v1/`, `wss://RES…/openai/v1/`) for a resource endpoint (http → ws for the emulator)."""
    root = endpoint.strip().rstrip("/")
    for tail in ("/openai/v1", "/openai"):
        if root.endswith(tail):
            root = root[: -len(tail)]
    base = root + "/openai/v1/"
    ws = (
        "wss://" + base[len("https://") :]
        if base.startswith("https://")
        else "ws://" + base.split("://", 1)[-1]
    )
    return base, ws


def build_client(
    profile: Profile, *, api_key: str | None = None, token_provider: Callable[[], str] | None = None
) -> OpenAI:
    """The GA form Microsoft's quickstart uses: `OpenAI(base_url=…/openai/v1/, websocket_base_url=wss://…)`, with
    the API key or an Entra ID token (the SDK sends either as `Authorization: Bearer`; no api-version: the v1 route
    refuses a dated one)."""
    from app.core.client import check_credentials

    check_credentials(profile, api_key=api_key, token_provider=token_provider)
    from openai import OpenAI

    base, ws = ga_root(profile.endpoint)
    credential: str | Callable[[], str] = api_key if api_key else cast(Callable[[], str], token_provider)
    return OpenAI(
        api_key=credential, base_url=base, websocket_base_url=ws, max_retries=0, timeout=profile.timeout
    )


class RealtimeSession:
    """One live session on `client` (from `build_client`). Run `run()` on a worker; call the senders from anywhere."""

    def __init__(
        self,
        client: OpenAI,
        config: LiveConfig,
        *,
        cancel: CancelToken,
        ctx: errors.Context,
        open_timeout: float | None = None,
    ):
        """`open_timeout`: how long the handshake may take (TCP, TLS, the HTTP upgrade); by default as connecting
        is bounded for HTTP: 10 s, or the request timeout (`config.response_timeout`: --timeout) if shorter."""
        self.client = client
        self.config = config
        self.cancel = cancel
        self.ctx = replace(ctx, api_version="v1")  # the GA route has no dated api-version to blame
        self.open_timeout = (
            open_timeout if open_timeout is not None else min(CONNECT_TIMEOUT, config.response_timeout)
        )
        self.connected = threading.Event()  # set once session.updated came back
        self.send_ms: list[float] = []  # how long each send_audio took to reach the socket (ms)
        self._conn: Any = None
        self._raw: socket.socket | None = None
        self._closing = False
        self._timed_out = False
        self._awaiting_since: float | None = None  # an answer is awaited since (monotonic)
        self._last_event = time.monotonic()
        self._responses: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    # -- senders (any thread) -------------------------------------------------------------------------------------

    def send_audio(self, pcm: bytes) -> bool:
        """Append PCM16 24 kHz mono to the input buffer; False when the session is not (or no longer) open."""
        start = time.perf_counter()
        ok = self._send({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode("ascii")})
        if ok:
            self.send_ms.append((time.perf_counter() - start) * 1000)
            del self.send_ms[:-1000]
        return ok

    def commit(self) -> bool:
        """End the user's turn by hand (push-to-talk, a file): the buffer becomes a conversation item."""
        return self._send({"type": "input_audio_buffer.commit"})

    def clear_input(self) -> bool:
        return self._send({"type": "input_audio_buffer.clear"})

    def respond(self) -> bool:
        """Ask for an answer now (push-to-talk's release, after `commit`)."""
        self._awaiting_since = time.monotonic()
        return self._send({"type": "response.create"})

    def cancel_response(self) -> bool:
        """Stop the answer being generated (barge-in: after local playback has stopped)."""
        return self._send({"type": "response.cancel"})

    def truncate(self, item_id: str, audio_end_ms: int, content_index: int = 0) -> bool:
        """Cut the answer item to what was actually played, so the model knows what the user heard."""
        event = {"type": "conversation.item.truncate", "item_id": item_id, "content_index": content_index,
                 "audio_end_ms": max(0, int(audio_end_ms))}  # fmt: skip
        return self._send(event)

    def close(self) -> None:
        """End the session; `run()` then ends with Done(finish_reason="stop")."""
        self._closing = True
        conn = self._conn
        if conn is not None:
            threading.Thread(target=self._close_quietly, args=(conn,), daemon=True).start()

    def _send(self, event: dict[str, Any]) -> bool:
        conn = self._conn
        if conn is None or self._closing or self.cancel.cancelled:
            return False
        try:
            conn.send_raw(json.dumps(event))
        except Exception:  # noqa: BLE001 - the socket is gone; run() reports why
            return False
        return True

    # -- the session (the worker) ---------------------------------------------------------------------------------

    def run(self) -> Iterator[LiveEvent | Done | Failed]:
        if self.cancel.cancelled:
            yield Done("cancelled")
            return
        self.cancel.on_cancel(self._shutdown)
        try:
            self._connect()
            self._send_first(
                {"type": "session.update", "session": self.config.session(), "event_id": SESSION_EVENT_ID}
            )
        except Exception as exc:  # noqa: BLE001 - every failure becomes one Problem
            yield self._ended(exc)
            return
        watch = threading.Thread(target=self._watch, name="parley-realtime-watch", daemon=True)
        watch.start()
        try:
            while True:
                try:
                    data = self._conn.recv_bytes()
                except Exception as exc:  # noqa: BLE001
                    yield self._ended(exc)
                    return
                self._last_event = time.monotonic()
                try:
                    event = json.loads(data)
                except ValueError:
                    continue
                if not isinstance(event, dict):
                    continue
                for out in self._translate(event):
                    yield out
                    if isinstance(out, Failed):
                        return
        finally:
            self._closing = True
            self._conn_close()

    def _connect(self) -> None:
        try:
            self._open()
        except Exception as exc:
            # websockets' "timed out while waiting for handshake response", TCP's timeout, or a read of the
            # upgrade that timed out (InvalidMessage caused by a TimeoutError): Parley's words, not the library's.
            if self.cancel.cancelled or not any(isinstance(e, TimeoutError) for e in _chain(exc)):
                raise
            raise timed_out(self.open_timeout, started=False) from exc

    def _open(self) -> None:
        options: dict[str, Any] = {"open_timeout": self.open_timeout, "close_timeout": 2}
        if not any(os.environ.get(name) for name in PROXY_VARIABLES):
            # Our own TCP socket, so a cancel can shut it down even during the handshake (through a proxy the
            # websockets library connects itself, and a cancel waits for open_timeout at most).
            url = urlsplit(str(self.client.websocket_base_url))
            port = url.port or (443 if url.scheme == "wss" else 80)
            self._raw = socket.create_connection(
                (url.hostname or "", port), timeout=min(CONNECT_TIMEOUT, self.open_timeout)
            )
            if self.cancel.cancelled:
                raise errors.ParleyError(errors.cancelled())
            self._raw.settimeout(None)  # the handshake's bound is websockets' open_timeout, one clock not two
            options["sock"] = self._raw
        manager = self.client.realtime.connect(
            model=self.config.deployment, websocket_connection_options=cast(Any, options)
        )
        self._conn = manager.enter()

    def _send_first(self, event: dict[str, Any]) -> None:
        self._conn.send_raw(json.dumps(event))

    def _translate(self, e: dict[str, Any]) -> Iterator[LiveEvent | Failed]:
        kind = str(e.get("type") or "")
        if kind == "session.updated" and not self.connected.is_set():
            self.connected.set()
            session = _obj(e.get("session"))
            yield SessionStarted(str(session.get("id") or ""), session.get("model"))
        elif kind == "input_audio_buffer.speech_started":
            yield SpeechStarted(int(e.get("audio_start_ms") or 0), str(e.get("item_id") or ""))
        elif kind == "input_audio_buffer.speech_stopped":
            if self.config.turn_detection != "none":
                self._awaiting_since = time.monotonic()  # create_response: an answer comes on its own
            yield SpeechStopped(int(e.get("audio_end_ms") or 0), str(e.get("item_id") or ""))
        elif kind == "input_audio_buffer.committed":
            yield Committed(str(e.get("item_id") or ""))
        elif kind == "conversation.item.input_audio_transcription.completed":
            yield Heard(str(e.get("transcript") or "").strip(), str(e.get("item_id") or ""))
        elif kind == "response.created":
            rid = str(_obj(e.get("response")).get("id") or "")
            with self._lock:
                self._responses[rid] = {"text": [], "bytes": 0, "item": None}
            yield ResponseStarted(rid)
        elif kind in ("response.output_audio_transcript.delta", "response.output_text.delta"):
            rid = str(e.get("response_id") or "")
            text = str(e.get("delta") or "")
            self._response(rid, str(e.get("item_id") or ""))["text"].append(text)
            yield AnswerDelta(text, rid, str(e.get("item_id") or ""))
        elif kind == "response.output_audio.delta":
            rid, item = str(e.get("response_id") or ""), str(e.get("item_id") or "")
            pcm = base64.b64decode(str(e.get("delta") or ""))
            self._response(rid, item)["bytes"] += len(pcm)
            yield AudioDelta(pcm, rid, item, time.monotonic())
        elif kind == "response.done":
            yield self._done(_obj(e.get("response")))
        elif kind == "conversation.item.truncated":
            yield Truncated(str(e.get("item_id") or ""), int(e.get("audio_end_ms") or 0))
        elif kind == "error":
            err = _obj(e.get("error"))
            problem = problem_from_error(err, self.ctx)
            if err.get("event_id") == SESSION_EVENT_ID or not self.connected.is_set():
                yield Failed(problem)  # the session could not be configured: nothing else can work
            else:
                yield Rejected(problem, err.get("event_id"))

    def _response(self, rid: str, item: str) -> dict[str, Any]:
        with self._lock:
            r = self._responses.setdefault(rid, {"text": [], "bytes": 0, "item": None})
            r["item"] = r["item"] or item or None
            return r

    def _done(self, response: dict[str, Any]) -> ResponseDone:
        self._awaiting_since = None
        rid = str(response.get("id") or "")
        with self._lock:
            r = self._responses.pop(rid, {"text": [], "bytes": 0, "item": None})
        status = str(response.get("status") or "completed")
        details = _obj(response.get("status_details"))
        problem = None
        if status == "failed":
            problem = problem_from_error(_obj(details.get("error")), self.ctx)
        item = r["item"]
        if item is None:
            output = response.get("output") or []
            item = next((str(o.get("id")) for o in output if isinstance(o, dict) and o.get("id")), None)
        return ResponseDone(
            rid,
            status,
            finish_reason_of(status, details.get("reason")),
            "".join(r["text"]),
            item,
            int(r["bytes"] / 2 / 24 if r["bytes"] else 0),
            usage_of(response.get("usage")),
            problem,
        )

    def _watch(self) -> None:
        """While an answer is awaited, Azure must say something within response_timeout: else TIMEOUT."""
        limit = self.config.response_timeout
        while not self._closing and not self.cancel.cancelled:
            since = self._awaiting_since
            if since is not None and time.monotonic() - max(since, self._last_event) > limit:
                self._timed_out = True
                self._shutdown()
                return
            time.sleep(min(0.1, limit / 4))

    def _ended(self, exc: BaseException) -> Done | Failed:
        if self.cancel.cancelled:
            return Done("cancelled")
        if self._timed_out:
            seconds = self.config.response_timeout
            return Failed(
                errors.Problem(
                    errors.Kind.TIMEOUT,
                    "No answer in time",
                    f"Azure sent nothing for {seconds:.0f} s while an answer was awaited.",
                    "Try again; if it keeps happening, check the realtime deployment's health in Azure AI Foundry.",
                    retryable=True,
                )
            )
        if self._closing and _closed(exc):
            return Done("stop")
        return Failed(problem_from_exception(exc, self.ctx))

    def _shutdown(self) -> None:
        """Cut the TCP connection at once (cancel, watchdog): the blocked recv wakes."""
        sock = getattr(getattr(self._conn, "_connection", None), "socket", None) or self._raw
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _conn_close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._close_quietly(conn)
        elif self._raw is not None:
            try:
                self._raw.close()
            except OSError:
                pass

    @staticmethod
    def _close_quietly(conn: Any) -> None:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing a dead socket may fail
            pass


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """`exc` and what caused it, in order (bounded: a cycle cannot hang)."""
    for _ in range(8):
        if exc is None:
            return
        yield exc
        exc = exc.__cause__ or exc.__context__


def _closed(exc: BaseException) -> bool:
    return type(exc).__name__.startswith("ConnectionClosed") or isinstance(exc, OSError)


def problem_from_exception(exc: BaseException, ctx: errors.Context) -> errors.Problem:
    """A failure to open or keep the WebSocket: a refused handshake (websockets' InvalidStatus) maps to the same
    problems and exit codes as the HTTP status would; the rest as the HTTP client's failures do."""
    if isinstance(exc, errors.ParleyError):
        return exc.problem
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if type(exc).__name__ == "InvalidStatus" and isinstance(status, int):
        headers = getattr(response, "headers", None)
        body: Any = None
        try:
            body = json.loads(bytes(getattr(response, "body", b"") or b"").decode("utf-8"))
        except ValueError:
            body = None
        rid = headers.get("x-request-id") or headers.get("apim-request-id") if headers is not None else None
        return errors.from_status(status, body, headers, rid, ctx)
    if type(exc).__name__.startswith("ConnectionClosed"):
        return errors.Problem(
            errors.Kind.NETWORK,
            "The live session dropped",
            "The connection to Azure closed in the middle of the session.",
            "Start the session again; check your network if it keeps happening.",
            retryable=True,
        )
    if type(exc).__name__ in ("InvalidHandshake", "InvalidMessage", "InvalidHeader", "InvalidUpgrade"):
        return errors.Problem(
            errors.Kind.NETWORK,
            "Not a Realtime endpoint",
            f"The server at {ctx.endpoint or 'the endpoint'} did not open a WebSocket ({exc}).",
            "Check the endpoint in Settings (https://<resource>.openai.azure.com/); a proxy may be in the way.",
        )
    if type(exc).__name__ == "OpenAIError" and "realtime" in str(exc).lower():
        return errors.Problem(
            errors.Kind.CONFIG,
            "Live voice is not installed",
            str(exc),
            "Reinstall Parley (it needs the `websockets` package, openai's realtime extra).",
        )
    return errors.from_exception(exc, ctx)


PREVIEW_ONLY = (
    "This deployment answered in the older preview Realtime protocol, which Parley does not speak: Parley uses the "
    "GA route (/openai/v1/realtime)."
)


def problem_from_error(err: dict[str, Any], ctx: errors.Context) -> errors.Problem:
    """An `error` event (or a failed response's error) in words: what happened and what to do."""
    code = str(err.get("code") or "") or None
    message = str(err.get("message") or "Azure refused a live-voice request.")
    if code == "rate_limit_exceeded":
        return errors.Problem(
            errors.Kind.RATE_LIMIT,
            "Rate limited",
            message,
            "Wait a moment and speak again, or raise the realtime deployment's quota in Azure AI Foundry.",
            code=code,
            retryable=True,
        )
    if code == "unknown_parameter" and err.get("param") == "session.type":
        return errors.Problem(
            errors.Kind.API_VERSION,
            "Preview Realtime protocol",
            PREVIEW_ONLY,
            "Deploy gpt-realtime or gpt-realtime-mini and enter it as the realtime deployment in Settings.",
            code=code,
        )
    if err.get("type") == "server_error":
        return errors.Problem(
            errors.Kind.SERVER,
            "Azure had a problem",
            message,
            "Speak again in a moment; if it persists, check Azure status for your region.",
            code=code,
            retryable=True,
        )
    return errors.Problem(
        errors.Kind.BAD_REQUEST,
        "Azure refused a live-voice request",
        message,
        "Check the realtime and transcription deployments in Settings, then start the session again.",
        code=code,
    )
