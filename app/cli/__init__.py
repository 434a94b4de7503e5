"""The `parley` command: the window by default, and subcommands that reuse `app.core` without Qt.

Each command is a module here that registers its own subparser and handler (`register(commands)` next to `run`).
Nothing heavy is imported at package import: the parser is in `app.cli.parser` (`parley --version` loads argparse
and these small modules only), `openai` is imported when a subcommand first talks to Azure, and PySide6 only when
the window starts (with no display and no QT_QPA_PLATFORM, Qt aborts the whole process, so subcommands must never
touch it).

Exit codes (docs/cli.md): 0 ok, 1 other failure, 2 usage or configuration, 3 content filtered, 4 authentication,
5 deployment or api-version not found, 6 rate limited after retries, 7 network or timeout, 130 stopped (Ctrl+C).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import app
from app.cli import gui
from app.cli.common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    LOG_LEVELS,
    FileName,
    UsageError,
    err,
    not_utf8,
    report,
)

if TYPE_CHECKING:  # pragma: no cover
    import argparse

# The launches the desktop makes (a double-click, the desktop entry, `parley --demo`, a shortcut's `parley --quick`)
# take only these flags: they are read without building a parser (app/cli/parser.py), which cost the window's start
# ~3.5 ms (PySide imports argparse itself, so the module costs nothing more).
PLAIN_FLAGS = {"--demo": "demo", "--quick": "quick"}


def plain_launch(argv: list[str] | None) -> argparse.Namespace | None:
    """The window's arguments when `argv` holds nothing but PLAIN_FLAGS, exactly as the parser would give them
    (tests/test_cli.py compares the two); None for anything else."""
    given = sys.argv[1:] if argv is None else argv
    if not all(arg in PLAIN_FLAGS for arg in given):
        return None
    args = SimpleNamespace(
        command=None, screenshot=None, tab=None, theme=None, size=None, send=None, quick=False
    )
    for arg in given:
        setattr(args, PLAIN_FLAGS[arg], True)
    return cast("argparse.Namespace", args)


def _parsed(argv: list[str] | None) -> argparse.Namespace:
    from app.cli import parser

    return parser.window_arguments(argv) or parser.build_parser().parse_args(argv)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl+C: cancel, keep what was printed, exit."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


def _check_arguments(args: argparse.Namespace) -> None:
    """Every string argument goes on the wire, so it must be UTF-8; file names (`type=FileName`, which each command
    declares with the argument) may be in any encoding."""
    for name, value in vars(args).items():
        for text in value if isinstance(value, list) else [value]:
            where = not_utf8(text) if isinstance(text, str) and not isinstance(text, FileName) else None
            if where:
                option = name.replace("_", "-")
                raise UsageError(
                    f"The {option} argument is not valid UTF-8 text ({where}). Pass UTF-8 text (check the "
                    "terminal's encoding, e.g. LANG=C.UTF-8)."
                )


def _run(args: argparse.Namespace) -> int:
    import logging

    log = logging.getLogger("parley.cli")
    if args.command is None:
        return gui.start(args)
    if not args.connects:
        return args.run(args)

    from app.core import errors
    from app.core.cancel import CancelToken

    cancel = CancelToken()
    conn = None
    json_mode = bool(getattr(args, "json", False))
    try:
        from app.cli.connect import connect

        conn = connect(args)
        log.info(
            "parley %s: %s via %s (%s)", app.__version__, args.command, conn.source, conn.profile.endpoint
        )
        return args.run(args, conn, cancel)
    except errors.ParleyError as exc:
        return report(exc.problem, json_mode=json_mode)
    finally:
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


def main(argv: list[str] | None = None) -> int:
    """`parley [options] [COMMAND ...]`; returns the exit code."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="replace")  # type: ignore[union-attr]
    try:
        args = plain_launch(argv) or _parsed(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    for name, default in (
        ("demo", False),
        ("profile", None),
        ("retries", None),
        ("timeout", None),
        ("log_level", os.environ.get("PARLEY_LOG_LEVEL", "INFO").upper()),
    ):
        if not hasattr(args, name):
            setattr(args, name, default)

    log_file: Path | None = None
    try:
        from app.core import logs

        log_file = logs.setup_logging(args.log_level if args.log_level in LOG_LEVELS else "INFO")
    except Exception as exc:  # noqa: BLE001 - a broken log must not stop the command
        err(f"parley: logging is off ({exc}).")

    if args.command is not None:
        try:
            from app.core import paths

            paths.make_private()  # what an older version (or a umask) left readable by others
        except Exception:  # noqa: BLE001 - never stops a command
            logging_exception("could not make Parley's files private")

    previous = None
    if args.command is not None and threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):
            previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        _check_arguments(args)
        return _run(args)
    except UsageError as exc:
        import logging

        logging.getLogger("parley.cli").warning("usage: %s", exc)
        err(f"parley: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err("Stopped.")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        with contextlib.suppress(Exception):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep Python's exit flush quiet
        return EXIT_OK
    except UnicodeEncodeError as exc:  # a text that is not UTF-8 got past the checks: still the user's input
        logging_exception("text that is not UTF-8")
        err(f"parley: some input is not valid UTF-8 text ({exc.reason}); pass UTF-8 text.")
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - never a traceback on the terminal
        import logging

        logging.getLogger("parley.cli").exception("unexpected failure in %s", args.command or "gui")
        where = f" — details in {log_file}" if log_file else ""
        try:
            from app.core.logs import redact

            text = redact(f"{type(exc).__name__}: {exc}".splitlines()[0])
        except Exception:  # noqa: BLE001
            text = type(exc).__name__
        err(f"parley: unexpected error: {text}{where}")
        return EXIT_FAILURE
    finally:
        if previous is not None:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signal.SIGTERM, previous)


def logging_exception(what: str) -> None:
    import logging

    logging.getLogger("parley.cli").exception(what)


def gui_main() -> int:
    """The `parley-gui` entry point (no console on Windows): the same options, the window by default."""
    return main(sys.argv[1:])
