"""One connection to Azure OpenAI (or the built-in emulator): the profile, its client and the context for problems.

`connect()` picks, in order: an explicit profile; the SDK's environment variables (`AZURE_OPENAI_ENDPOINT`,
`AZURE_OPENAI_API_KEY`, `OPENAI_API_VERSION`); the active profile in the `ProfileStore`; else demo mode on the
emulator the caller's `demo_server` starts (core never imports the emulator: the layer that starts the app hands it
in). Call it off the GUI thread: it reads the keyring and may start that emulator (openai is imported when
`client()` first builds the client).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from app.core import client as client_mod
from app.core import endpoints, errors, profiles
from app.core.profiles import AuthMode, Profile, ProfileStore
from app.core.secrets import SecretStore

if TYPE_CHECKING:  # pragma: no cover
    from openai import AzureOpenAI, OpenAI

DEMO_API_KEY = "demo"


class DemoServer(Protocol):
    """What demo mode needs of the emulator it is handed: where it listens, and how to stop it."""

    endpoint: str

    def stop(self) -> None: ...


# Starts an emulator and returns it listening; connect() calls it only when it picks demo mode.
DemoServerFactory = Callable[[], DemoServer]

FIELD_LABELS = {
    "chat": "Chat deployment",
    "speech": "Speech (text to speech) deployment",
    "transcription": "Transcription deployment",
    "images": "Images deployment",
    "embeddings": "Embeddings deployment",
    "completions": "Completions deployment",
    "realtime": "Realtime (live voice) deployment",
}


class Connection:
    """A profile with its credentials; `client()` builds the `AzureOpenAI` client once and reuses it."""

    def __init__(
        self,
        profile: Profile,
        *,
        api_key: str | None = None,
        token_provider: Callable[[], str] | None = None,
        emulator: DemoServer | None = None,
        source: str = "profile",
    ):
        self.profile = profile
        self.source = source  # "profile", "env", "store" or "demo"
        self._api_key = api_key
        self._token_provider = token_provider
        self._emulator = emulator
        self._client: AzureOpenAI | None = None
        self._realtime: OpenAI | None = None
        self._lock = threading.Lock()

    @property
    def demo(self) -> bool:
        return self._emulator is not None or self.profile.demo

    @property
    def emulator(self) -> Any:  # the caller's own emulator type (app.emulator.Emulator), for tests and the UI
        return self._emulator

    @property
    def auth(self) -> str:
        return "key" if self._api_key else "entra"

    def credentials(self) -> tuple[str | None, Callable[[], str] | None]:
        """(api key, Entra ID token provider), one of them set: for a call that builds its own client, like the
        connection test (`probe.probe`)."""
        return self._api_key, self._token_provider

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

    def realtime_client(self) -> OpenAI:
        """The GA-route client live voice connects with (`realtime.build_client`), built once, openai imported then."""
        with self._lock:
            if self._realtime is None:
                from app.core import realtime

                self._realtime = realtime.build_client(
                    self.profile, api_key=self._api_key, token_provider=self._token_provider
                )
            return self._realtime

    def context(self, operation: str) -> errors.Context:
        deployment = (
            self.profile.deployments.for_capability(operation)
            if operation in profiles.ALL_CAPABILITIES
            else None
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
        if capability not in profiles.ALL_CAPABILITIES:
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
            live, self._realtime = self._realtime, None
            emu, self._emulator = self._emulator, None
        for each in (client, live):
            if each is not None:
                with contextlib.suppress(Exception):
                    each.close()
        if emu is not None:
            with contextlib.suppress(Exception):
                emu.stop()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Connection({self.profile.name!r}, {self.profile.endpoint!r}, auth={self.auth}, demo={self.demo})"


def _register_secret(value: str) -> None:
    """Let the log redactor know a key, so no log line (even at DEBUG) ever shows it."""
    from app.core import logs

    logs.add_secret(value)


def connect_demo(demo_server: DemoServerFactory | None) -> Connection:
    """Demo mode on the emulator `demo_server()` starts; the connection stops it on close()."""
    if demo_server is None:  # a caller that never offers demo mode (the app and the CLI always do)
        raise errors.ParleyError(
            errors.Problem(
                errors.Kind.CONFIG,
                "Demo mode is not available",
                "Nothing is configured, and demo mode needs the built-in emulator, which was not provided here.",
                "Set up an Azure OpenAI endpoint in Settings, or set AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY.",
            )
        )
    emu = demo_server()
    try:
        profile = profiles.demo_profile(emu.endpoint)
        conn = Connection(profile, api_key=DEMO_API_KEY, emulator=emu, source="demo")
        conn.check()
    except BaseException:
        emu.stop()
        raise
    return conn


def checked_endpoint(profile: Profile, source: str) -> Profile:
    """`profile` with its endpoint as `endpoints.check_endpoint` reads it (a pasted REST or deployment URL cut back
    to the resource), or a CONFIG ParleyError naming the fix: a typo in the endpoint is not a network failure, and
    retrying it cannot help. One check for every source: a stored profile, the environment, the dialog."""
    if not profile.endpoint.strip():
        return profile  # `check()` says "No endpoint" with its own fix
    check = endpoints.check_endpoint(profile.endpoint)
    env = source == "env"
    if not check.usable:
        where = "AZURE_OPENAI_ENDPOINT" if env else f"The endpoint of profile '{profile.name}'"
        fix = (
            f"Set AZURE_OPENAI_ENDPOINT to your resource's endpoint, e.g. {endpoints.EXAMPLE}"
            if env
            else f"Correct the endpoint in Settings, e.g. {endpoints.EXAMPLE}"
        )
        shown = profile.endpoint.strip()
        raise errors.ParleyError(
            errors.Problem(
                errors.Kind.CONFIG,
                "Endpoint not usable",
                f"{where} ({shown[:80] + ('…' if len(shown) > 80 else '') or 'empty'}): {check.message}",
                fix,
            )
        )
    if check.url and check.url.rstrip("/").lower() != profile.endpoint.strip().rstrip("/").lower():
        return profile.with_changes(endpoint=check.url)  # a pasted URL: only the resource is kept
    return profile


def _connect_profile(profile: Profile, secrets: SecretStore, source: str) -> Connection:
    profile = checked_endpoint(profile, source)
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
    demo_server: DemoServerFactory | None = None,
) -> Connection:
    """Connect as the contract orders it (explicit profile, environment, active profile, demo).

    Demo mode (asked for, a demo profile, or nothing configured) runs on the emulator `demo_server()` starts.
    Raises `ParleyError` (CONFIG for a missing key or endpoint or no `demo_server`, KEYRING when the keyring
    cannot be read).
    """
    if demo or (profile is not None and profile.demo):
        return connect_demo(demo_server)
    secrets = secrets or SecretStore()
    if profile is not None:
        return _connect_profile(profile, secrets, "profile")

    env = os.environ if environ is None else environ
    env_profile = profiles.profile_from_env(dict(env))
    if env_profile is not None:
        env_profile = checked_endpoint(env_profile, "env")
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
            return connect_demo(demo_server)
        return _connect_profile(active, secrets, "store")
    return connect_demo(demo_server)
