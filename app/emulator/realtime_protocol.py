"""One emulated Realtime session: the session config, the input buffer with an energy VAD, and responses, in the
GA event names or the preview ones (`Dialect`). Transport-free: `Session.receive(event)` handles a client event and
`send(event)` (given) puts server events on the wire; a response streams from its own thread."""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.emulator import audio, content

if TYPE_CHECKING:
    from app.emulator.realtime_response import Response

RATE = 24_000
FRAME_MS = 20
AUDIO_CHUNK = 4800  # bytes per output delta: 0.1 s of 24 kHz s16le mono, as the speech route streams
SPEED_UP = 5.0  # output audio streams at ~5x real time by default (Azure sends it faster than it plays)
MIN_COMMIT_MS = 100
SEMANTIC_SILENCE_MS = {"low": 900, "medium": 550, "high": 250, "auto": 550}

# GA server event names that the preview protocol spells differently.
PREVIEW_NAMES = {
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
    "conversation.item.added": "conversation.item.created",
}
# What session.update takes in each protocol: anything else is "Unknown parameter" (Azure's answer to a GA
# session.update on the preview route is "Unknown parameter: 'session.type'.").
GA_SESSION_KEYS = frozenset(
    "type model instructions output_modalities audio max_output_tokens tools tool_choice tracing truncation "
    "prompt include".split()
)
PREVIEW_SESSION_KEYS = frozenset(
    "modalities instructions voice input_audio_format output_audio_format input_audio_transcription "
    "input_audio_noise_reduction turn_detection tools tool_choice temperature max_response_output_tokens "
    "model".split()
)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:22]}"


@dataclass
class Turn:
    """How turns are detected: server VAD, semantic VAD (eagerness sets the silence it waits for), or none."""

    kind: str | None = "server_vad"
    threshold: float = 0.5
    prefix_ms: int = 300
    silence_ms: int = 500
    create_response: bool = True
    interrupt_response: bool = True
    eagerness: str = "auto"

    @property
    def wait_ms(self) -> int:
        return (
            SEMANTIC_SILENCE_MS.get(self.eagerness, 550) if self.kind == "semantic_vad" else self.silence_ms
        )

    @property
    def level(self) -> float:
        """The RMS (0..1) a 20 ms frame must pass to count as speech: threshold 0.5 is 0.02 (about -34 dBFS)."""
        return 0.04 * max(0.05, min(1.0, self.threshold))

    def ga(self) -> dict[str, Any] | None:
        if self.kind is None:
            return None
        if self.kind == "semantic_vad":
            return {
                "type": "semantic_vad",
                "eagerness": self.eagerness,
                "create_response": self.create_response,
                "interrupt_response": self.interrupt_response,
            }
        return {
            "type": "server_vad",
            "threshold": self.threshold,
            "prefix_padding_ms": self.prefix_ms,
            "silence_duration_ms": self.silence_ms,
            "create_response": self.create_response,
            "interrupt_response": self.interrupt_response,
            "idle_timeout_ms": None,
        }

    @classmethod
    def parse(cls, value: Any) -> Turn:
        if not isinstance(value, dict):
            return cls(kind=None)
        kind = value.get("type") if value.get("type") in ("server_vad", "semantic_vad") else "server_vad"
        return cls(
            kind=kind,
            threshold=float(value.get("threshold", 0.5)),
            prefix_ms=int(value.get("prefix_padding_ms", 300)),
            silence_ms=int(value.get("silence_duration_ms", 500)),
            create_response=bool(value.get("create_response", True)),
            interrupt_response=bool(value.get("interrupt_response", True)),
            eagerness=str(value.get("eagerness", "auto")),
        )


