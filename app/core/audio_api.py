"""Azure speech (text to speech, streamed) and transcription calls, as generators of events.

Requests are shaped per family (`audio_families`): gpt-4o-mini-tts takes `instructions` and more voices, tts/tts-hd
do not; gpt-4o-transcribe can stream its transcript, whisper cannot.

Speech needs a preview api-version (the seed: "Set api_version="2024-10-01-preview""); a 404 at a GA version maps
to the API_VERSION problem saying so (`errors.from_status` with `ctx.operation == "speech"`).
"""

from __future__ import annotations

import os
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core import audio_families, errors, outfiles, paths
from app.core.audio_families import AudioUsage, TranscriptDelta  # noqa: F401 - TranscriptDelta: callers' name
from app.core.cancel import Cancelled, CancelToken
from app.core.capabilities import Family
from app.core.deadline import timeout_of
from app.core.events import Done, Failed, Retrying, Started
from app.core.netio import call_abandonable, expect_binary, guard_response, request_parsed
from app.core.retry import retrying
from app.core.speech_split import MAX_SPEECH_CHARS, split_for_speech
from app.core.wavinfo import wav_seconds

VOICES = audio_families.TTS_VOICES  # tts/tts-hd's; `audio_families.voices_for(family)` for a deployment's own
SPEECH_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
SPEECH_RATE = 24000  # `pcm` is 24 kHz, signed 16-bit little-endian, mono
CHUNK_BYTES = 4800  # 100 ms of 24 kHz s16 mono: small enough to start playing at once
MAX_TRANSCRIPTION_BYTES = 25 * 1024 * 1024  # Whisper's upload limit
MIN_SPEED, MAX_SPEED = 0.25, 4.0

_MIME = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".mpga": "audio/mpeg",
    ".mpeg": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".mp4": "audio/mp4",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".webm": "audio/webm",
    ".flac": "audio/flac",
}


@dataclass(frozen=True)
class AudioChunk:
    """A piece of synthesized audio; for `pcm`, whole 16-bit frames at `sample_rate`."""

    data: bytes
    sample_rate: int = SPEECH_RATE
    fmt: str = "pcm"


@dataclass(frozen=True)
class Transcript:
    """What was heard; `text` may be empty (silence): the caller decides what to say about it."""

    text: str
    request_id: str | None = None
    duration: float | None = None  # seconds of audio sent, when known (WAV)
    usage: AudioUsage | None = None  # gpt-4o-transcribe's tokens; whisper returns none


@dataclass(frozen=True)
class SavedAudio:
    """`speak_to_file` wrote `path`: `seconds` of 24 kHz mono 16-bit audio from `pieces` requests."""

    path: Path
    seconds: float
    pieces: int


def _config(title: str, detail: str, action: str) -> errors.ParleyError:
    return errors.ParleyError(errors.Problem(errors.Kind.CONFIG, title, detail, action))


def _check_speech(
    text: str,
    deployment: str,
    voice: str,
    speed: float,
    response_format: str,
    family: Family | None = None,
    instructions: str | None = None,
) -> None:
    if not (deployment or "").strip():
        raise _config(
            "No speech deployment",
            "No text-to-speech deployment is set for this profile.",
            "Enter the speech deployment name (e.g. tts-hd) in Settings.",
        )
    if not (text or "").strip():
        raise _config("Nothing to say", "The text to speak is empty.", "Type some text first.")
    if len(text) > MAX_SPEECH_CHARS:
        raise _config(
            "Text too long for one request",
            f"The text has {len(text)} characters; Azure speaks at most {MAX_SPEECH_CHARS} per request.",
            "Split it with split_for_speech (parley speak does this for you).",
        )
    audio_families.check_speech_options(deployment, family, voice, instructions)
    if not (MIN_SPEED <= float(speed) <= MAX_SPEED):
        raise _config(
            "Speed out of range",
            f"Speed {speed} is outside {MIN_SPEED}–{MAX_SPEED}.",
            "Choose a speed between 0.25 and 4.",
        )
    if response_format not in SPEECH_FORMATS:
        raise _config(
            "Unknown audio format",
            f"Azure cannot return '{response_format}'.",
            f"Choose one of: {', '.join(SPEECH_FORMATS)}.",
        )


