"""Legacy completions (`completions.create`, e.g. gpt-35-turbo-instruct) as the same events as chat."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.core import errors
from app.core.cancel import CancelToken
from app.core.deadline import timeout_of
from app.core.events import Event
from app.core.streaming import as_dicts, extra, run_stream, run_whole

if TYPE_CHECKING:  # types only: importing them costs start-up time
    from openai import AzureOpenAI


@dataclass(frozen=True)
class CompletionRequest:
    deployment: str
    prompt: str
    max_tokens: int = 100
    temperature: float = 0.0
    stream: bool = True

    def create_kwargs(self) -> dict[str, Any]:
        return {
            "model": self.deployment,
            "prompt": self.prompt,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }


def _text(choice: Any) -> str | None:
    return extra(choice, "text")


def stream_completion(
    client: AzureOpenAI,
    request: CompletionRequest,
    *,
    cancel: CancelToken,
    ctx: errors.Context = errors.Context("completions"),
    max_retries: int = 2,
) -> Iterator[Event]:
    """Started, prompt FilterResults, Deltas (choices[0].text), completion FilterResults, then Done or Failed."""
    kwargs = request.create_kwargs()
    if request.stream:
        yield from run_stream(
            lambda: as_dicts(
                client,
                client.completions.create(**kwargs, stream=True, stream_options={"include_usage": True}),
            ),
            _text,
            cancel=cancel,
            ctx=ctx,
            max_retries=max_retries,
            timeout=timeout_of(client),
        )
    else:
        yield from run_whole(
            lambda: client.completions.with_streaming_response.create(**kwargs),
            _text,
            cancel=cancel,
            ctx=ctx,
            max_retries=max_retries,
            timeout=timeout_of(client),
        )
