"""`parley ask`: a chat request; the answer streams to stdout."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.common import Commands, UsageError, positive_int, read_text, temperature, what_it_is
from app.cli.connect import context_for, deployment_for, max_retries
from app.cli.stream import stream_text
from app.cli.worker import worker_events

if TYPE_CHECKING:  # pragma: no cover
    from app.core.cancel import CancelToken
    from app.core.connection import Connection


def register(commands: Commands) -> None:
    p = commands.add("ask", "Ask the chat deployment; the answer streams to stdout.", run)
    p.add_argument("prompt", metavar="PROMPT", help="the message; - reads it from stdin")
    p.add_argument(
        "-m", "--deployment", metavar="DEPLOYMENT", help="chat deployment (default: the profile's)"
    )
    p.add_argument(
        "--image", metavar="FILE", action="append", default=[], help="attach an image (repeatable)"
    )
    p.add_argument("--system", metavar="TEXT", help="system prompt")
    p.add_argument("--no-stream", action="store_true", help="wait for the whole answer")
    p.add_argument("--json", action="store_true", help="one JSON object per event on stdout")
    p.add_argument("--max-tokens", metavar="N", type=positive_int)
    p.add_argument("--temperature", metavar="T", type=temperature)


def run(args: argparse.Namespace, conn: Connection, cancel: CancelToken) -> int:
    import mimetypes

    from app.core import chat

    prompt = read_text(args.prompt, "prompt")
    images = []
    for name in args.image:
        path = Path(name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"Cannot read the image {name}: {exc.strerror or exc}.") from None
        if chat.sniff_mime(data) is None:  # refused here: sent as it is, Azure would only say "invalid image"
            raise UsageError(
                f"{name} is not an image: it is {what_it_is(data)}. Attach a PNG, JPEG, GIF or WebP file."
            )
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        part, note = chat.prepare_image(data, mime, path.name)
        if note:
            raise UsageError(
                note + " Scale it down first (or attach it in the app, which does that for you)."
            )
        images.append(part)
    deployment = deployment_for(args, conn, "chat")
    request = chat.ChatRequest(
        deployment,
        (chat.Message("user", prompt, tuple(images)),),
        system=args.system,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        stream=not args.no_stream,
    )
    client = conn.client()
    ctx = context_for(conn, "chat", deployment)
    retries = max_retries(args, conn)
    return stream_text(
        worker_events(
            lambda: chat.stream_chat(client, request, cancel=cancel, ctx=ctx, max_retries=retries), cancel
        ),
        json_mode=args.json,
    )
