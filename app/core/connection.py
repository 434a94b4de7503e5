"""One connection to Azure OpenAI (or the built-in emulator): the profile, its client and the context for problems.

`connect()` picks, in order: an explicit profile; the SDK's environment variables (`AZURE_OPENAI_ENDPOINT`,
`AZURE_OPENAI_API_KEY`, `OPENAI_API_VERSION`); the active profile in the `ProfileStore`; else demo mode with an
in-process emulator. Call it off the GUI thread: it reads the keyring, imports `openai` and may start the emulator.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from app.core import client as client_mod
from app.core import errors, profiles
from app.core.profiles import AuthMode, Profile, ProfileStore
from app.core.secrets import SecretStore

if TYPE_CHECKING:  # pragma: no cover
    from openai import AzureOpenAI

DEMO_API_KEY = "demo"

FIELD_LABELS = {
    "chat": "Chat deployment",
    "speech": "Speech (text to speech) deployment",
    "transcription": "Transcription deployment",
    "images": "Images deployment",
    "embeddings": "Embeddings deployment",
    "completions": "Completions deployment",
}


class Connection:
    """A profile with its credentials; `client()` builds the `AzureOpenAI` client once and reuses it."""

    def __init__(
        self,
        profile: Profile,
        *,
        api_key: str | None = None,
        token_provider: Callable[[], str] | None = None,
        emulator: Any = None,
        source: str = "profile",
    ):
        self.profile = profile
        self.source = source  # "profile", "env", "store" or "demo"
        self._api_key = api_key
        self._token_provider = token_provider
        self._emulator = emulator
        self._client: AzureOpenAI | None = None
        self._lock = threading.Lock()

    @property
    def demo(self) -> bool:
        return self._emulator is not None or self.profile.demo

    @property
    def emulator(self) -> Any:
        return self._emulator

    @property
    def auth(self) -> str:
        return "key" if self._api_key else "entra"

    def check(self) -> None:
        """Raise the CONFIG problem `client()` would, without building it: the client (and openai, ~25 MB) is made
        on the first request, or when the UI expects one soon (`AppServices.warm_up_client`)."""
        client_mod.check_credentials(self.profile, api_key=self._api_key, token_provider=self._token_provider)

    def client(self) -> AzureOpenAI:
        with self._lock:
            if self._client is None:
                self._client = client_mod.build_client(
                    self.profile, api_key=self._api_key, token_provider=self._token_provider
                )
            return self._client

    def context(self, operation: str) -> errors.Context:
        deployment = (
            self.profile.deployments.for_capability(operation) if operation in profiles.CAPABILITIES else None
        )
        return errors.Context(
            operation=operation,
            deployment=deployment or None,
            api_version=self.profile.api_version,
            endpoint=self.profile.endpoint,
            auth=self.auth,
        )

    def deployment(self, capability: str) -> str:
        """The deployment name for `capability`; a CONFIG ParleyError naming the Settings field when blank."""
        if capability not in profiles.CAPABILITIES:
            raise ValueError(f"unknown capability {capability!r}")
        name = self.profile.deployments.for_capability(capability).strip()
        if not name:
            label = FIELD_LABELS[capability]
            raise errors.ParleyError(
                errors.Problem(
                    errors.Kind.CONFIG,
                    f"No {capability} deployment",
                    f"Profile '{self.profile.name}' has no {capability} deployment set.",
                    f"Fill in '{label}' in Settings with the deployment name from Azure AI Foundry → Deployments.",
                )
            )
        return name

    def close(self) -> None:
        """Close the client and stop an emulator this connection started."""
        with self._lock:
            client, self._client = self._client, None
            emu, self._emulator = self._emulator, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        if emu is not None:
            with contextlib.suppress(Exception):
                _stop_emulator(emu)

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Connection({self.profile.name!r}, {self.profile.endpoint!r}, auth={self.auth}, demo={self.demo})"


def _register_secret(value: str) -> None:
    """Let the log redactor know a key, when logging is there."""
    try:
        from app.core import logs  # type: ignore[attr-defined]
    except ImportError:
        return
    add = getattr(logs, "add_secret", None)
    if add is not None:
        with contextlib.suppress(Exception):
            add(value)


def _start_emulator() -> Any:
    from app.emulator import Emulator

    emu = Emulator()
    start = getattr(emu, "start", None)
    if start is not None:
        start()
    else:  # pragma: no cover - context-manager-only emulator
        emu.__enter__()
    return emu


def _stop_emulator(emu: Any) -> None:
    stop = getattr(emu, "stop", None) or getattr(emu, "close", None)
    if stop is not None:
        stop()
    else:  # pragma: no cover
        emu.__exit__(None, None, None)


def connect_demo() -> Connection:
    emu = _start_emulator()
    try:
        profile = profiles.demo_profile(emu.endpoint)
        conn = Connection(profile, api_key=DEMO_API_KEY, emulator=emu, source="demo")
        conn.check()
    except BaseException:
        _stop_emulator(emu)
        raise
    return conn


def _connect_profile(profile: Profile, secrets: SecretStore, source: str) -> Connection:
    if profile.auth == AuthMode.ENTRA:
        conn = Connection(profile, token_provider=client_mod.entra_token_provider(), source=source)
    else:
        key = secrets.get(profile.name)
        if not key:
            raise errors.ParleyError(
                errors.Problem(
                    errors.Kind.CONFIG,
                    "No API key",
                    f"No API key stored for profile {profile.name} — add it in Settings.",
                    "Paste the key from the Azure portal (Keys and Endpoint) into Settings, or switch the profile to Microsoft Entra ID.",
                )
            )
        _register_secret(key)
        conn = Connection(profile, api_key=key, source=source)
    conn.check()
    return conn


def connect(
    profile: Profile | None = None,
    *,
    demo: bool = False,
    store: ProfileStore | None = None,
    secrets: SecretStore | None = None,
    environ: Mapping[str, str] | None = None,
) -> Connection:
    """Connect as the contract orders it (explicit profile, environment, active profile, demo).

    Raises `ParleyError` (CONFIG for a missing key or endpoint, KEYRING when the keyring cannot be read).
    """
    if demo or (profile is not None and profile.demo):
        return connect_demo()
    secrets = secrets or SecretStore()
    if profile is not None:
        return _connect_profile(profile, secrets, "profile")

    env = os.environ if environ is None else environ
    env_profile = profiles.profile_from_env(dict(env))
    if env_profile is not None:
        key = env.get("AZURE_OPENAI_API_KEY", "").strip()
        if key:
            _register_secret(key)
            conn = Connection(env_profile, api_key=key, source="env")
        else:
            conn = Connection(env_profile, token_provider=client_mod.entra_token_provider(), source="env")
        conn.check()
        return conn

    store = store if store is not None else ProfileStore.load()
    active = store.active_profile()
    if active is not None:
        if active.demo:
            return connect_demo()
        return _connect_profile(active, secrets, "store")
    return connect_demo()
