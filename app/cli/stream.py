"""Printing a chat or completions event stream: text to stdout as it arrives, verdicts and problems to stderr."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from app.cli.common import EXIT_FILTERED, EXIT_INTERRUPTED, EXIT_OK, err, json_line, out, report, retry_words


def _verdict_words(verdict: Any, *, stopped: bool) -> str | None:
    """A filter verdict worth telling: the answer was stopped, the prompt was flagged, or something was detected."""
    from app.core.filters import Source

    what = "prompt" if verdict.source == Source.PROMPT else "answer"
    if stopped:
        return f"Content filter: the {what} was stopped — {verdict.summary()}."
    if verdict.error:
        return f"Content filter: Azure could not check the {what} ({verdict.error})."
    if verdict.filtered:
        return f"Content filter: the {what} was filtered — {verdict.summary()}."
    if verdict.notable:
        return f"Content filter: in the {what}: {verdict.summary()}."
    return None


def stream_text(events: Iterator[Any], *, json_mode: bool) -> int:
    """Print a chat/completions event stream: deltas to stdout, verdicts and problems to stderr; the exit code."""
    from app.core import events as ev
    from app.core.filters import Source

    wrote = False
    at_line_start = True
    answer_verdict = None
    prompt_notes: list[str] = []
    code = EXIT_OK

    def end_line() -> None:
        nonlocal at_line_start
        if wrote and not at_line_start:
            out("\n")
            at_line_start = True

    try:
        for event in events:
            if json_mode:
                if isinstance(event, ev.Failed):
                    return report(event.problem, json_mode=True)
                json_line(ev.to_json(event))
                if isinstance(event, ev.Retrying):
                    err(retry_words(event))
                if isinstance(event, ev.Done):
                    code = (
                        EXIT_FILTERED
                        if event.finish_reason == "content_filter"
                        else EXIT_INTERRUPTED
                        if event.finish_reason == "cancelled"
                        else EXIT_OK
                    )
                continue
            if isinstance(event, ev.Delta):
                out(event.text)
                wrote = True
                at_line_start = event.text.endswith("\n")
            elif isinstance(event, ev.Retrying):
                err(retry_words(event))
            elif isinstance(event, ev.FilterResult):
                if event.verdict.source == Source.PROMPT:
                    words = _verdict_words(event.verdict, stopped=False)
                    if words:
                        prompt_notes.append(words)
                else:
                    answer_verdict = event.verdict
            elif isinstance(event, ev.Failed):
                end_line()
                for note in prompt_notes:
                    err(note)
                return report(event.problem)
            elif isinstance(event, ev.Done):
                end_line()
                for note in prompt_notes:
                    err(note)
                if event.finish_reason == "content_filter":
                    if answer_verdict is not None:
                        err(_verdict_words(answer_verdict, stopped=True) or "")
                    else:
                        err("Content filter: the answer was stopped.")
                    code = EXIT_FILTERED
                elif event.finish_reason == "cancelled":
                    err("Stopped.")
                    code = EXIT_INTERRUPTED
                else:
                    if answer_verdict is not None:
                        words = _verdict_words(answer_verdict, stopped=False)
                        if words:
                            err(words)
                    if event.finish_reason == "length":
                        err("(The answer reached the token limit; raise --max-tokens for more.)")
    except KeyboardInterrupt:
        end_line()
        raise
    return code
