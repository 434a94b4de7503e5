"""What a live (Realtime API) session is configured with and what it yields: frozen values, no Qt, no openai.

`LiveConfig.session()` is the GA `session.update` body (PCM16 24 kHz both ways, the user's turn detection, input
transcription on a transcription deployment); the events are what `realtime.RealtimeSession.run` yields besides
the shared `events.Done` / `events.Failed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core import errors
from app.core.events import Usage
from app.core.turns import FinishReason

RATE = 24_000  # PCM16 mono, both ways: the only rate the Realtime API's audio/pcm takes
TURN_DETECTION = ("server_vad", "semantic_vad", "none")  # "none": push-to-talk (commit + response.create)
EAGERNESS = ("low", "medium", "high", "auto")
VOICES = ("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar")
LIVE_INSTRUCTIONS = (
    "You are Parley, a voice assistant. Answer in short, plain spoken sentences; avoid tables and long code."
)


@dataclass(frozen=True)
class LiveConfig:
    """One live session's settings. `transcription` names a transcription deployment (Azure's input
    transcription runs on one): without it the user's words are not shown or stored."""

    deployment: str
    instructions: str = LIVE_INSTRUCTIONS
    voice: str = "alloy"
    turn_detection: str = "server_vad"
    eagerness: str = "auto"  # semantic VAD only
    vad_threshold: float = 0.5  # server VAD only: 0..1, higher needs louder speech
    silence_ms: int = 500  # server VAD only: this much silence ends the turn
    prefix_ms: int = 300  # server VAD only: audio kept from before speech started
    transcription: str | None = None
    language: str | None = None
    # Seconds Azure may stay silent while an answer is awaited (after a turn ended or respond()): then TIMEOUT.
    response_timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.turn_detection not in TURN_DETECTION:
            raise errors.ParleyError(
                errors.Problem(
                    errors.Kind.CONFIG,
                    "Unknown turn detection",
                    f"'{self.turn_detection}' is not one of {', '.join(TURN_DETECTION)}.",
                    "Choose server VAD, semantic VAD or push-to-talk.",
                )
            )
        if self.eagerness not in EAGERNESS:
            raise errors.ParleyError(
                errors.Problem(
                    errors.Kind.CONFIG,
                    "Unknown eagerness",
                    f"'{self.eagerness}' is not one of {', '.join(EAGERNESS)}.",
                    "Choose low, medium, high or auto.",
                )
            )

    @property
    def push_to_talk(self) -> bool:
        return self.turn_detection == "none"

    def turn_detection_json(self) -> dict[str, Any] | None:
        if self.turn_detection == "none":
            return None
        if self.turn_detection == "semantic_vad":
            return {"type": "semantic_vad", "eagerness": self.eagerness, "create_response": True,
                    "interrupt_response": True}  # fmt: skip
        return {
            "type": "server_vad",
            "threshold": self.vad_threshold,
            "prefix_padding_ms": self.prefix_ms,
            "silence_duration_ms": self.silence_ms,
            "create_response": True,
            "interrupt_response": True,
        }

    def session(self) -> dict[str, Any]:
        """The GA `session.update` body."""
        fmt = {"type": "audio/pcm", "rate": RATE}
        audio_in: dict[str, Any] = {"format": fmt, "turn_detection": self.turn_detection_json()}
        if self.transcription:
            audio_in["transcription"] = {"model": self.transcription} | (
                {"language": self.language} if self.language else {}
            )
        return {
            "type": "realtime",
            "instructions": self.instructions,
            "output_modalities": ["audio"],
            "audio": {"input": audio_in, "output": {"format": fmt, "voice": self.voice}},
        }


@dataclass(frozen=True)
class SessionStarted:
    """The session is configured (`session.updated` came back); audio may flow."""

    session_id: str
    model: str | None


@dataclass(frozen=True)
class SpeechStarted:
    """Server VAD heard the user start (the moment for barge-in); `audio_start_ms` counts the session's audio."""

    audio_start_ms: int
    item_id: str


@dataclass(frozen=True)
class SpeechStopped:
    audio_end_ms: int
    item_id: str


@dataclass(frozen=True)
class Committed:
    """The user's audio became a conversation item (server VAD, or `commit()`)."""

    item_id: str


@dataclass(frozen=True)
class Heard:
    """Input transcription of the user's turn (needs `LiveConfig.transcription`)."""

    text: str
    item_id: str


@dataclass(frozen=True)
class ResponseStarted:
    response_id: str


@dataclass(frozen=True)
class AnswerDelta:
    """A piece of the spoken answer's transcript."""

    text: str
    response_id: str
    item_id: str


@dataclass(frozen=True)
class AudioDelta:
    """PCM16 24 kHz mono answer audio, to play as it arrives; `received_at` is `time.monotonic()` on arrival."""

    pcm: bytes
    response_id: str
    item_id: str
    received_at: float

    @property
    def ms(self) -> float:
        return len(self.pcm) / 2 / RATE * 1000


@dataclass(frozen=True)
class ResponseDone:
    """An answer ended. `status` is Azure's (completed, cancelled, incomplete, failed); `finish_reason` the same
    in Parley's terms (stop, cancelled, barged_in for a VAD-detected interruption, content_filter, length); a failed
    answer (e.g. a rate limit in the session) carries its `problem`. `audio_ms` is how much audio it sent."""

    response_id: str
    status: str
    finish_reason: FinishReason | None
    text: str
    item_id: str | None
    audio_ms: int
    usage: Usage | None = None
    problem: errors.Problem | None = None


@dataclass(frozen=True)
class Truncated:
    """Azure cut an answer item to what was played (`truncate()`): the model now knows what the user heard."""

    item_id: str
    audio_end_ms: int


@dataclass(frozen=True)
class Rejected:
    """Azure refused one client event (an `error` event); the session goes on."""

    problem: errors.Problem
    event_id: str | None = None


LiveEvent = (
    SessionStarted
    | SpeechStarted
    | SpeechStopped
    | Committed
    | Heard
    | ResponseStarted
    | AnswerDelta
    | AudioDelta
    | ResponseDone
    | Truncated
    | Rejected
)


def usage_of(raw: Any) -> Usage | None:
    """A Realtime usage object (input/output tokens, text and audio together) as the chat's `Usage`."""
    if raw is None:
        return None
    get = raw.get if isinstance(raw, dict) else (lambda k, d=0: getattr(raw, k, d))
    prompt, completion = int(get("input_tokens", 0) or 0), int(get("output_tokens", 0) or 0)
    return Usage(prompt, completion, int(get("total_tokens", 0) or (prompt + completion)))


def finish_reason_of(status: str, reason: str | None) -> FinishReason | None:
    if status == "completed":
        return FinishReason.STOP
    if status == "cancelled":
        return FinishReason.BARGED_IN if reason == "turn_detected" else FinishReason.CANCELLED
    if status == "incomplete":
        if reason == "content_filter":
            return FinishReason.CONTENT_FILTER
        if reason == "max_output_tokens":
            return FinishReason.LENGTH
    return FinishReason.parse(reason) if reason else None
