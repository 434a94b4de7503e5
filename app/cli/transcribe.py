"""`parley transcribe`: an audio file's text on stdout."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    Commands,
    FileName,
    UsageError,
    check_audio,
    err,
    json_line,
    out,
    report,
    retry_words,
)
from app.cli.connect import context_for, deployment_for, max_retries
from app.cli.worker import worker_events

if TYPE_CHECKING:  # pragma: no cover
    from app.core.cancel import CancelToken
    from app.core.connection import Connection


def register(commands: Commands) -> None:
    p = commands.add("transcribe", "Transcribe an audio file (WAV, mp3, m4a, ...) and print the text.", run)
    p.add_argument(
        "file",
        metavar="FILE",
        type=FileName,
        help="the audio file: flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav or webm, at most 25 MB",
    )
    p.add_argument(
        "-m",
        "--deployment",
        metavar="DEPLOYMENT",
        help="transcription deployment: whisper, gpt-4o-transcribe or gpt-4o-mini-transcribe (default: the profile's)",
    )
    p.add_argument("--language", metavar="CODE", help="ISO-639-1 language of the audio, e.g. en")
    p.add_argument(
        "--stream",
        action="store_true",
        help="print the words as they arrive (gpt-4o-transcribe and -mini-transcribe; whisper answers at once)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help='print JSON lines: with --stream a {"type": "delta"} per piece, then the transcript object',
    )


def run(args: argparse.Namespace, conn: Connection, cancel: CancelToken) -> int:
    from app.core import audio_api, audio_families
    from app.core import events as ev

    path = Path(args.file)
    try:
        audio = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"Cannot read the audio file {args.file}: {exc.strerror or exc}.") from None
    check_audio(args.file, audio)
    deployment = deployment_for(args, conn, "transcription")
    family = audio_families.family_of(deployment, conn.profile.family(deployment))
    if args.stream and not audio_families.streams_transcription(family):
        err(
            f"{deployment} does not stream transcripts (only gpt-4o-transcribe does); the text comes at once."
        )
    client = conn.client()
    ctx = context_for(conn, "transcription", deployment)
    gen = audio_api.transcribe(
        client,
        audio,
        cancel=cancel,
        ctx=ctx,
        deployment=deployment,
        filename=path.name,
        language=args.language,
        max_retries=max_retries(args, conn),
        stream=args.stream,
        family=family,
    )
    streamed = False  # words already printed as they came: the transcript only ends the line
    for event in worker_events(lambda: gen, cancel):
        if isinstance(event, ev.Retrying):
            err(retry_words(event))
        elif isinstance(event, audio_api.TranscriptDelta):
            streamed = True
            json_line({"type": "delta", "text": event.text}) if args.json else out(event.text)
        elif isinstance(event, audio_api.Transcript):
            if args.json:
                usage = dataclasses.asdict(event.usage) if event.usage is not None else None
                json_line(
                    {
                        "type": "transcript",
                        "text": event.text,
                        "request_id": event.request_id,
                        "duration": event.duration,
                        "usage": usage,
                    }
                )
            elif event.text:
                out("\n" if streamed else event.text + "\n")
            else:
                err("No speech was heard in the file.")
        elif isinstance(event, ev.Failed):
            if streamed and not args.json:
                out("\n")  # the words so far stay on their own line
            return report(event.problem, json_mode=args.json)
        elif isinstance(event, ev.Done) and event.finish_reason == "cancelled":
            if streamed and not args.json:
                out("\n")
            err("Stopped.")
            return EXIT_INTERRUPTED
    return EXIT_OK
