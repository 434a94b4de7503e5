"""The connection, deployment, context and retries a command runs with, from --demo, --profile, the environment
or the active profile; demo mode's emulator is started here and handed to core."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from app.cli.common import UsageError

if TYPE_CHECKING:  # pragma: no cover
    import argparse

    from app.core.connection import Connection

NOT_CONFIGURED = (
    "Parley is not configured: there is no Azure OpenAI endpoint to talk to.\n"
    "  Set one up in Settings in the app (run `parley`), or set AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY\n"
    "  (and OPENAI_API_VERSION) in the environment, or add --demo to use the built-in emulator."
)


def max_retries(args: argparse.Namespace, conn: Connection) -> int:
    if args.retries is not None:
        return int(args.retries)
    env = os.environ.get("PARLEY_MAX_RETRIES", "").strip()
    if env:
        try:
            return max(0, int(env))
        except ValueError:
            raise UsageError(f"PARLEY_MAX_RETRIES must be a whole number, not {env!r}.") from None
    return conn.profile.max_retries


def _configured(environ: Any) -> bool:
    if environ.get("AZURE_OPENAI_ENDPOINT", "").strip():
        return True
    from app.core.profiles import ProfileStore

    return ProfileStore.load().active_profile() is not None


def connect(args: argparse.Namespace) -> Connection:
    """The connection the command runs on: --demo, --profile NAME, the environment, or the active profile; with
    --timeout as the profile's timeout (each request's bound) for this run."""
    from app.core import errors

    try:
        conn = _connect(args)
    except errors.ParleyError as exc:
        p = exc.problem
        if p.kind not in (errors.Kind.KEYRING, errors.Kind.CONFIG) or "AZURE_OPENAI_ENDPOINT" in p.one_line():
            raise
        hint = "From the command line, AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY (or --demo) work too."
        raise errors.ParleyError(
            errors.Problem(p.kind, p.title, p.detail, f"{p.action} {hint}".strip())
        ) from None
    finally:
        _tell_load_notes()
    if getattr(args, "timeout", None):
        conn.profile = conn.profile.with_changes(timeout=float(args.timeout))  # the client is built later
    return conn


def _tell_load_notes() -> None:
    """What loading the settings file had to set aside, once, on stderr (the file is fixed by then)."""
    import sys

    profiles = sys.modules.get("app.core.profiles")
    if profiles is None:
        return
    from app.cli.common import err

    for note in profiles.take_load_notes():
        err(f"Note: {note}")


def _connect(args: argparse.Namespace) -> Connection:
    from app.core import connection, logs
    from app.core.profiles import ProfileStore

    logs.add_secret(os.environ.get("AZURE_OPENAI_API_KEY"))
    if args.demo:
        return connection.connect(demo=True, demo_server=start_emulator)
    name = args.profile
    if name:
        store = ProfileStore.load()
        profile = store.get(name)
        if profile is None:
            known = ", ".join(p.name for p in store.profiles) or "none saved yet"
            raise UsageError(
                f"There is no profile named '{name}' (profiles: {known}). Add it in Settings in the app."
            )
        return connection.connect(profile, demo_server=start_emulator)
    if not _configured(os.environ):
        raise UsageError(NOT_CONFIGURED)
    return connection.connect(demo_server=start_emulator)


def start_emulator() -> Any:
    """Demo mode's emulator (--demo, or a demo profile), handed to core, which never imports it."""
    from app.emulator import Emulator

    emu = Emulator()
    emu.start()
    return emu


def deployment_for(args: argparse.Namespace, conn: Connection, capability: str) -> str:
    from app.core import errors

    chosen = (args.deployment or "").strip()
    if chosen:
        return chosen
    try:
        return conn.deployment(capability)
    except errors.ParleyError as exc:
        p = exc.problem
        raise errors.ParleyError(
            errors.Problem(
                p.kind, p.title, p.detail, f"Pass -m DEPLOYMENT, or {p.action[0].lower()}{p.action[1:]}"
            )
        ) from None


def context_for(conn: Connection, operation: str, deployment: str) -> Any:
    from dataclasses import replace

    return replace(conn.context(operation), deployment=deployment)
