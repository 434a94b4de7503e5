"""`parley check`: the connection test of Settings from the command line: every configured deployment is tried
once, and its family, latency and verdict printed; the exit code is the first problem's."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from app.cli.common import EXIT_OK, Commands, err, json_line, out, problem_words

if TYPE_CHECKING:  # pragma: no cover
    from app.core.cancel import CancelToken
    from app.core.connection import Connection


def register(commands: Commands) -> None:
    p = commands.add(
        "check",
        "Test the connection: try every configured deployment and print its family, latency and verdict.",
        run,
    )
    p.add_argument("--json", action="store_true", help="one JSON object per deployment, then a summary")


def run(args: argparse.Namespace, conn: Connection, cancel: CancelToken) -> int:
    from app.cli.ask import remember
    from app.cli.worker import worker_events
    from app.core import probe
    from app.core.events import Learned

    api_key, provider = conn.credentials()
    results = worker_events(
        lambda: probe.probe(conn.profile, cancel=cancel, api_key=api_key, token_provider=provider), cancel
    )
    code = EXIT_OK
    answered = tried = 0
    for result in results:
        tried += 1
        if result.ok:
            answered += 1
            if result.family is not None or result.model:
                remember(conn, Learned(result.deployment, result.family, result.model))
        elif code == EXIT_OK:
            code = result.problem.exit_code if result.problem is not None else 1
        if args.json:
            json_line(_json(result))
        else:
            out(_line(result) + "\n")
        if result.problem is not None:
            err(f"{result.label} ({result.deployment}): " + problem_words(result.problem))
    if args.json:
        json_line({"type": "summary", "answered": answered, "tried": tried, "exit_code": code})
    else:
        out(f"{answered} of {tried} deployments answered.\n")
    return code


def _line(result: Any) -> str:
    mark = "-" if result.skipped else ("✓" if result.ok else "✗")
    family = result.family.label if result.family is not None else "unknown family"
    model = f" ({result.model})" if result.model and result.model != result.deployment else ""
    timing = "" if result.skipped else f"{result.seconds:.2f} s  "
    if result.skipped:
        verdict = result.note
    elif result.ok:
        verdict = "OK" + (f" — {result.note}" if result.note else "")
    else:
        verdict = result.problem.title if result.problem is not None else "failed"
    return f"{mark} {result.label:<13} {result.deployment:<24} {family}{model}  {timing}{verdict}"


def _json(result: Any) -> dict[str, Any]:
    return {
        "type": "check",
        "capability": result.capability,
        "deployment": result.deployment,
        "family": str(result.family) if result.family is not None else None,
        "model": result.model,
        "ok": result.ok,
        "skipped": result.skipped,
        "seconds": round(result.seconds, 3),
        "note": result.note,
        "request_id": result.request_id,
        "problem": result.problem.to_json() if result.problem is not None else None,
    }
