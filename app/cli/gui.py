"""`parley` with no command: the window, unless there is no display to open it on."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from app.cli.common import EXIT_USAGE, err

if TYPE_CHECKING:  # pragma: no cover
    import argparse


def start(args: argparse.Namespace) -> int:
    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")
    )
    if headless:
        if args.screenshot:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
        else:
            err(
                "parley: no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set).\n"
                "  Use a command instead (parley --help lists them), or set QT_QPA_PLATFORM=offscreen."
            )
            return EXIT_USAGE
    import gc

    # No automatic collection until the window's own collector runs it on the GUI thread (app.ui.app): start-up's
    # imports and widgets made ~45 collections (11 ms) before the chat box could take typing, collecting nothing.
    gc.disable()
    try:
        from app.ui.app import run_gui

        return run_gui(
            demo=bool(args.demo),
            screenshot=args.screenshot,
            tab=args.tab,
            profile=args.profile,
            send=args.send,
            quick=bool(getattr(args, "quick", False)),
            theme=getattr(args, "theme", None),
            size=getattr(args, "size", None),
        )
    finally:
        gc.enable()
