"""Connection profiles: endpoint, api-version, auth mode and one deployment per capability, saved as JSON (no secrets)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from app.core import paths

GA_API_VERSION = "2024-10-21"
PREVIEW_API_VERSION = "2024-10-01-preview"
# Offered in Settings; free text is allowed too.
KNOWN_API_VERSIONS = (
    PREVIEW_API_VERSION,
    GA_API_VERSION,
    "2024-06-01",
    "2024-02-01",
    "2024-12-01-preview",
    "2025-01-01-preview",
    "2024-08-01-preview",
    "2024-05-01-preview",
)
CAPABILITIES = ("chat", "speech", "transcription", "images", "embeddings", "completions")
DEMO_PROFILE_NAME = "Demo"
SETTINGS_FILE = "profiles.json"


class AuthMode(StrEnum):
    KEY = "key"
    ENTRA = "entra"


@dataclass(frozen=True)
class Deployments:
    chat: str = ""
    speech: str = ""
    transcription: str = ""
    images: str = ""
    embeddings: str = ""
    completions: str = ""

    def for_capability(self, capability: str) -> str:
        return getattr(self, capability)


@dataclass(frozen=True)
class Profile:
    name: str
    endpoint: str
    api_version: str = PREVIEW_API_VERSION
    auth: AuthMode = AuthMode.KEY
    deployments: Deployments = field(default_factory=Deployments)
    max_retries: int = 2
    timeout: float = 60.0
    demo: bool = False  # talks to the built-in emulator
    tts_voice: str = "alloy"
    tts_speed: float = 1.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["auth"] = str(self.auth)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Profile:
        deployments = Deployments(
            **{k: str(v or "") for k, v in (data.get("deployments") or {}).items() if k in CAPABILITIES}
        )
        return cls(
            name=str(data["name"]),
            endpoint=str(data.get("endpoint", "")),
            api_version=str(data.get("api_version") or PREVIEW_API_VERSION),
            auth=AuthMode(data.get("auth", "key")),
            deployments=deployments,
            max_retries=int(data.get("max_retries", 2)),
            timeout=float(data.get("timeout", 60.0)),
            demo=bool(data.get("demo", False)),
            tts_voice=str(data.get("tts_voice", "alloy")),
            tts_speed=float(data.get("tts_speed", 1.0)),
        )

    def with_changes(self, **changes: Any) -> Profile:
        return replace(self, **changes)


def demo_profile(endpoint: str) -> Profile:
    """The emulator's profile: the seed's deployment names, so every tab has something real to show."""
    return Profile(
        name=DEMO_PROFILE_NAME,
        endpoint=endpoint,
        api_version=PREVIEW_API_VERSION,
        auth=AuthMode.KEY,
        deployments=Deployments(
            chat="gpt-4o",
            speech="tts-hd",
            transcription="whisper",
            images="dall-e-3",
            embeddings="text-embedding-3-large",
            completions="gpt-35-turbo-instruct",
        ),
        demo=True,
    )


def profile_from_env(environ: dict[str, str] | None = None) -> Profile | None:
    """A profile from the SDK's own variables (AZURE_OPENAI_ENDPOINT, OPENAI_API_VERSION), like the SDK reads them."""
    env = os.environ if environ is None else environ
    endpoint = env.get("AZURE_OPENAI_ENDPOINT", "").strip()
    if not endpoint:
        return None
    has_key = bool(env.get("AZURE_OPENAI_API_KEY"))
    return Profile(
        name="Environment",
        endpoint=endpoint,
        api_version=env.get("OPENAI_API_VERSION", "").strip() or PREVIEW_API_VERSION,
        auth=AuthMode.KEY if has_key else AuthMode.ENTRA,
        deployments=Deployments(chat=env.get("AZURE_OPENAI_DEPLOYMENT", "").strip() or "gpt-4o"),
    )


@dataclass
class ProfileStore:
    """The settings file: a list of profiles and which one is active. Never holds a secret."""

    path: Path = field(default_factory=lambda: paths.config_dir() / SETTINGS_FILE)
    profiles: list[Profile] = field(default_factory=list)
    active: str | None = None

    @classmethod
    def load(cls, path: Path | None = None) -> ProfileStore:
        store = cls(path=path or paths.config_dir() / SETTINGS_FILE)
        if not store.path.exists():
            return store
        try:
            data = json.loads(store.path.read_text(encoding="utf-8"))
            store.profiles = [Profile.from_json(p) for p in data.get("profiles", [])]
            store.active = data.get("active")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Keep the unreadable file for the user; start empty rather than crash.
            aside = store.path.with_suffix(".corrupt.json")
            try:
                store.path.replace(aside)
            except OSError:
                pass
            store.load_error = f"Settings file could not be read ({exc}); it was moved to {aside}."  # type: ignore[attr-defined]
        return store

    def save(self) -> None:
        paths.ensure(self.path.parent)
        data = {"version": 1, "active": self.active, "profiles": [p.to_json() for p in self.profiles]}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(tmp, self.path)

    def get(self, name: str | None) -> Profile | None:
        return next((p for p in self.profiles if p.name == name), None)

    def active_profile(self) -> Profile | None:
        return self.get(self.active) or (self.profiles[0] if self.profiles else None)

    def upsert(self, profile: Profile, *, old_name: str | None = None) -> None:
        key = old_name or profile.name
        self.profiles = [p for p in self.profiles if p.name not in (key, profile.name)] + [profile]
        if self.active in (None, key):
            self.active = profile.name

    def remove(self, name: str) -> None:
        self.profiles = [p for p in self.profiles if p.name != name]
        if self.active == name:
            self.active = self.profiles[0].name if self.profiles else None

    def export_json(self) -> str:
        """Profiles for sharing: endpoints and deployments, never a key (keys live only in the keyring)."""
        return json.dumps({"parley_profiles": 1, "profiles": [p.to_json() for p in self.profiles]}, indent=2)