class Session:
    """The state of one session. `send(event)` must be thread-safe (responses stream from their own thread)."""

    def __init__(
        self,
        *,
        preview: bool,
        deployment: str,
        model: str,
        send: Callable[[dict[str, Any]], None],
        heard: Callable[[], str | None],
        record_transcript: Callable[[str, float], None],
        token_rate: float | None,
        stopping: threading.Event,
        drop: Callable[[], None],
        fault: str | None = None,
    ):
        self.preview = preview
        self.deployment = deployment
        self.model = model
        self._send = send
        self._heard = heard
        self._record_transcript = record_transcript
        self._token_rate = token_rate
        self._stopping = stopping
        self._drop = drop
        self._fault = fault  # from the handshake's x-parley-fault header: applies to every response
        self.id = new_id("sess")
        self.instructions = "You are a helpful assistant."
        self.voice = "alloy"
        self.transcription: str | None = None
        self.turn = Turn()
        self.buffer = bytearray()  # audio appended since the last commit or clear
        self.buffer_start_ms = 0  # where `buffer` starts in the session's audio
        self.total_bytes = 0
        self.speaking_since_ms: int | None = None  # VAD: speech under way since (buffer ms)
        self._loud_frames = 0
        self._quiet_ms = 0
        self._vad_pos = 0  # bytes of `buffer` the VAD has looked at
        self.items: dict[str, dict[str, Any]] = {}  # conversation items: id -> {"role", "text", "audio_ms"}
        self.last_item: str | None = None
        self.pending_item: str | None = None  # the user item VAD speech will become
        self.last_question = ""
        self._response: Response | None = None
        self._lock = threading.RLock()

    # -- events out ---------------------------------------------------------------------------------------------

    def send(self, event: dict[str, Any]) -> None:
        name = event["type"]
        if self.preview:
            if name == "conversation.item.done":
                return
            event = {**event, "type": PREVIEW_NAMES.get(name, name)}
        self._send({"event_id": new_id("event"), **event})

    def error(self, message: str, *, code: str | None = None, param: str | None = None, event_id: Any = None):
        self.send(
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "code": code,
                    "message": message,
                    "param": param,
                    "event_id": event_id,
                },
            }
        )

    def session_json(self) -> dict[str, Any]:
        if self.preview:
            return {
                "id": self.id,
                "object": "realtime.session",
                "model": self.model,
                "modalities": ["audio", "text"],
                "instructions": self.instructions,
                "voice": self.voice,
                "input_audio_format": "pcm16",
                "output_audio_format": "pcm16",
                "input_audio_transcription": {"model": self.transcription} if self.transcription else None,
                "turn_detection": self.turn.ga(),
                "tools": [],
                "tool_choice": "auto",
                "temperature": 0.8,
                "max_response_output_tokens": "inf",
            }
        fmt = {"type": "audio/pcm", "rate": RATE}
        return {
            "type": "realtime",
            "object": "realtime.session",
            "id": self.id,
            "model": self.model,
            "output_modalities": ["audio"],
            "instructions": self.instructions,
            "tools": [],
            "tool_choice": "auto",
            "max_output_tokens": "inf",
            "tracing": None,
            "truncation": "auto",
            "prompt": None,
            "audio": {
                "input": {
                    "format": fmt,
                    "transcription": {"model": self.transcription} if self.transcription else None,
                    "noise_reduction": None,
                    "turn_detection": self.turn.ga(),
                },
                "output": {"format": fmt, "voice": self.voice, "speed": 1.0},
            },
        }

    # -- events in ----------------------------------------------------------------------------------------------

    def receive(self, event: Any) -> None:
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return self.error("The event must be a JSON object with a 'type'.", code="invalid_event")
        kind, eid = event["type"], event.get("event_id")
        with self._lock:
            handler = {
                "session.update": self._session_update,
                "input_audio_buffer.append": self._append,
                "input_audio_buffer.commit": self._commit_event,
                "input_audio_buffer.clear": self._clear,
                "response.create": self._response_create,
                "response.cancel": self._response_cancel,
                "conversation.item.truncate": self._truncate,
            }.get(kind)
            if handler is None:
                return self.error(
                    f"Invalid value: '{kind}'. Supported values are: 'session.update', "
                    "'input_audio_buffer.append', 'input_audio_buffer.commit', 'input_audio_buffer.clear', "
                    "'conversation.item.create', 'conversation.item.truncate', 'conversation.item.delete', "
                    "'response.create', and 'response.cancel'.",
                    code="invalid_value",
                    param="type",
                    event_id=eid,
                )
            handler(event, eid)

    def _session_update(self, event: dict[str, Any], eid: Any) -> None:
        session = event.get("session")
        if not isinstance(session, dict):
            return self.error("Missing required parameter: 'session'.", code="missing_required_parameter")
        allowed = PREVIEW_SESSION_KEYS if self.preview else GA_SESSION_KEYS
        for key in session:
            if key not in allowed:
                return self.error(
                    f"Unknown parameter: 'session.{key}'.",
                    code="unknown_parameter",
                    param=f"session.{key}",
                    event_id=eid,
                )
        if not self.preview and session.get("type") != "realtime":
            return self.error(
                "Missing required parameter: 'session.type'.",
                code="missing_required_parameter",
                param="session.type",
                event_id=eid,
            )
        if isinstance(session.get("instructions"), str):
            self.instructions = session["instructions"]
        if self.preview:
            self.voice = str(session.get("voice") or self.voice)
            if "input_audio_transcription" in session:
                t = session["input_audio_transcription"]
                self.transcription = str(t.get("model")) if isinstance(t, dict) else None
            if "turn_detection" in session:
                self.turn = Turn.parse(session["turn_detection"])
        else:
            audio_cfg = _dict(session.get("audio"))
            inp, out = _dict(audio_cfg.get("input")), _dict(audio_cfg.get("output"))
            fmt = inp.get("format")
            if isinstance(fmt, dict) and fmt.get("type") not in (None, "audio/pcm"):
                return self.error(
                    "The Parley emulator takes audio/pcm (PCM16, 24 kHz, mono) input only.",
                    code="invalid_value",
                    param="session.audio.input.format.type",
                    event_id=eid,
                )
            if "transcription" in inp:
                t = inp["transcription"]
                self.transcription = str(t.get("model")) if isinstance(t, dict) else None
            if "turn_detection" in inp:
                self.turn = Turn.parse(inp["turn_detection"])
            if out.get("voice"):
                self.voice = str(out["voice"])
        self.send({"type": "session.updated", "session": self.session_json()})

    def _append(self, event: dict[str, Any], eid: Any) -> None:
        try:
            pcm = base64.b64decode(str(event.get("audio") or ""), validate=True)
        except ValueError:
            return self.error(
                "Invalid 'audio'. Expected base64-encoded audio.", code="invalid_value", event_id=eid
            )
        pcm = pcm[: len(pcm) // 2 * 2]
        self.buffer += pcm
        self.total_bytes += len(pcm)
        if self.turn.kind is not None:
            self._vad()

    def _vad(self) -> None:
        """Energy VAD over the new 20 ms frames: speech starts after 40 ms above the level, ends after the
        configured silence; the committed turn then becomes an item and (create_response) an answer."""
        import numpy as np

        frame = RATE * FRAME_MS // 1000 * 2
        while len(self.buffer) - self._vad_pos >= frame:
            chunk = np.frombuffer(bytes(self.buffer[self._vad_pos : self._vad_pos + frame]), "<i2")
            self._vad_pos += frame
            level = float(np.sqrt(np.mean((chunk.astype(np.float32) / 32768.0) ** 2)))
            at_ms = self._ms(self._vad_pos)
            if level >= self.turn.level:
                self._loud_frames += 1
                self._quiet_ms = 0
                if self.speaking_since_ms is None and self._loud_frames >= 2:
                    self.speaking_since_ms = max(
                        self.buffer_start_ms, at_ms - 2 * FRAME_MS - self.turn.prefix_ms
                    )
                    self.pending_item = new_id("item")
                    self.send(
                        {
                            "type": "input_audio_buffer.speech_started",
                            "audio_start_ms": self.speaking_since_ms,
                            "item_id": self.pending_item,
                        }
                    )
                    if self._response is not None and self.turn.interrupt_response:
                        self._response.stop("cancelled", {"type": "cancelled", "reason": "turn_detected"})
            else:
                self._loud_frames = 0
                if self.speaking_since_ms is not None:
                    self._quiet_ms += FRAME_MS
                    if self._quiet_ms >= self.turn.wait_ms:
                        item = self.pending_item or new_id("item")
                        self.send(
                            {
                                "type": "input_audio_buffer.speech_stopped",
                                "audio_end_ms": at_ms,
                                "item_id": item,
                            }
                        )
                        cut = len(self.buffer) - self._vad_pos
                        self._commit(item, keep_tail=cut)
                        if self.turn.create_response:
                            self._start_response()

    def _ms(self, buffer_bytes: int) -> int:
        return self.buffer_start_ms + buffer_bytes // 2 * 1000 // RATE

    def _commit_event(self, event: dict[str, Any], eid: Any) -> None:
        ms = len(self.buffer) // 2 * 1000 / RATE
        if ms < MIN_COMMIT_MS:
            return self.error(
                f"Error committing input audio buffer: buffer too small. Expected at least {MIN_COMMIT_MS}ms of "
                f"audio, but buffer only has {ms:.2f}ms of audio.",
                code="input_audio_buffer_commit_empty",
                event_id=eid,
            )
        self._commit(self.pending_item or new_id("item"))

    def _commit(self, item_id: str, keep_tail: int = 0) -> None:
        """The buffer (but a tail the VAD has not looked at) becomes a user item; its transcript comes after."""
        pcm = bytes(self.buffer[: len(self.buffer) - keep_tail])
        self.buffer_start_ms = self._ms(len(pcm))
        del self.buffer[: len(pcm)]
        self._vad_pos = 0
        self.speaking_since_ms, self.pending_item, self._loud_frames, self._quiet_ms = None, None, 0, 0
        previous, self.last_item = self.last_item, item_id
        self.send({"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": previous})
        wav = audio.wav_header(len(pcm)) + pcm
        text, seconds, _ = audio.transcribe(wav, self._heard)
        self._record_transcript(text, seconds)
        self.last_question = text
        self.items[item_id] = {"role": "user", "text": text, "audio_ms": int(seconds * 1000)}
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        self.send({"type": "conversation.item.added", "previous_item_id": previous, "item": item})
        self.send({"type": "conversation.item.done", "previous_item_id": previous, "item": item})
        if self.transcription:
            self.send(
                {
                    "type": "conversation.item.input_audio_transcription.completed",
                    "item_id": item_id,
                    "content_index": 0,
                    "transcript": text,
                    "usage": {"type": "duration", "seconds": round(seconds, 2)},
                }
            )

    def _clear(self, event: dict[str, Any], eid: Any) -> None:
        self.buffer_start_ms = self._ms(len(self.buffer))
        self.buffer.clear()
        self._vad_pos = 0
        self.speaking_since_ms, self.pending_item = None, None
        self.send({"type": "input_audio_buffer.cleared"})

    def _response_create(self, event: dict[str, Any], eid: Any) -> None:
        if self._response is not None:
            return self.error(
                f"Conversation already has an active response in progress: {self._response.id}. Wait until the "
                "response is finished before creating a new one.",
                code="conversation_already_has_active_response",
                event_id=eid,
            )
        self._start_response()

    def _response_cancel(self, event: dict[str, Any], eid: Any) -> None:
        if self._response is None:
            return self.error(
                "Cancellation failed: no active response found",
                code="response_cancel_not_active",
                event_id=eid,
            )
        self._response.stop("cancelled", {"type": "cancelled", "reason": "client_cancelled"})

    def _truncate(self, event: dict[str, Any], eid: Any) -> None:
        item_id = str(event.get("item_id") or "")
        item = self.items.get(item_id)
        end = event.get("audio_end_ms")
        if item is None or item["role"] != "assistant":
            return self.error(
                f"Invalid 'item_id': '{item_id}'. The item must be an existing assistant message.",
                code="invalid_value",
                param="item_id",
                event_id=eid,
            )
        if not isinstance(end, int) or end < 0 or end > item["audio_ms"]:
            return self.error(
                f"Audio content of {item['audio_ms']}ms is shorter than {end}ms",
                code="invalid_value",
                param="audio_end_ms",
                event_id=eid,
            )
        # What the user did not hear is no longer in the conversation: the transcript is cut to what was played.
        share = end / item["audio_ms"] if item["audio_ms"] else 0.0
        item["text"] = item["text"][: int(len(item["text"]) * share)]
        item["audio_ms"] = end
        item["truncated"] = True
        self.send(
            {
                "type": "conversation.item.truncated",
                "item_id": item_id,
                "content_index": int(event.get("content_index") or 0),
                "audio_end_ms": end,
            }
        )

    def _start_response(self) -> None:
        d = content.directives(self.last_question, {"x-parley-fault": self._fault} if self._fault else {})
        from app.emulator.realtime_response import Response

        response = Response(self, d)
        self._response = response
        response.start()

    def _finished(self, response: Response) -> None:
        with self._lock:
            if self._response is response:
                self._response = None

    def close(self) -> None:
        response = self._response
        if response is not None:
            response.stop(None, None)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
