"""Runs one chat turn on a worker and keeps the two message widgets of that turn up to date with its events.

The job (`conversation.run_turn`) stores everything itself; this class only shows it: deltas into the answer,
verdicts on the right message, a 429 countdown, and at the end the card that says what happened and what to do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.core import chat, errors, filters
from app.core.cancel import CancelToken
from app.core.conversation import AnswerStarted, Turn, TurnEnded, UserSaved, run_turn, status_for
from app.core.events import Delta, Done, Failed, FilterResult, Learned, Notice, Retrying
from app.ui.chat.message_widget import MessageWidget
from app.ui.chat.view import ChatView, card_actions, show_filtered_answer
from app.ui.common.workers import JobResult, JobSlot

log = logging.getLogger(__name__)


BATCH_SECONDS = 0.02  # deltas closer together than this reach the GUI thread as one event


@dataclass(frozen=True)
class Deltas(Delta):
    """Several deltas in one event; `count` is how many arrived."""

    count: int = 1


def batched(events: Iterator[Any], clock: Callable[[], float] = time.monotonic) -> Iterator[Any]:
    """Deltas that arrive faster than BATCH_SECONDS apart are joined. Each event is one queued signal, and Qt
    handles every queued signal before it looks at input or paints again: thousands a second (a fast stream of a
    huge answer) froze the window for half a second at a time. A slow stream's deltas still go one by one."""
    parts: list[str] = []
    last = clock() - BATCH_SECONDS
    for event in events:
        if type(event) is Delta:
            parts.append(event.text)
            now = clock()
            if now - last >= BATCH_SECONDS:
                yield Deltas("".join(parts), len(parts))
                parts, last = [], now
            continue
        if parts:
            yield Deltas("".join(parts), len(parts))
            parts, last = [], clock()
        yield event
    if parts:
        yield Deltas("".join(parts), len(parts))


def _run(connection: Any, history: Any, turn: Turn, *, cancel: CancelToken):
    """The job: the client is built here, off the GUI thread (the first call imports openai)."""
    client = connection.client()
    ctx = replace(connection.context("chat"), deployment=turn.deployment)
    yield from batched(
        run_turn(history, client, turn, cancel=cancel, ctx=ctx, max_retries=connection.profile.max_retries)
    )


def _routed(turn: Turn | None) -> bool:
    """model-router answers with the model it picked: that one is worth naming on the answer."""
    if turn is None:
        return False
    traits = turn.traits or chat.ChatRequest(turn.deployment, ()).model_traits
    return traits.router


