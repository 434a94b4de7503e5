"""`parley embed`: one text's embedding vector, its head in words or all of it as JSON."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from app.cli.common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Commands,
    err,
    json_line,
    out,
    positive_int,
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
    p = commands.add("embed", "Embed a text and print its vector.", run)
    p.add_argument("text", metavar="TEXT", help="the text; - reads it from stdin")
    p.add_argument("-m", "--deployment", metavar="DEPLOYMENT", help="embeddings deployment")
    p.add_argument(
        "--dimensions", metavar="N", type=positive_int, help="shorten the vector (text-embedding-3)"
    )
    p.add_argument("--json", action="store_true", help="print the whole vector as JSON")


def run(args: argparse.Namespace, conn: Connection, cancel: CancelToken) -> int:
    from app.core import embeddings
    from app.core import events as ev

    text = read_text(args.text, "text")
    deployment = deployment_for(args, conn, "embeddings")
    client = conn.client()
    ctx = context_for(conn, "embeddings", deployment)
    retries = max_retries(args, conn)
    gen = embeddings.embed(
        client,
        [text],
        cancel=cancel,
        ctx=ctx,
        deployment=deployment,
        dimensions=args.dimensions,
        max_retries=retries,
    )
    vector = None
    for event in worker_events(lambda: gen, cancel):
        if isinstance(event, ev.Retrying):
            err(retry_words(event))
        elif isinstance(event, embeddings.EmbeddingBatch):
            vector = [float(x) for x in event.vectors[0]]
            request_id = event.request_id
        elif isinstance(event, ev.Failed):
            return report(event.problem, json_mode=args.json)
        elif isinstance(event, ev.Done):
            if event.finish_reason == "cancelled":
                err("Stopped.")
                return EXIT_INTERRUPTED
            if vector is None:
                err("Azure answered without a vector.")
                return EXIT_FAILURE
            if args.json:
                usage = event.usage
                json_line(
                    {
                        "type": "embedding",
                        "deployment": deployment,
                        "dimensions": len(vector),
                        "embedding": vector,
                        "request_id": request_id,
                        "usage": None
                        if usage is None
                        else {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.total_tokens},
                    }
                )
            else:
                head = ", ".join(f"{x:.6f}" for x in vector[:8])
                more = ", …" if len(vector) > 8 else ""
                out(f"dimensions: {len(vector)}\n[{head}{more}]\n")
    return EXIT_OK
