"""`parley complete`: a legacy completions request; the text streams to stdout."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from app.cli.common import Commands, add_answer_options, read_text
from app.cli.connect import context_for, deployment_for, max_retries
from app.cli.stream import stream_text
from app.cli.worker import worker_events

if TYPE_CHECKING:  # pragma: no cover
    from app.core.cancel import CancelToken
    from app.core.connection import Connection


def register(commands: Commands) -> None:
    p = commands.add(
        "complete", "Legacy completions (e.g. gpt-35-turbo-instruct); the text streams to stdout.", run
    )
    p.add_argument("prompt", metavar="PROMPT", help="the prompt; - reads it from stdin")
    p.add_argument("-m", "--deployment", metavar="DEPLOYMENT", help="completions deployment")
    add_answer_options(p, default_tokens=100, default_temperature=0.0)
    p.add_argument("--json", action="store_true", help="one JSON object per event on stdout")


def run(args: argparse.Namespace, conn: Connection, cancel: CancelToken) -> int:
    from app.core import completions

    prompt = read_text(args.prompt, "prompt")
    deployment = deployment_for(args, conn, "completions")
    request = completions.CompletionRequest(
        deployment, prompt, max_tokens=args.max_tokens, temperature=args.temperature
    )
    client = conn.client()
    ctx = context_for(conn, "completions", deployment)
    retries = max_retries(args, conn)
    return stream_text(
        worker_events(
            lambda: completions.stream_completion(
                client, request, cancel=cancel, ctx=ctx, max_retries=retries
            ),
            cancel,
        ),
        json_mode=args.json,
    )