def synthesize(
    client: Any,
    text: str,
    *,
    cancel: CancelToken,
    ctx: errors.Context = errors.Context("speech"),
    deployment: str,
    voice: str = "alloy",
    speed: float = 1.0,
    response_format: str = "pcm",
    max_retries: int = 2,
    chunk_size: int = CHUNK_BYTES,
    instructions: str | None = None,
    family: Family | None = None,
) -> Iterator[Any]:
    """Stream speech for `text` (≤ 4096 characters; checked now, raising `ParleyError` CONFIG).

    `instructions` is a speaking style for gpt-4o-mini-tts; `family` is the deployment's (learned or set, e.g.
    `Profile.family(deployment)`), else its name decides which voices and options it takes.

    Yields `Started(request_id)`, `AudioChunk`s as the bytes arrive, then `Done("stop")`; `Retrying` while a 429/5xx
    is waited out; `Failed(problem)`; or `Done("cancelled")` soon after the token fires (the socket is shut down).
    """
    family = audio_families.family_of(deployment, family)
    _check_speech(text, deployment, voice, speed, response_format, family, instructions)
    return _synthesize(
        client,
        text,
        cancel,
        ctx,
        deployment,
        voice,
        float(speed),
        response_format,
        max_retries,
        max(2, int(chunk_size)),
        audio_families.speech_kwargs(family, instructions),
    )


def _synthesize(
    client: Any,
    text: str,
    cancel: CancelToken,
    ctx: errors.Context,
    deployment: str,
    voice: str,
    speed: float,
    response_format: str,
    max_retries: int,
    chunk_size: int,
    extra: dict[str, Any],
) -> Iterator[Any]:
    def open_stream() -> tuple[Any, Any, Any]:
        def enter() -> tuple[Any, Any, Any]:
            manager = client.audio.speech.with_streaming_response.create(
                model=deployment,
                voice=voice,
                input=text,
                response_format=response_format,
                speed=speed,
                **extra,
            )
            response = manager.__enter__()
            # Shuts the socket down on cancel (at once if the caller gave up while the headers were on their way).
            return manager, response, guard_response(response, cancel)

        return call_abandonable(enter, cancel)

    manager = None
    release = None
    try:
        # The answer must start within the client's timeout, retries included (a stalled body is the read
        # timeout's: httpx's read timeout is the same number).
        manager, response, release = yield from retrying(
            open_stream,
            cancel=cancel,
            max_retries=max_retries,
            ctx=ctx,
            deadline=time.monotonic() + timeout_of(client),
        )
        request_id = _request_id(response)
        expect_binary(response)  # speech: pcm has no header, so a page would pass for sound
        yield Started(request_id)
        pending = b""
        frame = 2 if response_format == "pcm" else 1
        for data in response.iter_bytes(chunk_size):
            if cancel.cancelled:
                raise Cancelled()
            if not data:
                continue
            data = pending + data
            cut = len(data) - (len(data) % frame)
            pending = data[cut:]
            if cut:
                yield AudioChunk(data[:cut], SPEECH_RATE, response_format)
        if cancel.cancelled:
            raise Cancelled()
        yield Done("stop", request_id=request_id, model=deployment)
    except Cancelled:
        yield Done("cancelled")
    except errors.ParleyError as exc:
        yield Failed(exc.problem)
    except Exception as exc:  # noqa: BLE001 - errors leave a generator as values
        yield Done("cancelled") if cancel.cancelled else Failed(_stream_problem(exc, ctx))
    finally:
        if release is not None:
            release()
        if manager is not None:
            try:
                manager.__exit__(None, None, None)
            except Exception:  # noqa: BLE001 - a shut-down socket may complain on close
                pass


def _stream_problem(exc: BaseException, ctx: errors.Context) -> errors.Problem:
    """A transport error while reading the body (httpx2 raises these unwrapped) is a dropped connection."""
    module = type(exc).__module__ or ""
    if module.startswith(("httpx", "httpcore")):
        name = type(exc).__name__
        if "Timeout" in name:
            return errors.Problem(
                errors.Kind.TIMEOUT, "Timed out", "Azure stopped sending audio.", "Try again.", retryable=True
            )
        return errors.Problem(
            errors.Kind.NETWORK,
            "Connection lost",
            "The connection dropped before the audio was complete.",
            "Check your network, then retry.",
            retryable=True,
        )
    return errors.from_exception(exc, ctx)


