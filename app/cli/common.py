"""What every `parley` command shares: exit codes, usage errors, argument types, and output on stdout/stderr
(problems, retries and filter verdicts in words, or one JSON object per line)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:  # pragma: no cover
    from app.core.errors import Problem

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_FILTERED = 3
EXIT_INTERRUPTED = 130

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class UsageError(Exception):
    """A usage or configuration mistake the CLI reports itself (exit 2)."""


# ---------------------------------------------------------------------------------------------------------------
# Arguments


class Parser(argparse.ArgumentParser):
    """argparse's own exit code for usage errors is 2 too; this keeps its words and says so in one place."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _bounded(convert: type, low: float, high: float | None, bound_text: str, kind: str):
    """An argparse type: a number of `convert`'s kind within [low, high], with the message for each way it fails."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {kind}: {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{bound_text}: {text}")
        return value

    return parse


positive_int = _bounded(int, 1, None, "must be at least 1", "a whole number")
non_negative_int = _bounded(int, 0, None, "must be 0 or more", "a whole number")
temperature = _bounded(float, 0.0, 2.0, "must be between 0 and 2", "a number")


class Commands:
    """The subcommands as their modules register them: each `register(commands)` adds its parser with `add`."""

    def __init__(
        self, sub: Any, common: argparse.ArgumentParser, local: argparse.ArgumentParser | None = None
    ):
        """`local`: the global options that apply to a command that does not connect (no --demo, --profile...)."""
        self._sub = sub
        self._common = common
        self._local = local or common

    def add(
        self, name: str, help_text: str, run: Callable[..., int], *, connects: bool = True
    ) -> argparse.ArgumentParser:
        """The subparser of `name`, with the global options; `run(args, conn, cancel)` (or `run(args)` when it
        does not `connect`) handles it."""
        parent = self._common if connects else self._local
        p = self._sub.add_parser(name, help=help_text, description=help_text, parents=[parent])
        p.set_defaults(run=run, connects=connects)
        return p


# ---------------------------------------------------------------------------------------------------------------
# Output


def err(text: str) -> None:
    sys.stderr.write(text if text.endswith("\n") else text + "\n")
    sys.stderr.flush()


def out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def json_line(obj: dict[str, Any]) -> None:
    import json

    out(json.dumps(obj, ensure_ascii=False) + "\n")


def problem_words(problem: Problem) -> str:
    """A Problem as the user reads it on stderr: title and detail, what to do, the request id."""
    lines = [f"{problem.title}: {problem.detail}".rstrip()]
    if (
        problem.verdict is not None
        and problem.verdict.triggered
        and problem.verdict.summary() not in problem.detail
    ):
        lines.append(f"  Content filter: {problem.verdict.summary()}.")
    if problem.revised_prompt:
        lines.append(f"  Revised prompt: {problem.revised_prompt}")
    if problem.action:
        lines.append(f"  {problem.action}")
    if problem.request_id:
        lines.append(f"  Request id: {problem.request_id}")
    return "\n".join(lines)


def report(problem: Problem, *, json_mode: bool = False) -> int:
    import logging

    from app.core.logs import redact

    logging.getLogger("parley.cli").warning(
        "%s [%s, exit %d]", problem.one_line(), problem.kind, problem.exit_code
    )
    if json_mode:
        from app.core.events import Failed, to_json

        json_line(to_json(Failed(problem)))
    err(redact(problem_words(problem)))
    return problem.exit_code


def retry_words(event: Any) -> str:
    return (
        f"{event.problem.title} — retrying in {event.wait:.1f} s "
        f"(attempt {event.attempt} of {event.max_attempts})"
    )


def read_text(value: str, what: str) -> str:
    text = sys.stdin.read() if value == "-" else value
    if not text.strip():
        raise UsageError(f"The {what} is empty." + (" (stdin had no text)" if value == "-" else ""))
    return text.rstrip("\n") if value == "-" else text
