"""What each audio family accepts (voices, a speaking style, transcription formats, streaming) and gpt-4o-transcribe's
streamed transcription (`transcript.text.delta` … `transcript.text.done`), for audio_api, voice, the CLI and the window.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from app.core import errors
from app.core.cancel import CancelToken
from app.core.capabilities import Family, family_for_model
from app.core.deadline import Watchdog, timed_out
from app.core.events import Started
from app.core.netio import body_start, cancellable, close_on_cancel
from app.core.retry import retrying

# tts / tts-hd on Azure: the six voices Azure's text-to-speech quickstart lists (the seed's).
TTS_VOICES = ("alloy", "echo", "fable", "onyx", "nova", "shimmer")
# gpt-4o-mini-tts: the built-in voices of openai-python's `SpeechCreateParams.voice`.
INSTRUCT_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
# `response_format` per transcription family: gpt-4o-transcribe answers 400 "response_format 'verbose_json' is not
# compatible with model … Use 'json' or 'text' instead." (no timestamps, no subtitles).
TRANSCRIPTION_FORMATS = {
    Family.WHISPER: ("json", "text", "srt", "verbose_json", "vtt"),
    Family.TRANSCRIBE: ("json", "text"),
}
MAX_INSTRUCTIONS_CHARS = 4096  # the same bound Azure puts on `input`; a style is a sentence or two


def family_of(deployment: str, family: Family | None) -> Family | None:
    """The family the caller knows (learned or set in the profile), else what the deployment's name suggests."""
    return family or family_for_model(deployment)


def voices_for(family: Family | None) -> tuple[str, ...]:
    """The voices a speech deployment of `family` offers (an unknown family gets tts's six, which every model has)."""
    return INSTRUCT_VOICES if family is Family.TTS_INSTRUCT else TTS_VOICES


def takes_instructions(family: Family | None) -> bool:
    """Only gpt-4o-mini-tts takes a speaking style; tts and tts-hd do not ("Does not work with tts-1 or tts-1-hd")."""
    return family is Family.TTS_INSTRUCT


def streams_transcription(family: Family | None) -> bool:
    """gpt-4o-transcribe / -mini-transcribe stream `transcript.text.*` events; whisper ignores `stream`."""
    return family is Family.TRANSCRIBE


@dataclass(frozen=True)
class TranscriptDelta:
    """More of a streamed transcript: `text` is the new piece (append it), before the final `Transcript`."""

    text: str


@dataclass(frozen=True)
class AudioUsage:
    """Tokens a gpt-4o transcription was billed for (`usage` of type "tokens"); whisper returns none."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    audio_tokens: int | None = None
    text_tokens: int | None = None

    @classmethod
    def from_obj(cls, usage: Any) -> AudioUsage | None:
        if usage is None:
            return None

        def get(obj: Any, key: str) -> Any:
            return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)

        if get(usage, "type") not in (None, "tokens"):  # "duration" usage (seconds) carries no tokens
            return None
        details = get(usage, "input_token_details")
        audio = get(details, "audio_tokens") if details is not None else None
        text = get(details, "text_tokens") if details is not None else None
        return cls(
            int(get(usage, "input_tokens") or 0),
            int(get(usage, "output_tokens") or 0),
            int(get(usage, "total_tokens") or 0),
            None if audio is None else int(audio),
            None if text is None else int(text),
        )


def transcript_of(result: Any) -> tuple[str, AudioUsage | None]:
    """The text and usage of a transcription; a TypeError for JSON of another shape (`{"text": 5}`), which
    `netio.request_parsed` quotes as an unexpected reply."""
    text = result.get("text") if isinstance(result, dict) else getattr(result, "text", None)
    if not isinstance(text, str):
        raise TypeError(f"text is {type(text).__name__}")
    return text.strip(), AudioUsage.from_obj(getattr(result, "usage", None))


def _config(title: str, detail: str, action: str) -> errors.ParleyError:
    return errors.ParleyError(errors.Problem(errors.Kind.CONFIG, title, detail, action))


def check_speech_options(
    deployment: str, family: Family | None, voice: str, instructions: str | None
) -> None:
    """Raise `ParleyError` CONFIG for a voice the family does not offer or a style it cannot take (nothing is sent).

    A deployment whose family is unknown (an opaque name, nothing learned yet) gets the style sent: Azure decides."""
    voices = voices_for(family)
    if voice not in voices:
        raise _config(
            "Unknown voice",
            f"The speech deployment {deployment} has no voice '{voice}'.",
            f"Choose one of: {', '.join(voices)}.",
        )
    if instructions and family in (Family.TTS,):
        raise _config(
            "No speaking style on this deployment",
            f"{deployment} is a tts/tts-hd deployment; only gpt-4o-mini-tts takes a speaking style.",
            "Leave the speaking style empty, or use a gpt-4o-mini-tts deployment.",
        )
    if instructions and len(instructions) > MAX_INSTRUCTIONS_CHARS:
        raise _config(
            "Speaking style too long",
            f"The speaking style has {len(instructions)} characters.",
            f"Describe the style in at most {MAX_INSTRUCTIONS_CHARS} characters.",
        )


def speech_kwargs(family: Family | None, instructions: str | None) -> dict[str, Any]:
    """The family's extra `audio.speech.create` arguments: `instructions` only where the model takes it."""
    if instructions and instructions.strip() and family is not Family.TTS:
        return {"instructions": instructions.strip()}
    return {}