def _request_id(response: Any) -> str | None:
    headers = getattr(response, "headers", None)
    if headers is None:
        return getattr(response, "request_id", None)
    return headers.get("apim-request-id") or headers.get("x-request-id")


def transcribe(
    client: Any,
    audio: bytes,
    *,
    cancel: CancelToken,
    ctx: errors.Context = errors.Context("transcription"),
    deployment: str,
    filename: str = "speech.wav",
    language: str | None = None,
    max_retries: int = 2,
    prompt: str | None = None,
    stream: bool = False,
    family: Family | None = None,
) -> Iterator[Any]:
    """Send `audio` (the bytes of a file: WAV, mp3, m4a, ...) to be transcribed; checked now (raises `ParleyError`).

    Yields `Retrying`s, then `Transcript(text, request_id, duration, usage)` and `Done("stop")`; or `Failed(problem)`;
    or `Done("cancelled")`. With `stream` on a gpt-4o-transcribe deployment (`family`, else the name decides),
    `Started` and `TranscriptDelta`s come first, as the words arrive; whisper cannot stream and answers at once.
    """
    if not (deployment or "").strip():
        raise _config(
            "No transcription deployment",
            "No speech-to-text deployment is set for this profile.",
            "Enter the transcription deployment name (e.g. whisper) in Settings.",
        )
    if not audio:
        raise _config("No audio", "There is no audio to transcribe.", "Record or choose an audio file first.")
    if len(audio) > MAX_TRANSCRIPTION_BYTES:
        raise errors.ParleyError(
            errors.Problem(
                errors.Kind.BAD_REQUEST,
                "File too large",
                f"The audio is {len(audio) / 1048576:.1f} MB; Azure transcribes at most 25 MB per request.",
                "Use a shorter recording or a compressed format such as mp3.",
            )
        )
    family = audio_families.family_of(deployment, family)
    options = audio_families.transcription_kwargs(family, language=language, prompt=prompt)
    streamed = stream and audio_families.streams_transcription(family)
    return _transcribe(
        client, bytes(audio), cancel, ctx, deployment, filename, options, max_retries, streamed
    )


def _transcribe(
    client: Any,
    audio: bytes,
    cancel: CancelToken,
    ctx: errors.Context,
    deployment: str,
    filename: str,
    options: dict[str, Any],
    max_retries: int,
    streamed: bool,
) -> Iterator[Any]:
    mime = _MIME.get(os.path.splitext(filename)[1].lower(), "application/octet-stream")
    file = (paths.wire_name(filename), audio, mime)

    timeout = timeout_of(client)
    start_by = time.monotonic() + timeout

    def call() -> tuple[Any, Any]:
        return request_parsed(
            lambda: client.audio.transcriptions.with_streaming_response.create(
                model=deployment, file=file, **options
            ),
            cancel,
            timeout=timeout,
            start_by=start_by,
            member="text",
            convert=audio_families.transcript_of,
        )

    try:
        if streamed:
            heard, usage, request_id = yield from audio_families.stream_transcription(
                lambda: client.audio.transcriptions.create(
                    model=deployment, file=file, stream=True, **options
                ),
                cancel=cancel,
                ctx=ctx,
                max_retries=max_retries,
                timeout=timeout_of(client),
            )
            yield Transcript(heard.strip(), request_id, wav_seconds(audio), usage)
            yield Done("stop", request_id=request_id, model=deployment)
            return
        headers, result = yield from retrying(
            call, cancel=cancel, max_retries=max_retries, ctx=ctx, deadline=start_by
        )
        request_id = (
            (headers.get("apim-request-id") or headers.get("x-request-id")) if headers is not None else None
        )
        text, usage = result
        yield Transcript(text, request_id, wav_seconds(audio), usage)
        yield Done("stop", request_id=request_id, model=deployment)
    except Cancelled:
        yield Done("cancelled")
    except errors.ParleyError as exc:
        yield Failed(exc.problem)
    except Exception as exc:  # noqa: BLE001
        yield Done("cancelled") if cancel.cancelled else Failed(errors.from_exception(exc, ctx))


