"""`parley emulator`: the Azure OpenAI emulator in the foreground until Ctrl+C or SIGTERM."""

from __future__ import annotations

import argparse

from app.cli.common import EXIT_OK, Commands, UsageError, err, non_negative_int, out


def register(commands: Commands) -> None:
    p = commands.add(
        "emulator", "Run the Azure OpenAI emulator in the foreground until Ctrl+C.", run, connects=False
    )
    p.add_argument(
        "--port", type=non_negative_int, default=0, help="port on 127.0.0.1 (default: any free port)"
    )
    p.add_argument("--api-key", metavar="K", help="accept only this api-key (default: any)")


def run(args: argparse.Namespace) -> int:
    import time

    from app.emulator import DEMO_WORDS, DEPLOYMENTS, Emulator

    emu = Emulator(port=args.port, api_key=args.api_key)
    try:
        url = emu.start()
    except OSError as exc:
        raise UsageError(f"Cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}.") from None
    try:
        out(f"Azure OpenAI emulator at {url}\n")
        names = ", ".join(f"{name} ({kind})" for name, (kind, _model, _dims) in DEPLOYMENTS.items())
        out(f"Deployments: {names}\n")
        out(f"API key: {'only the one given with --api-key' if args.api_key else 'any'}\n")
        out("Demo words in a prompt: " + ", ".join(DEMO_WORDS) + "\n")
        # A key is never printed (every output is redacted): the hint names where the accepted one comes from.
        if args.api_key:
            out(
                f"Try: export AZURE_OPENAI_API_KEY set to your --api-key, then AZURE_OPENAI_ENDPOINT={url} parley ask 'hello'\n"
            )
        else:
            out(f"Try: AZURE_OPENAI_ENDPOINT={url} AZURE_OPENAI_API_KEY=any parley ask 'hello'\n")
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        err("Emulator stopped.")
        return EXIT_OK
    finally:
        emu.stop()
