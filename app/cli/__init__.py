"""The `parley` command: the window by default, and subcommands that reuse `app.core` without Qt.

Each command is a module here that registers its own subparser and handler (`register(commands)` next to `run`).
Nothing heavy is imported at package import: `parley --version` loads argparse and these small modules only,
`openai` is imported when a subcommand first talks to Azure, and PySide6 only when the window starts (with no
display and no QT_QPA_PLATFORM, Qt aborts the whole process, so subcommands must never touch it).

Exit codes (docs/cli.md): 0 ok, 1 other failure, 2 usage or configuration, 3 content filtered, 4 authentication,
5 deployment or api-version not found, 6 rate limited after retries, 7 network or timeout, 130 stopped (Ctrl+C).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

import app
from app.cli import gui
from app.cli.common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    LOG_LEVELS,
    Commands,
    FileName,
    Parser,
    UsageError,
    err,
    non_negative_int,
    not_utf8,
    report,
    seconds,
)
from app.cli.connect import connect

# In the order `parley --help` lists them; imported when the full parser is built (a window launch needs none).
COMMAND_NAMES = (
    "ask",
    "complete",
    "embed",
    "speak",
    "transcribe",
    "talk",
    "image",
    "jobs",
    "check",
    "emulator",
)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl+C: cancel, keep what was printed, exit."""


def _shared_options() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """(`local`, `common`): `local` applies to every command; `common` adds what only commands that connect use
    (the emulator's --help must not offer --demo, --profile or --retries)."""
    local = argparse.ArgumentParser(add_help=False)
    _add_local_options(local)
    common = argparse.ArgumentParser(add_help=False, parents=[local])
    _add_common_options(common)
    return local, common


def _add_local_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=argparse.SUPPRESS,
        help="how much goes to the log file (default INFO; DEBUG includes the HTTP libraries)",
    )


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--demo",
        action="store_true",
        default=argparse.SUPPRESS,
        help="talk to the built-in Azure OpenAI emulator instead of Azure",
    )
    parser.add_argument(
        "--profile",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="use this saved profile instead of the active one",
    )
    parser.add_argument(
        "--retries",
        metavar="N",
        type=non_negative_int,
        default=argparse.SUPPRESS,
        help="retries after a 429, 5xx or dropped connection (default: the profile's, or PARLEY_MAX_RETRIES)",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=seconds,
        default=argparse.SUPPRESS,
        help="how long each request may wait for Azure, retries included (default: the profile's, 60; "
        "or PARLEY_TIMEOUT with environment variables)",
    )


def _add_window_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--screenshot", metavar="FILE.png", type=FileName, help="window only: save a screenshot and quit"
    )
    parser.add_argument(
        "--tab",
        metavar="NAME",
        help="window only: open on this tab (chat, voice, images, completions, jobs, settings)",
    )
    parser.add_argument(
        "--theme",
        choices=("system", "light", "dark"),
        help="window only: this theme for this run (Settings' choice stays as it is)",
    )
    parser.add_argument(
        "--size",
        metavar="WxH",
        type=_size,
        help="window only: open the window this size in pixels, e.g. 800x500 (for screenshots)",
    )
    parser.add_argument(
        "--send", metavar="TEXT", help="window only: start a new chat and send TEXT once connected"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="window only: open the small Ask Parley window (in the running Parley, else start it); bind it to a "
        "desktop shortcut",
    )


def build_parser() -> argparse.ArgumentParser:
    import importlib

    local, common = _shared_options()
    parser = Parser(
        prog="parley",
        parents=[common],
        description="Parley, a desktop assistant for Azure OpenAI. With no command it opens the window.",
        epilog="Exit codes: 0 ok, 1 failure, 2 usage/configuration, 3 content filtered, 4 authentication, "
        "5 deployment or api-version not found, 6 rate limited, 7 network/timeout, 130 stopped.",
    )
    parser.add_argument("--version", action="version", version=f"parley {app.__version__}")
    _add_window_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands = Commands(sub, common, local)
    for name in COMMAND_NAMES:
        importlib.import_module(f"app.cli.{name}").register(commands)
    return parser


class _NotAWindowLaunch(Exception):
    pass


class _WindowParser(argparse.ArgumentParser):
    """The window's options in one parser. It never prints help (the full parser does), so its formatter need not
    ask the terminal's width: argparse makes one for every option it adds (~4 ms of the window's start)."""

    def __init__(self) -> None:
        super().__init__(
            prog="parley",
            add_help=False,
            allow_abbrev=False,
            formatter_class=partial(argparse.HelpFormatter, width=100),
        )
        for add in (_add_local_options, _add_common_options, _add_window_options):
            add(self)

    def error(self, message: str) -> NoReturn:
        raise _NotAWindowLaunch(message)


def _window_arguments(argv: list[str] | None) -> argparse.Namespace | None:
    """The arguments of a window launch (no command: a double-click, `parley --demo`), parsed without importing and
    building every command's parser (~10 ms of the window's start). None for anything else (a command, --help,
    --version, a mistake), which the full parser handles and words."""
    parser = _WindowParser()
    try:
        args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    except _NotAWindowLaunch:
        return None
    if rest:
        return None
    args.command = None
    return args


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size like 800x500") from None
    if not (320 <= width <= 10000 and 240 <= height <= 10000):
        raise argparse.ArgumentTypeError(f"'{text}' is outside 320x240 to 10000x10000")
    return width, height


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
        args = _window_arguments(argv) or build_parser().parse_args(argv)
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