def speak_to_file(
    client: Any,
    text: str,
    path: str | Path,
    *,
    cancel: CancelToken,
    ctx: errors.Context = errors.Context("speech"),
    deployment: str,
    voice: str = "alloy",
    speed: float = 1.0,
    max_retries: int = 2,
    limit: int = MAX_SPEECH_CHARS,
    instructions: str | None = None,
    family: Family | None = None,
) -> Iterator[Any]:
    """Speak `text` of any length into one WAV file (24 kHz mono 16-bit), one request per `split_for_speech` piece
    of at most `limit` characters.

    Yields `Started` (once), `Retrying`, `AudioChunk`s, then `SavedAudio(path, seconds, pieces)` and `Done("stop")`;
    or `Failed` / `Done("cancelled")`, in which case no file is left behind. Checks the options now.
    """
    pieces = split_for_speech(text, min(limit, MAX_SPEECH_CHARS))
    if not pieces:
        raise _config("Nothing to say", "The text to speak is empty.", "Type some text first.")
    family = audio_families.family_of(deployment, family)
    _check_speech(pieces[0], deployment, voice, speed, "pcm", family, instructions)
    style = {"instructions": instructions, "family": family}
    return _speak_to_file(
        client, pieces, Path(path), cancel, ctx, deployment, voice, speed, max_retries, style
    )


def _speak_to_file(
    client: Any,
    pieces: list[str],
    path: Path,
    cancel: CancelToken,
    ctx: errors.Context,
    deployment: str,
    voice: str,
    speed: float,
    max_retries: int,
    style: dict[str, Any],
) -> Iterator[Any]:
    part: Path | None = None
    frames = 0
    started = False
    last_id = None
    ending: Any = None  # the Failed or Done("cancelled") to yield once the partial file is gone
    fh = None
    out = None
    saved = False
    try:
        final = outfiles.target(path)  # a symlink's target; a FIFO or device is refused, never replaced
        part = outfiles.part_of(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        fh = open(part, "wb")  # noqa: SIM115 - ours to close: wave.open(name) leaves a broken writer on failure
        out = wave.open(fh, "wb")
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SPEECH_RATE)
        for piece in pieces:
            for event in synthesize(
                client,
                piece,
                cancel=cancel,
                ctx=ctx,
                deployment=deployment,
                voice=voice,
                speed=speed,
                response_format="pcm",
                max_retries=max_retries,
                **style,
            ):
                if isinstance(event, AudioChunk):
                    out.writeframes(event.data)
                    frames += len(event.data) // 2
                    yield event
                elif isinstance(event, Started):
                    last_id = event.request_id or last_id
                    if not started:
                        started = True
                        yield event
                elif isinstance(event, Retrying):
                    yield event
                elif isinstance(event, Failed) or (
                    isinstance(event, Done) and event.finish_reason == "cancelled"
                ):
                    ending = event
                    break
            if ending is not None:
                break
        if ending is None:
            out.close()
            fh.close()
            outfiles.commit(part, final)
            saved = True
    except OSError as exc:
        ending = Failed(
            errors.Problem(
                errors.Kind.OTHER,
                "Could not write the audio file",
                f"{path}: {exc.strerror or exc}",
                "Choose another file name or folder (or free some disk space).",
            )
        )
    finally:
        if not saved:
            # Every way out but success (a failure, a cancel, the consumer leaving, Ctrl+C) removes the partial
            # file before anything is said about it. The writer is closed first and quietly: left to the garbage
            # collector it would write to a closed file ("Exception ignored in Wave_write.__del__").
            for closer in (out, fh):
                if closer is not None:
                    try:
                        closer.close()
                    except (OSError, ValueError, EOFError):
                        pass
            try:
                if part is not None:
                    part.unlink()
            except OSError:
                pass
    if ending is not None:
        yield ending
        return
    yield SavedAudio(path, frames / SPEECH_RATE, len(pieces))
    yield Done("stop", request_id=last_id, model=deployment)
