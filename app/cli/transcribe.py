"""`parley transcribe`: an audio file's text on stdout."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    Commands,
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
    p.add_argument("file", metavar="FILE")
    p.add_argument("-m", "--deployment", metavar="DEPLOYMENT", help="transcription deployment")
    p.add_argument("--language", metavar="CODE", help="ISO-639-1 language of the audio, e.g. en")
    p.add_argument("--json", action="store_true", help="print a JSON object")


def run(args: argparse.Namespace, conn: Connection, cancel: CancelToken) -> int:
    from app.core import audio_api
    from app.core import events as ev

    path = Path(args.file)
    try:
        audio = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"Cannot read the audio file {args.file}: {exc.strerror or exc}.") from None
    check_audio(args.file, audio)
    deployment = deployment_for(args, conn, "transcription")
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
    )
    for event in worker_events(lambda: gen, cancel):
        if isinstance(event, ev.Retrying):
            err(retry_words(event))
        elif isinstance(event, audio_api.Transcript):
            if args.json:
                json_line(
                    {
                        "type": "transcript",
                        "text": event.text,
                        "request_id": event.request_id,
                        "duration": event.duration,
                    }
                )
            elif event.text:
                out(event.text + "\n")
            else:
                err("No speech was heard in the file.")
        elif isinstance(event, ev.Failed):
            return report(event.problem, json_mode=args.json)
        elif isinstance(event, ev.Done) and event.finish_reason == "cancelled":
            err("Stopped.")
            return EXIT_INTERRUPTED
    return EXIT_OK