def transcription_kwargs(
    family: Family | None, *, language: str | None, prompt: str | None
) -> dict[str, Any]:
    """`audio.transcriptions.create` arguments both families accept: json (never verbose_json), language, prompt."""
    options: dict[str, Any] = {"response_format": "json"}
    if language:
        options["language"] = language
    if prompt:
        options["prompt"] = prompt
    return options


def _event_type(event: Any) -> str | None:
    return event.get("type") if isinstance(event, dict) else getattr(event, "type", None)


def _field(event: Any, name: str) -> Any:
    return event.get(name) if isinstance(event, dict) else getattr(event, name, None)


def _stream_problem(exc: BaseException, ctx: errors.Context, request_id: str | None) -> errors.Problem:
    import openai

    again = "Try again; the words shown so far are not kept."
    if isinstance(exc, TimeoutError | openai.APITimeoutError):
        return errors.Problem(
            errors.Kind.TIMEOUT,
            "Transcription stopped",
            "Azure stopped sending the transcript before it was complete.",
            again,
            request_id=request_id,
        )
    if isinstance(exc, openai.APIConnectionError | OSError | ValueError):
        return errors.Problem(
            errors.Kind.NETWORK,
            "Connection lost",
            "The connection dropped before the transcript was complete.",
            again,
            request_id=request_id,
            retryable=True,
        )
    return errors.from_exception(exc, ctx)


def stream_transcription(
    open_stream: Callable[[], Any],
    *,
    cancel: CancelToken,
    ctx: errors.Context,
    max_retries: int,
    timeout: float,
) -> Generator[Any, None, tuple[str, AudioUsage | None, str | None]]:
    """Yield `Retrying`s, `Started`, then a `TranscriptDelta` per `transcript.text.delta`; return (text, usage,
    request_id) from `transcript.text.done`. Raises `Cancelled`, or `ParleyError` for a failure (also mid-stream).

    `open_stream()` makes the `stream=True` request. The first event must come within `timeout` (retries included)
    and no two events may be further apart; a cancel shuts the socket down at once."""
    start_by = time.monotonic() + timeout

    def open_and_peek() -> tuple[Any, Any, Any, Watchdog]:
        request = cancel.child()
        dog = Watchdog(request, idle=timeout, deadline=start_by).__enter__()
        stream = None
        try:
            with cancellable(request):
                stream = open_stream()
            close_on_cancel(stream, request)
            http: Any = getattr(stream, "response", None)
            ctype = str(getattr(http, "headers", {}).get("content-type", "event-stream"))
            if "event-stream" not in ctype:
                # A whisper deployment (its family set wrongly) ignores `stream` and answers one JSON object;
                # anything else (a proxy's or captive portal's page) is not an answer.
                if "json" not in ctype:
                    raise errors.UnexpectedReply(ctype, *body_start(http))
                return stream, iter(()), json.loads(http.read() or b"{}"), dog
            it = iter(stream)
            return stream, it, next(it, None), dog
        except BaseException as exc:
            dog.__exit__(None, None, None)
            cancel.forget(request.cancel)
            if stream is not None:
                stream.close()
            if dog.fired and not cancel.cancelled:
                raise timed_out(timeout, started=False) from exc
            raise

    stream, it, event, dog = yield from retrying(
        open_and_peek, cancel=cancel, max_retries=max_retries, ctx=ctx, deadline=start_by
    )
    response = getattr(stream, "response", None)
    headers = getattr(response, "headers", None) or {}
    request_id = headers.get("apim-request-id") or headers.get("x-request-id")
    yield Started(request_id)
    if isinstance(event, dict) and "type" not in event:  # the whole transcript at once: one delta, then done
        event = {
            "type": "transcript.text.done",
            "text": str(event.get("text") or ""),
            "usage": event.get("usage"),
        }
        if event["text"]:
            yield TranscriptDelta(event["text"])
    pieces: list[str] = []
    final: str | None = None
    usage: AudioUsage | None = None
    try:
        while event is not None:
            cancel.raise_if_cancelled()
            dog.feed()
            kind = _event_type(event)
            if kind == "transcript.text.delta":
                delta = str(_field(event, "delta") or "")
                if delta:
                    pieces.append(delta)
                    yield TranscriptDelta(delta)
            elif kind == "transcript.text.done":
                final = str(_field(event, "text") or "")
                usage = AudioUsage.from_obj(_field(event, "usage"))
            event = next(it, None)
        cancel.raise_if_cancelled()
        if dog.fired:  # the watchdog's cut socket may read as a clean end of stream
            raise timed_out(timeout, started=True)
        if final is None:
            raise ConnectionError("the stream ended before transcript.text.done")
    except errors.ParleyError:
        raise
    except Exception as exc:
        cancel.raise_if_cancelled()
        raise errors.ParleyError(_stream_problem(exc, ctx, request_id)) from exc
    finally:
        dog.__exit__(None, None, None)
        cancel.forget(dog.token.cancel)
        stream.close()
    return final, usage, request_id
