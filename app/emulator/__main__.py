"""`python -m app.emulator [PORT] [--key KEY]`: run the emulator in the foreground until Ctrl+C."""

from __future__ import annotations

import argparse

from app.emulator import serve_forever


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m app.emulator", description="Parley's Azure OpenAI emulator"
    )
    parser.add_argument("port", nargs="?", type=int, default=0)
    parser.add_argument("--key", default=None, help="accept only this api-key (default: any)")
    args = parser.parse_args()
    serve_forever(
        args.port, args.key, on_ready=lambda url: print(f"Azure OpenAI emulator at {url}", flush=True)
    )


if __name__ == "__main__":
    main()
