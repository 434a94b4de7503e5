"""Typed events a streaming core job yields (chat, completions, voice); the UI and CLI render them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.capabilities import Family
from app.core.errors import Problem
from app.core.filters import Verdict


@dataclass(frozen=True)
class Usage:
    """Tokens of one answer. `completion_tokens` includes the hidden `reasoning_tokens`; `cached_tokens` are the
    part of `prompt_tokens` Azure served from its prompt cache (openai's `CompletionUsage` details)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def output_tokens(self) -> int:
        """The visible answer's tokens: completion minus reasoning."""
        return max(0, self.completion_tokens - self.reasoning_tokens)

    @classmethod
    def from_obj(cls, usage: Any) -> Usage | None:
        """From openai's `CompletionUsage`, Azure's JSON, or `to_json`'s flat dict (as history stores it)."""
        if usage is None:
            return None
        return cls(
            _count(usage, "prompt_tokens"),
            _count(usage, "completion_tokens"),
            _count(usage, "total_tokens"),
            _count(usage, "cached_tokens") or _count(_field(usage, "prompt_tokens_details"), "cached_tokens"),
            _count(usage, "reasoning_tokens")
            or _count(_field(usage, "completion_tokens_details"), "reasoning_tokens"),
        )

    def to_json(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "cached_tokens": self.cached_tokens,
            "reasoning_tokens": self.reasoning_tokens,
        }


def _field(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _count(obj: Any, name: str) -> int:
    try:
        return int(_field(obj, name) or 0)
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True)
class Notice:
    """Something the user should read once, that is not a failure: e.g. a setting this model does not take
    ("Temperature does not apply to o4-mini; it was not sent."). `setting` names it ("temperature")."""

    text: str
    setting: str = ""


@dataclass(frozen=True)
class Learned:
    """Azure showed what a deployment serves (a response's `model`, or a 400 naming a parameter it rejects). The
    caller keeps it: `ProfileStore.remember(profile, deployment, family, model)` (core never writes settings here)."""

    deployment: str
    family: Family | None
    model: str | None = None


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


Event = Started | Delta | FilterResult | Retrying | Notice | Learned | Done | Failed


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
                "usage": None if u is None else u.to_json(),
            }
        case Notice(text=text, setting=setting):
            return {"type": "notice", "text": text, "setting": setting}
        case Learned(deployment=dep, family=family, model=model):
            return {
                "type": "learned",
                "deployment": dep,
                "family": str(family) if family else None,
                "model": model,
            }
        case Failed(problem=p):
            return {"type": "problem", **p.to_json()}
    raise TypeError(f"not an event: {event!r}")
