"""Typed events a streaming core job yields (chat, completions, voice); the UI and CLI render them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.errors import Problem
from app.core.filters import Verdict


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def from_obj(cls, usage: Any) -> Usage | None:
        if usage is None:
            return None
        get = usage.get if isinstance(usage, dict) else lambda k, d=0: getattr(usage, k, d)
        return cls(
            int(get("prompt_tokens", 0) or 0),
            int(get("completion_tokens", 0) or 0),
            int(get("total_tokens", 0) or 0),
        )


@dataclass(frozen=True)
class Started:
    """The request was accepted; the request id is known from the response headers."""

    request_id: str | None = None


@dataclass(frozen=True)
class Delta:
    text: str


@dataclass(frozen=True)
class FilterResult:
    """A content-filter verdict: for the prompt (index = prompt index) or the completion so far."""

    verdict: Verdict


@dataclass(frozen=True)
class Retrying:
    """Azure asked us to wait (429) or failed transiently; the job waits `wait` seconds before attempt `attempt`."""

    attempt: int
    max_attempts: int
    wait: float
    problem: Problem


@dataclass(frozen=True)
class Done:
    finish_reason: str | None  # "stop", "length", "content_filter", "cancelled"
    usage: Usage | None = None
    request_id: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class Failed:
    """The job ended with a problem; text already streamed stays where it is."""

    problem: Problem


Event = Started | Delta | FilterResult | Retrying | Done | Failed


def to_json(event: Event) -> dict[str, Any]:
    """The `--json` line for an event, as `parley ask --json` prints it."""
    match event:
        case Started(request_id=rid):
            return {"type": "started", "request_id": rid}
        case Delta(text=text):
            return {"type": "delta", "text": text}
        case FilterResult(verdict=v):
            return {"type": "filter", **v.to_json()}
        case Retrying(attempt=a, max_attempts=m, wait=w, problem=p):
            return {"type": "retrying", "attempt": a, "max_attempts": m, "wait": w, "problem": p.to_json()}
        case Done(finish_reason=fr, usage=u, request_id=rid, model=model):
            return {
                "type": "done",
                "finish_reason": fr,
                "request_id": rid,
                "model": model,
                "usage": None
                if u is None
                else {
                    "prompt_tokens": u.prompt_tokens,
                    "completion_tokens": u.completion_tokens,
                    "total_tokens": u.total_tokens,
                },
            }
        case Failed(problem=p):
            return {"type": "problem", **p.to_json()}
    raise TypeError(f"not an event: {event!r}")
