"""What a voice session tells the GUI, as frozen values: its state, what the user said, the reply as it streams,
the words heard so far, notices, problems, timings, the conversation it stores into, and the microphone's level."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from app.core import errors
from app.core.turns import FinishReason


class VoiceState(Enum):
    IDLE = "Idle"
    LISTENING = "Listening"
    TRANSCRIBING = "Transcribing"
    THINKING = "Thinking"
    SPEAKING = "Speaking"


@dataclass(frozen=True)
class StateChanged:
    state: VoiceState


@dataclass(frozen=True)
class UserSaid:
    text: str
    seconds: float


@dataclass(frozen=True)
class UserHearing:
    """What a streamed transcription (gpt-4o-transcribe) has heard of the turn so far; `UserSaid` follows."""

    text: str


@dataclass(frozen=True)
class ReplyDelta:
    text: str


@dataclass(frozen=True)
class ReplyDone:
    text: str
    finish_reason: FinishReason | None


@dataclass(frozen=True)
class Notice:
    """Something the user should read, not an error. With a title it is a warning to act on ('No speech heard —
    check the microphone (Mic 1).'); without one, a passing note ('Stopped to listen.')."""

    text: str
    title: str = ""


@dataclass(frozen=True)
class VoiceFailed:
    problem: errors.Problem


@dataclass(frozen=True)
class Timing:
    """Latencies Parley itself adds, for the voice benchmark: name → milliseconds."""

    name: str
    ms: float


@dataclass(frozen=True)
class ConversationStarted:
    """The voice conversation is stored under this id (the chat tab can reopen it)."""

    conversation_id: int


@dataclass(frozen=True)
class InputLevel:
    """The microphone's latest level for the meter, with the VAD's threshold while a session listens; `frames`
    counts what the device has delivered so far (it is really recording)."""

    rms_db: float
    threshold_db: float | None = None
    frames: int = 0
