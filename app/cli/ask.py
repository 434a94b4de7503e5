"""`parley ask`: a chat request; the answer streams to stdout. Shaped for the deployment's family (a reasoning
model gets `max_completion_tokens`, no temperature, only an effort it takes); what Azure teaches about the
deployment is kept in the profile."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.common import Commands, FileName, UsageError, add_answer_options, err, read_text, what_it_is
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
        "--image",
        metavar="FILE",
        type=FileName,
        action="append",
        default=[],
        help="attach an image (repeatable)",
    )
    p.add_argument("--system", metavar="TEXT", help="system prompt")
    p.add_argument("--no-stream", action="store_true", help="wait for the whole answer")
    p.add_argument("--json", action="store_true", help="one JSON object per event on stdout")
    add_answer_options(p, reasoning=True)
    p.add_argument(
        "--reasoning-effort",
        choices=("minimal", "low", "medium", "high"),
        help="how hard a reasoning deployment thinks (sent only where the model takes that value)",
    )


def run(args: argparse.Namespace, conn: Connection, cancel: CancelToken) -> int:
    import mimetypes

    from app.core import chat
    from app.core.imagecheck import damage

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
        wrong = damage(data)
        if wrong:  # a cut or damaged file: Azure would refuse it only after the upload
            raise UsageError(
                f"{name} is not a whole image: it is {wrong}. Attach a PNG, JPEG, GIF or WebP file that opens."
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
        reasoning_effort=args.reasoning_effort,
        traits=conn.profile.chat_traits(deployment),
    )
    client = conn.client()
    ctx = context_for(conn, "chat", deployment)
    retries = max_retries(args, conn)
    events = worker_events(
        lambda: chat.stream_chat(client, request, cancel=cancel, ctx=ctx, max_retries=retries), cancel
    )
    return stream_text(_noted(events, request, conn), json_mode=args.json)


def _noted(events: Iterator[Any], request: Any, conn: Connection) -> Iterator[Any]:
    """The events for printing, with notices said on stderr and what Azure taught kept in the profile."""
    from app.core import chat
    from app.core import events as ev

    for event in events:
        if isinstance(event, ev.Notice):
            err(f"Note: {event.text}")
        elif isinstance(event, ev.Learned):
            remember(conn, event)
            continue
        elif isinstance(event, ev.Done):
            lesson = chat.lesson(request, event)
            if lesson is not None:
                remember(conn, lesson)
        yield event


def remember(conn: Connection, learned: Any) -> None:
    """Keep a deployment's learned family and model in the saved profile this command runs on (the environment's
    and demo mode's profiles are not saved), and in the connection for the rest of the command."""
    import contextlib
    import logging

    from app.core.profiles import ProfileStore

    updated = conn.profile.learned(learned.deployment, learned.family, learned.model)
    if updated is None:
        return
    conn.profile = updated
    if conn.source not in ("store", "profile") or conn.demo:
        return
    with contextlib.suppress(OSError):
        if ProfileStore.load().remember(updated.name, learned.deployment, learned.family, learned.model):
            logging.getLogger("parley.cli").info(
                "learned: %s serves %s (%s)", learned.deployment, learned.family, learned.model
            )
