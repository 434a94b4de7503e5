"""`parley jobs`: fine-tuning jobs and batches as tables, or one JSON object per job."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.cli.common import EXIT_OK, Commands, json_line, out
from app.cli.connect import context_for, max_retries
from app.cli.worker import worker_call

if TYPE_CHECKING:  # pragma: no cover
    from app.core.cancel import CancelToken
    from app.core.connection import Connection


def register(commands: Commands) -> None:
    p = commands.add("jobs", "List fine-tuning jobs and batches.", run)
    p.add_argument(
        "kind", nargs="?", choices=("fine-tuning", "batches"), help="only this kind (default: both)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per job")


def _when(ts: int | None) -> str:
    if not ts:
        return "-"
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace, conn: Connection, cancel: CancelToken) -> int:
    from dataclasses import asdict

    from app.core import jobs

    retries = max_retries(args, conn)
    kinds = [args.kind] if args.kind else ["fine-tuning", "batches"]
    ctx = context_for(conn, "jobs", "")
    for kind in kinds:
        if kind == "fine-tuning":
            found = worker_call(
                lambda: jobs.list_fine_tuning_jobs(
                    conn.client(), ctx=ctx, cancel=cancel, max_retries=retries
                ),
                cancel,
            )
            if args.json:
                for job in found:
                    json_line({"type": "fine_tuning_job", **asdict(job)})
                continue
            out("Fine-tuning jobs\n")
            rows = [
                (
                    str(j.id),
                    str(j.status),
                    j.model or "-",
                    _when(j.created_at),
                    j.fine_tuned_model or j.error or "",
                )
                for j in found
            ]
            out(_table(("ID", "STATUS", "MODEL", "CREATED", "RESULT"), rows) if rows else "  (none)\n")
        else:
            found_b = worker_call(
                lambda: jobs.list_batches(conn.client(), ctx=ctx, cancel=cancel, max_retries=retries),
                cancel,
            )
            if args.json:
                for batch in found_b:
                    json_line({"type": "batch", **asdict(batch)})
                continue
            out("Batches\n")
            rows = [
                (
                    str(b.id),
                    str(b.status),
                    str(b.endpoint),
                    _when(b.created_at),
                    f"{b.request_counts.completed}/{b.request_counts.total}"
                    + (f" ({b.request_counts.failed} failed)" if b.request_counts.failed else ""),
                )
                for b in found_b
            ]
            out(_table(("ID", "STATUS", "ENDPOINT", "CREATED", "DONE"), rows) if rows else "  (none)\n")
        if not args.json and kind != kinds[-1]:
            out("\n")
    return EXIT_OK
