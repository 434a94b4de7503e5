"""`parley image`: a DALL-E 3 image into a PNG file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    Commands,
    check_writable,
    err,
    json_line,
    read_text,
    report,
    retry_words,
    write_file,
)
from app.cli.connect import context_for, deployment_for, max_retries
from app.cli.worker import worker_events

if TYPE_CHECKING:  # pragma: no cover
    from app.core.cancel import CancelToken
    from app.core.connection import Connection


def register(commands: Commands) -> None:
    p = commands.add("image", "Generate an image with DALL-E 3 into a PNG file.", run)
    p.add_argument("prompt", metavar="PROMPT", help="the prompt; - reads it from stdin")
    p.add_argument("-o", "--output", metavar="OUT.png", required=True)
    p.add_argument("-m", "--deployment", metavar="DEPLOYMENT", help="images deployment")
    p.add_argument("--size", default="1024x1024", choices=("1024x1024", "1792x1024", "1024x1792"))
    p.add_argument("--quality", default="standard", choices=("standard", "hd"))
    p.add_argument("--style", default="vivid", choices=("vivid", "natural"))
    p.add_argument("--format", dest="response_format", default="b64_json", choices=("b64_json", "url"))
    p.add_argument("--json", action="store_true", help="print a JSON object")


def run(args: argparse.Namespace, conn: Connection, cancel: CancelToken) -> int:
    from app.core import events as ev
    from app.core import images

    prompt = read_text(args.prompt, "prompt")
    check_writable(args.output)  # before the image is paid for
    deployment = deployment_for(args, conn, "images")
    request = images.ImageRequest(
        deployment,
        prompt,
        size=args.size,
        quality=args.quality,
        style=args.style,
        response_format=args.response_format,
    )
    client = conn.client()
    ctx = context_for(conn, "images", deployment)
    gen = images.generate(client, request, cancel=cancel, ctx=ctx, max_retries=max_retries(args, conn))
    out = Path(args.output)
    for event in worker_events(lambda: gen, cancel):
        if isinstance(event, ev.Retrying):
            err(retry_words(event))
        elif isinstance(event, images.GeneratedImage):
            write_file(out, event.png)  # whole or not at all
            if event.revised_prompt:
                err(f"Revised prompt: {event.revised_prompt}")
            w, h = event.size
            err(f"Saved a {w}×{h} image to {out}.")
            if args.json:
                json_line(
                    {
                        "type": "image",
                        "path": str(out),
                        "width": w,
                        "height": h,
                        "revised_prompt": event.revised_prompt,
                        "request_id": event.request_id,
                    }
                )
        elif isinstance(event, ev.Failed):
            return report(event.problem, json_mode=args.json)
        elif isinstance(event, ev.Done) and event.finish_reason == "cancelled":
            err("Stopped.")
            return EXIT_INTERRUPTED
    return EXIT_OK
