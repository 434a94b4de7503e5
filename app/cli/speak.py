"""`parley speak`: text to speech into a WAV file."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from app.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    Commands,
    FileName,
    check_writable,
    err,
    read_text,
    report,
    retry_words,
)
from app.cli.connect import context_for, deployment_for, max_retries
from app.cli.worker import worker_events

if TYPE_CHECKING:  # pragma: no cover
    from app.core.cancel import CancelToken
    from app.core.connection import Connection


def register(commands: Commands) -> None:
    p = commands.add("speak", "Text to speech into a WAV file (24 kHz mono).", run)
    p.add_argument("text", metavar="TEXT", help="what to say; - reads it from stdin")
    p.add_argument(
        "-o", "--output", metavar="OUT.wav", type=FileName, required=True, help="the WAV file to write"
    )
    p.add_argument(
        "-m",
        "--deployment",
        metavar="DEPLOYMENT",
        help="speech deployment: tts, tts-hd or gpt-4o-mini-tts (default: the profile's)",
    )
    p.add_argument(
        "--voice",
        help="tts/tts-hd: alloy, echo, fable, onyx, nova or shimmer; gpt-4o-mini-tts also ash, ballad, coral, sage, "
        "verse, marin or cedar (default: the profile's)",
    )
    p.add_argument("--speed", type=float, help="0.25 to 4 (default: the profile's)")
    p.add_argument(
        "--instructions",
        metavar="TEXT",
        help="a speaking style, e.g. 'Speak calmly, like a librarian' (gpt-4o-mini-tts only)",
    )


def run(args: argparse.Namespace, conn: Connection, cancel: CancelToken) -> int:
    from app.core import audio_api
    from app.core import events as ev

    text = read_text(args.text, "text")
    check_writable(args.output)
    deployment = deployment_for(args, conn, "speech")
    voice = args.voice or conn.profile.tts_voice
    speed = args.speed if args.speed is not None else conn.profile.tts_speed
    family = conn.profile.family(deployment)
    client = conn.client()
    ctx = context_for(conn, "speech", deployment)
    gen = audio_api.speak_to_file(
        client,
        text,
        args.output,
        cancel=cancel,
        ctx=ctx,
        deployment=deployment,
        voice=voice,
        speed=speed,
        max_retries=max_retries(args, conn),
        instructions=args.instructions,
        family=family,
    )
    for event in worker_events(lambda: gen, cancel):
        if isinstance(event, ev.Retrying):
            err(retry_words(event))
        elif isinstance(event, audio_api.SavedAudio):
            err(
                f"Saved {event.seconds:.1f} s of speech to {event.path}"
                + (f" ({event.pieces} requests)" if event.pieces > 1 else "")
                + "."
            )
        elif isinstance(event, ev.Failed):
            return report(event.problem)
        elif isinstance(event, ev.Done) and event.finish_reason == "cancelled":
            err("Stopped; no file was written.")
            return EXIT_INTERRUPTED
    return EXIT_OK
