"""One chat turn against a stored conversation: save the question, stream the answer, save it as it grows.

The job that streams also writes, so what is on disk never depends on the GUI thread: the user's message is stored
before the request goes out, the reply is rewritten at least every `save_every` seconds while it streams, and its
outcome (complete, stopped, filtered, failed with the problem) is stored the moment it is known. A process killed
mid-answer therefore loses at most the last second; `History.open` marks such a reply interrupted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.core import chat, errors, filters
from app.core.cancel import CancelToken
from app.core.capabilities import ChatTraits
from app.core.events import Delta, Done, Event, Failed, FilterResult, Started
from app.core.history import History, StoredMessage
from app.core.turns import MessageStatus, TurnWriter, status_for

if TYPE_CHECKING:  # pragma: no cover - openai is imported lazily
    from openai import AzureOpenAI

__all__ = ["AnswerStarted", "Turn", "TurnEnded", "UserSaved", "build_context", "run_turn", "status_for"]

CONTINUE_PROMPT = (
    "Your previous answer was cut off. Continue exactly where it stopped, without repeating "
    "anything and without any preamble."
)
CONTEXT_CHARS = 400_000  # older messages beyond this are left out of the request (about 100k tokens)
IMAGE_CHARS = 4_000  # what an image counts for in that budget (about a thousand tokens)


@dataclass(frozen=True)
class Turn:
    """What to send. Exactly one of: new `text` (+ images); `resend_id` (regenerate the answer to that user message,
    with `text` replacing its text when editing); `continue_id` (append to that assistant reply)."""

    conversation_id: int  # 0: start a new conversation with `system_prompt`
    deployment: str
    text: str | None = None
    images: tuple[chat.ImagePart, ...] = ()
    resend_id: int | None = None
    continue_id: int | None = None
    system_prompt: str = ""
    max_tokens: int | None = None
    temperature: float | None = None
    reasoning_effort: str | None = None  # sent only where the deployment takes it (else a Notice)
    traits: ChatTraits | None = None  # `Profile.chat_traits(deployment)`; None: the name decides


@dataclass(frozen=True)
class UserSaved:
    """The question is on disk (first event of a turn)."""

    message: StoredMessage


@dataclass(frozen=True)
class AnswerStarted:
    """The reply has a stored message; `prefix` is text it already had (Continue)."""

    message_id: int
    prefix: str = ""


@dataclass(frozen=True)
class TurnEnded:
    """Everything is stored; `status` is the reply's (or the question's, when no reply started)."""

    user_message_id: int
    answer_message_id: int | None
    status: MessageStatus


def build_context(messages: list[StoredMessage], upto_id: int) -> list[chat.Message]:
    """The request's messages: the conversation up to `upto_id`, leaving out questions that never got an answer
    (failed or filtered earlier) and empty replies, and the oldest messages beyond CONTEXT_CHARS."""
    chosen = [m for m in messages if m.id <= upto_id]
    out: list[chat.Message] = []
    for i, m in enumerate(chosen):
        if m.role == "assistant":
            if m.text.strip():
                out.append(chat.Message("assistant", m.text))
            continue
        if m.role != "user":
            continue
        answered = i + 1 < len(chosen) and chosen[i + 1].role == "assistant" and chosen[i + 1].text.strip()
        if m.id != upto_id and not answered:
            continue
        images = tuple(chat.ImagePart(a.data, a.mime, a.name) for a in m.attachments if a.data)
        out.append(chat.Message("user", m.text, images))
    total = 0
    for keep in range(len(out) - 1, -1, -1):
        total += len(out[keep].text) + IMAGE_CHARS * len(out[keep].images)
        if total > CONTEXT_CHARS and keep < len(out) - 1:
            out = out[keep + 1 :]
            break
    while out and out[0].role == "assistant":
        out = out[1:]
    return out


def _stored(message: StoredMessage | None) -> StoredMessage:
    """A writer with a history always stores; None here would be a bug in TurnWriter, not a user's problem."""
    if message is None:
        raise RuntimeError("the turn writer stored nothing")
    return message