class TurnRunner(QObject):
    conversation_known = Signal(
        int
    )  # the turn's conversation id (new chats get one when the question is stored)
    # Once the turn's job is over (`running` is False, a next turn may start): its TurnEnded, or None when the job
    # failed before storing anything. Not when the outcome is stored: the worker may still be closing its stream.
    ended = Signal(object)
    unsent = Signal(object)  # errors.Problem: the question could not even be stored (it is back in the box)
    notice = Signal(object)  # events.Notice: a setting this model does not take (said once, by the tab)
    learned = Signal(object)  # events.Learned: what Azure showed about the deployment, for the profile
    reached = Signal(
        object
    )  # errors.Problem the turn failed with, or None once Azure answered (the status bar)

    def __init__(self, view: ChatView, parent: QObject | None = None):
        super().__init__(parent)
        self.view = view
        self._job = JobSlot(self, "chat")
        self.user: MessageWidget | None = None
        self.answer: MessageWidget | None = None
        self.answer_started = False
        self.sent_text = ""
        self.sent_images: list[Any] = []
        self.restore_to: Any = None  # callable(text, images) to put an unsent message back in the box
        self._prompt_verdicts: list[filters.Verdict] = []
        self.deltas = 0
        self._outcome: TurnEnded | None = None  # what the worker stored, told by `ended` once the job is over
        self.turn: Turn | None = None
        self.price_for: Callable[[str], Any] = lambda _deployment: None
        # From the request until the first visible token (reasoning models think silently first).
        self._thinking = QTimer(self)
        self._thinking.setInterval(250)
        self._thinking.timeout.connect(self._tick)
        self._sent_at = 0.0
        self.thinking_seconds: float | None = None  # how long the last answer took to start

    @property
    def running(self) -> bool:
        return self._job.running

    @property
    def job(self) -> Any:
        """The turn's job while it runs, else None."""
        return self._job.job if self._job.running else None

    def start(
        self, connection: Any, history: Any, turn: Turn, user: MessageWidget, answer: MessageWidget
    ) -> None:
        from functools import partial

        self.user, self.answer = user, answer
        self.turn = turn
        self.answer_started = False
        self._sent_at = time.monotonic()
        self.thinking_seconds = None
        self._thinking.start()
        self._prompt_verdicts = []
        self.deltas = 0
        answer.set_state("streaming")
        answer.set_thinking(0)
        self.view.update_regenerate()
        self._outcome = None
        self._outcome_shown = False
        # drain: after Stop the turn still stores the partial answer as stopped before it ends.
        self._job.start(
            partial(_run, connection, history, turn), self._on_finished, event=self._on_event, drain=True
        )

    def stop(self) -> None:
        self._job.cancel()

    def shutdown(self) -> None:
        """At quit: stop; the worker still stores the partial answer as stopped (drain), the closing window is not
        updated any more."""
        self._job.close()

    @Slot()
    def _tick(self) -> None:
        if self.answer is not None:
            self.answer.set_thinking(time.monotonic() - self._sent_at)

    def _thought(self) -> None:
        """The first visible token (or the end): the thinking state gives way to the answer."""
        if not self._thinking.isActive():
            return
        self._thinking.stop()
        self.thinking_seconds = time.monotonic() - self._sent_at
        if self.answer is not None and self.answer.status == "streaming":
            self.answer.set_state("streaming")

    # -- events -------------------------------------------------------------------------------------------------
    @Slot(object)
    def _on_event(self, event: object) -> None:
        user, answer = self.user, self.answer
        if user is None or answer is None:
            return
        if isinstance(event, Delta):
            self._thought()
            if answer.card.kind == "waiting":
                answer.card.clear()
            answer.append(event.text)
            self.deltas += event.count if isinstance(event, Deltas) else 1
        elif isinstance(event, UserSaved):
            user.message_id = event.message.id
            self.conversation_known.emit(event.message.conversation_id)
        elif isinstance(event, AnswerStarted):
            self.answer_started = True
            answer.message_id = event.message_id
            if answer.card.kind == "waiting":
                answer.card.clear()
        elif isinstance(event, FilterResult):
            verdict = event.verdict
            if verdict.source == filters.Source.PROMPT:
                self._prompt_verdicts = [v for v in self._prompt_verdicts if v.index != verdict.index] + [
                    verdict
                ]
                user.set_verdicts(self._prompt_verdicts)
            else:
                answer.set_verdicts([verdict])
        elif isinstance(event, Retrying):
            answer.card.show_countdown(event.problem, event.wait, event.attempt, event.max_attempts)
        elif isinstance(event, Notice):
            self.notice.emit(event)
        elif isinstance(event, Learned):
            self.learned.emit(event)
        elif isinstance(event, Done):
            self._thought()
            self._on_done(event)
        elif isinstance(event, Failed):
            self._thought()
            self._on_failed(event.problem)
        elif isinstance(event, TurnEnded):
            self._outcome = event  # told once the job has ended (`_on_finished`): then a next turn can start

    def _on_done(self, event: Done) -> None:
        user, answer = self.user, self.answer
        assert user is not None and answer is not None
        self._outcome_shown = True
        answer.flush()
        if answer.card.kind == "waiting":
            answer.card.clear()
        if not self.answer_started:
            self.view.remove(answer)  # stopped before Azure answered: the question stays, unanswered
            user.set_state("stopped")
            return
        self.reached.emit(None)
        answer.set_state(status_for(event.finish_reason), event.finish_reason)
        turn = self.turn
        deployment = turn.deployment if turn is not None else ""
        answer.set_usage(event.usage, self.price_for(deployment))
        if event.model:
            answer.set_model(deployment, event.model if _routed(turn) else None)
        if turn is not None:
            learned = chat.lesson(chat.ChatRequest(deployment, (), traits=turn.traits), event)
            if learned is not None:
                self.learned.emit(learned)
        log.info(
            "chat answered",
            extra={
                "event": "chat.answer",
                "deployment": deployment,
                "model": event.model or "",
                "thinking_seconds": round(self.thinking_seconds or 0.0, 2),
                "tokens": answer.usage.text() if event.usage else "",
            },
        )
        if event.finish_reason == "content_filter":
            show_filtered_answer(answer)

    def _on_failed(self, problem: errors.Problem) -> None:
        user, answer = self.user, self.answer
        assert user is not None and answer is not None
        self._outcome_shown = True
        log.info("chat turn failed: %s", problem.one_line())
        self.reached.emit(problem)
        if self.answer_started:
            answer.flush()
            answer.set_state("failed")
            answer.card.show_problem(problem, card_actions("assistant", problem))
            return
        self.view.remove(answer)
        user.set_state("filtered" if problem.kind == errors.Kind.FILTERED else "failed")
        if problem.verdict is not None:
            user.set_verdicts([problem.verdict])
        user.card.show_problem(problem, card_actions("user", problem))
        if self.restore_to is not None:
            self.restore_to(self.sent_text, self.sent_images)

    @Slot(object)
    def _on_finished(self, result: JobResult) -> None:
        if result.problem is not None and self.user is not None and not self.user.message_id:
            # The question was never stored (a full disk, say): nothing of it stays on screen but in the box.
            if self.answer is not None:
                self.view.remove(self.answer)
            self.view.remove(self.user)
            if self.restore_to is not None:
                self.restore_to(self.sent_text, self.sent_images)
            self.unsent.emit(result.problem)
        elif result.problem is not None and self.user is not None:
            # The job failed before or outside the stream (the history file, say): nothing was lost from the box.
            if self.answer is not None and not self.answer_started:
                self.view.remove(self.answer)
            target = self.answer if self.answer_started and self.answer is not None else self.user
            target.card.show_problem(result.problem, (("retry", "Retry"),))
            if self.restore_to is not None and not self.answer_started:
                self.restore_to(self.sent_text, self.sent_images)
        elif not self._outcome_shown:
            self._thought()
            self._on_done(Done("cancelled"))
        self._thinking.stop()
        self.view.update_regenerate()
        outcome, self._outcome = self._outcome, None
        self.ended.emit(outcome)
