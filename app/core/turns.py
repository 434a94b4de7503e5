"""The one way a turn is stored: message status and finish reason enums, `status_for`, and `TurnWriter`, which chat
and voice both use from the job that streams (the GUI thread never writes history)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from app.core import errors, filters
from app.core.events import Usage

if TYPE_CHECKING:
    from app.core.history import History, StoredMessage


class MessageStatus(StrEnum):
    """A stored message's status; the values are the strings in SQLite."""

    COMPLETE = "complete"
    STREAMING = "streaming"  # being written now (or Parley died meanwhile: recovery then marks it stopped)
    STOPPED = "stopped"  # the user stopped it or spoke over it, or Parley closed before it finished
    FAILED = "failed"
    FILTERED = "filtered"


class FinishReason(StrEnum):
    """Why an answer ended: Azure's finish reasons plus Parley's own. Stored as these strings."""

    STOP = "stop"
    LENGTH = "length"
    CONTENT_FILTER = "content_filter"
    TOOL_CALLS = "tool_calls"
    FUNCTION_CALL = "function_call"
    CANCELLED = "cancelled"  # the user pressed Stop (or Esc in voice)
    BARGED_IN = "barged_in"  # voice: the user spoke over Parley, which stopped to listen
    INTERRUPTED = "interrupted"  # only set by history's recovery: Parley closed before the answer finished

    @classmethod
    def _missing_(cls, value: object) -> FinishReason | None:
        """A reason Azure adds later is kept as it came (a value of this type, not a crash on reading history)."""
        if not isinstance(value, str) or not value:
            return None
        member = str.__new__(cls, value)
        member._name_, member._value_ = value.upper(), value
        return member

    @classmethod
    def parse(cls, value: str | None) -> FinishReason | None:
        return cls(value) if value else None


def status_for(finish_reason: str | None, problem: errors.Problem | None = None) -> MessageStatus:
    """The one mapping from how a turn ended to the status it is stored with (chat, voice, recovery)."""
    if problem is not None:
        return MessageStatus.FILTERED if problem.kind == errors.Kind.FILTERED else MessageStatus.FAILED
    reason = FinishReason.parse(finish_reason)
    if reason is FinishReason.CONTENT_FILTER:
        return MessageStatus.FILTERED
    if reason in (FinishReason.CANCELLED, FinishReason.BARGED_IN, FinishReason.INTERRUPTED):
        return MessageStatus.STOPPED
    return MessageStatus.COMPLETE


class TurnWriter:
    """Stores one conversation's turns as they happen: the question at once, the answer as it grows (at most every
    `save_every` seconds, so a crash loses at most that), and the outcome the moment it is known.

    With `history=None` nothing is stored (a voice session without history, as in the benchmark)."""

    def __init__(
        self,
        history: History | None,
        conversation_id: int | None,
        *,
        save_every: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        # Where turns go, or None when nothing is stored.
        self._where = (
            (history, conversation_id) if history is not None and conversation_id is not None else None
        )
        self.conversation_id = conversation_id
        self.save_every = save_every
        self._clock = clock
        self.answer_id: int | None = None
        self.prefix = ""  # text the answer already had (Continue)
        # Only what arrived since the last save: the stored row holds the rest, so a 10 MB answer is not also
        # kept here (the window has its own copy) nor joined again for every save.
        self._unsaved: list[str] = []
        self._last_save = clock()

    # -- the question ------------------------------------------------------------------------------------
    def begin_user(self, text: str, attachments: Iterable[Any] = ()) -> StoredMessage | None:
        """Store the user's message now (a message is saved when it is sent)."""
        if self._where is None:
            return None
        history, cid = self._where
        return history.add_message(cid, "user", text, attachments=attachments)

    def fail_question(self, message: StoredMessage, problem: errors.Problem) -> MessageStatus:
        """The request failed (or its prompt was filtered) before any answer: the question keeps the problem."""
        status = status_for(None, problem)
        if self._where is not None:
            verdicts = [problem.verdict] if problem.verdict is not None else None
            self._where[0].finish_message(
                message.id, message.text, status, problem=problem, verdicts=verdicts
            )
        return status

    # -- the answer --------------------------------------------------------------------------------------
    def begin_answer(self, continue_id: int | None = None) -> int | None:
        """A streaming answer message (or, with `continue_id`, that reply streaming again to be appended to)."""
        self._unsaved, self._last_save = [], self._clock()
        if self._where is None:
            return None
        history, cid = self._where
        if continue_id is not None:
            earlier = history.get_message(continue_id)
            self.prefix = earlier.text if earlier is not None else ""
            history.resume_streaming(continue_id)
            self.answer_id = continue_id
        else:
            self.answer_id = history.begin_assistant(cid).id
        return self.answer_id

    def append(self, text: str) -> None:
        if self._where is None or self.answer_id is None or not text:
            return
        self._unsaved.append(text)
        if self._clock() - self._last_save >= self.save_every:
            self._save()

    def _save(self) -> None:
        """Append what arrived since the last save to the stored reply (after a Continue's earlier text)."""
        if self._where is not None and self.answer_id is not None and self._unsaved:
            more, self._unsaved = "".join(self._unsaved), []
            self._where[0].append_streaming(self.answer_id, more)
        self._last_save = self._clock()

    def finish(
        self,
        finish_reason: str | None,
        *,
        problem: errors.Problem | None = None,
        usage: Usage | None = None,
        request_id: str | None = None,
        verdict: filters.Verdict | None = None,
    ) -> MessageStatus:
        """Store the answer's outcome; returns its status."""
        status = status_for(finish_reason, problem)
        if self._where is not None and self.answer_id is not None:
            self._save()
            self._where[0].finish_message(
                self.answer_id,
                None,  # the text is stored: _save appended the rest
                status,
                finish_reason=FinishReason.parse(finish_reason),
                request_id=request_id,
                usage=usage,
                verdicts=[verdict] if verdict is not None else None,
                problem=problem,
            )
        return status