def _stored_id(message_id: int | None) -> int:
    if message_id is None:
        raise RuntimeError("the turn writer stored nothing")
    return message_id


def run_turn(
    history: History,
    client: AzureOpenAI,
    turn: Turn,
    *,
    cancel: CancelToken,
    ctx: errors.Context,
    max_retries: int = 2,
    save_every: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Event | UserSaved | AnswerStarted | TurnEnded]:
    """Store, send and stream one turn. Yields UserSaved, then the chat events (with AnswerStarted after Started),
    then TurnEnded once the outcome is stored. Never raises for Azure failures."""
    cid = (
        turn.conversation_id
        or history.create_conversation(system_prompt=turn.system_prompt, deployment=turn.deployment).id
    )
    writer = TurnWriter(history, cid, save_every=save_every, clock=clock)
    if turn.continue_id is not None:
        answer = history.get_message(turn.continue_id)
        if answer is None or answer.role != "assistant":
            raise errors.ParleyError(
                errors.Problem(
                    errors.Kind.OTHER,
                    "Nothing to continue",
                    "That answer is no longer in this chat.",
                    "Send a new message.",
                )
            )
        earlier = [m for m in history.messages(cid) if m.id < answer.id and m.role == "user"]
        user = earlier[-1] if earlier else answer
    elif turn.resend_id is not None:
        resent = history.get_message(turn.resend_id)
        if resent is None:
            raise errors.ParleyError(
                errors.Problem(
                    errors.Kind.OTHER,
                    "Message gone",
                    "That message is no longer in this chat.",
                    "Send it again.",
                )
            )
        new_text = turn.text if turn.text is not None else resent.text
        history.update_message_text(resent.id, new_text)  # also clears the problem the last try left on it
        history.delete_messages_after(cid, resent.id)
        history.finish_message(resent.id, new_text, MessageStatus.COMPLETE, verdicts=[])
        user = history.get_message(resent.id) or resent
    else:
        user = _stored(writer.begin_user(turn.text or "", turn.images))
    yield UserSaved(user)

    conversation = history.get_conversation(cid)
    messages = history.messages(cid)
    if turn.continue_id is not None:
        context = build_context(messages, turn.continue_id)
        context.append(chat.Message("user", CONTINUE_PROMPT))
    else:
        context = build_context(messages, user.id)
    request = chat.ChatRequest(
        turn.deployment,
        tuple(context),
        system=(conversation.system_prompt or None) if conversation else None,
        max_tokens=turn.max_tokens,
        temperature=turn.temperature,
        reasoning_effort=turn.reasoning_effort,
        traits=turn.traits,
    )

    answer_id: int | None = None
    prompt_verdicts: list[filters.Verdict] = []
    completion: filters.Verdict | None = None

    for event in chat.stream_chat(client, request, cancel=cancel, ctx=ctx, max_retries=max_retries):
        if isinstance(event, Started):
            yield event
            answer_id = writer.begin_answer(turn.continue_id)
            yield AnswerStarted(_stored_id(answer_id), writer.prefix)
            continue
        if isinstance(event, Delta):
            writer.append(event.text)
        elif isinstance(event, FilterResult):
            if event.verdict.source == filters.Source.PROMPT:
                prompt_verdicts = [v for v in prompt_verdicts if v.index != event.verdict.index] + [
                    event.verdict
                ]
                history.set_filters(user.id, prompt_verdicts)
            else:
                completion = event.verdict
        yield event
        if isinstance(event, Done):
            if answer_id is None:
                yield TurnEnded(user.id, None, MessageStatus.STOPPED)
                return
            status = writer.finish(
                event.finish_reason, usage=event.usage, request_id=event.request_id, verdict=completion
            )
            yield TurnEnded(user.id, answer_id, status)
            return
        if isinstance(event, Failed):
            if answer_id is not None:
                status = writer.finish(None, problem=event.problem, verdict=completion)
                yield TurnEnded(user.id, answer_id, status)
            else:
                yield TurnEnded(user.id, None, writer.fail_question(user, event.problem))
            return
