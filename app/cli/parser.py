"""`parley`'s arguments: the full parser (every command registers its own subparser) and the window's options.

Everything argparse is here, imported only when it is needed: the launches the desktop makes (a double-click,
`parley --demo`, `parley --quick`) are read without it (`app.cli.plain_launch`), so the window's start does not
wait for a parser to be built and run (~3.5 ms).
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from typing import NoReturn

import app
from app.cli.common import EXIT_USAGE, LOG_LEVELS, Commands, FileName, non_negative_int, seconds


class Parser(argparse.ArgumentParser):
    """argparse's own exit code for usage errors is 2 too; this keeps its words and says so in one place."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


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


def window_arguments(argv: list[str] | None) -> argparse.Namespace | None:
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
