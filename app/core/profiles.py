"""Connection profiles: endpoint, api-version, auth mode and one deployment per capability, saved as JSON (no secrets)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from app.core import capabilities, paths
from app.core.capabilities import Family

# The latest dated releases of the data plane (Microsoft Learn, "API version lifecycle"): new profiles use the
# preview, which serves every operation Parley has (reasoning models need 2024-12-01-preview or later, speech a
# preview); the v1 API (`Profile.api = "v1"`) takes no api-version at all.
GA_API_VERSION = "2024-10-21"
PREVIEW_API_VERSION = "2025-04-01-preview"
SEED_PREVIEW_API_VERSION = "2024-10-01-preview"
API_DATED = "dated"
API_V1 = "v1"
# Offered in Settings; free text is allowed too.
KNOWN_API_VERSIONS = (
    PREVIEW_API_VERSION,
    GA_API_VERSION,
    "2025-03-01-preview",
    SEED_PREVIEW_API_VERSION,
    "2024-06-01",
    "2024-02-01",
    "2024-12-01-preview",
    "2025-01-01-preview",
    "2024-08-01-preview",
    "2024-05-01-preview",
)
CAPABILITIES = ("chat", "speech", "transcription", "images", "embeddings", "completions")
# The deployment a profile may name besides CAPABILITIES' HTTP ones: live voice's, reached over a WebSocket (the
# probe and the Settings form go over all seven).
REALTIME = "realtime"
ALL_CAPABILITIES = (*CAPABILITIES, REALTIME)
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
    realtime: str = ""  # gpt-realtime / gpt-realtime-mini: live voice (app/core/realtime.py)

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
    # deployment -> family name (capabilities.Family), learned from Azure or set in Settings; wins over the name
    families: dict[str, str] = field(default_factory=dict, hash=False)
    # "dated" (`/openai/deployments/...?api-version=...`) or "v1" (`/openai/v1/...`, the deployment as `model`)
    api: str = API_DATED
    # deployment -> the model Azure said answered (a response's `model`), e.g. "o4-mini-2025-04-16"
    models: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def v1(self) -> bool:
        """Whether requests go to the v1 API: the switch, or an endpoint pasted as `.../openai/v1/`."""
        from app.core.endpoints import is_v1_endpoint

        return self.api == API_V1 or is_v1_endpoint(self.endpoint)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["auth"] = str(self.auth)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Profile:
        deployments = Deployments(
            **{k: str(v or "") for k, v in (data.get("deployments") or {}).items() if k in ALL_CAPABILITIES}
        )
        name = data["name"]
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a profile needs a name")
        return cls(
            name=name,
            endpoint=str(data.get("endpoint", "")),
            api_version=str(data.get("api_version") or PREVIEW_API_VERSION),
            auth=AuthMode(data.get("auth", "key")),
            deployments=deployments,
            max_retries=int(data.get("max_retries", 2)),
            timeout=float(data.get("timeout", 60.0)),
            demo=bool(data.get("demo", False)),
            tts_voice=str(data.get("tts_voice", "alloy")),
            tts_speed=float(data.get("tts_speed", 1.0)),
            families={str(k): str(v) for k, v in (data.get("families") or {}).items()},
            api=API_V1 if data.get("api") == API_V1 else API_DATED,
            models={str(k): str(v) for k, v in (data.get("models") or {}).items()},
        )

    def family(self, deployment: str) -> Family | None:
        """What `deployment` serves: what was learned or set for it, else what its model's or its own name says."""
        return (
            capabilities.parse(self.families.get(deployment))
            or capabilities.family_for_model(self.models.get(deployment))
            or capabilities.family_for_model(deployment)
        )

    def model(self, deployment: str) -> str:
        """The model `deployment` serves as far as Parley knows: what Azure said, else the deployment's name."""
        return self.models.get(deployment) or deployment

    def chat_traits(self, deployment: str) -> capabilities.ChatTraits:
        """How a chat request to `deployment` is shaped (token limit, sampling, effort, streaming, system role)."""
        return capabilities.chat_traits(self.family(deployment), self.model(deployment))

    def learned(self, deployment: str, family: Family | None, model: str | None = None) -> Profile | None:
        """This profile with what Azure taught about `deployment`, or None when it knew that already."""
        families, models = dict(self.families), dict(self.models)
        if family is not None:
            families[deployment] = str(family)
        if model:
            models[deployment] = model
        if families == self.families and models == self.models:
            return None
        return replace(self, families=families, models=models)

    def with_changes(self, **changes: Any) -> Profile:
        return replace(self, **changes)


def demo_profile(endpoint: str) -> Profile:
    """The emulator's profile: today's lineup in every tab (a reasoning chat deployment, gpt-image-1,
    gpt-4o-mini-tts with a speaking style, gpt-4o-transcribe streaming its words). The emulator still serves the
    seed's deployments (gpt-4o, dall-e-3, tts-hd, whisper) by name; completions has no modern successor."""
    return Profile(
        name=DEMO_PROFILE_NAME,
        endpoint=endpoint,
        api_version=PREVIEW_API_VERSION,
        auth=AuthMode.KEY,
        deployments=Deployments(
            chat="gpt-5-mini",
            speech="gpt-4o-mini-tts",
            transcription="gpt-4o-transcribe",
            images="gpt-image-1",
            embeddings="text-embedding-3-large",
            completions="gpt-35-turbo-instruct",
            realtime="gpt-realtime",
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
        api=API_V1 if env.get("PARLEY_API", "").strip().lower() == API_V1 else API_DATED,
        api_version=env.get("OPENAI_API_VERSION", "").strip() or PREVIEW_API_VERSION,
        auth=AuthMode.KEY if has_key else AuthMode.ENTRA,
        deployments=Deployments(chat=env.get("AZURE_OPENAI_DEPLOYMENT", "").strip() or "gpt-4o"),
        timeout=_env_seconds(env.get("PARLEY_TIMEOUT"), 60.0),
    )


def _env_seconds(text: str | None, default: float) -> float:
    """PARLEY_TIMEOUT for setups made of environment variables (a stored profile has its own field)."""
    try:
        value = float(text) if text else default
    except ValueError:
        return default
    return value if 0 < value <= 3600 else default


_unseen_notes: list[str] = []


def take_load_notes() -> list[str]:
    """What loading the settings file had to set aside since the last call: the window and the CLI show these once
    (the first load moves the unreadable part away, so later loads have nothing to say)."""
    notes = list(_unseen_notes)
    _unseen_notes.clear()
    return notes


@dataclass
class ProfileStore:
    """The settings file: a list of profiles and which one is active. Never holds a secret."""

    path: Path = field(default_factory=lambda: paths.config_dir() / SETTINGS_FILE)
    profiles: list[Profile] = field(default_factory=list)
    active: str | None = None
    notes: list[str] = field(default_factory=list)  # what loading had to set aside, in words for the user

    @classmethod
    def load(cls, path: Path | None = None) -> ProfileStore:
        """The profiles in the settings file. What cannot be read is set aside in a new timestamped file beside it
        (never over an earlier one) and named in `notes`; every profile that can be read is kept."""
        store = cls(path=path or paths.config_dir() / SETTINGS_FILE)
        try:
            raw = store.path.read_bytes()
        except FileNotFoundError:
            return store
        except OSError as exc:
            store._note(f"The settings file {store.path} could not be read ({exc.strerror or exc}).")
            return store
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            aside = store._set_aside(raw)
            store._note(
                f"The settings file was not valid JSON ({_short(exc)}), so no profile could be read from it. "
                f"It was moved to {aside}; add your connection again in Settings."
            )
            return store
        entries = data.get("profiles") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            aside = store._set_aside(raw)
            store._note(
                f"The settings file holds no list of profiles, so none could be read. It was moved to {aside}; "
                "add your connection again in Settings."
            )
            return store
        rejected: list[Any] = []
        for entry in entries:  # each one on its own: one bad entry must not cost the others
            try:
                profile = Profile.from_json(entry)
            except (AttributeError, KeyError, TypeError, ValueError):
                rejected.append(entry)
                continue
            if store.get(profile.name) is None:
                store.profiles.append(profile)
            else:
                rejected.append(entry)
        active = data.get("active")
        store.active = active if isinstance(active, str) else None
        if rejected:
            aside = store._set_aside(json.dumps({"profiles": rejected}, indent=2).encode("utf-8"))
            kept = (
                f"the other {len(store.profiles)} were kept"
                if store.profiles
                else "no other profile was there"
            )
            store._note(
                f"{len(rejected)} profile(s) in the settings file could not be read and were set aside in {aside}; "
                f"{kept}."
            )
            try:
                store.save()
            except OSError:
                pass
        return store

    def _note(self, text: str) -> None:
        self.notes.append(text)
        _unseen_notes.append(text)

    def _set_aside(self, raw: bytes) -> Path:
        """Keep what could not be read in `profiles.unreadable-<time>.json`, never overwriting an earlier one."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for n in range(1000):
            aside = self.path.with_name(f"{self.path.stem}.unreadable-{stamp}{f'-{n}' if n else ''}.json")
            try:
                fd = paths.private_open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            except FileExistsError:
                continue
            with open(fd, "wb") as out:
                out.write(raw)
            break
        if raw and self.path.exists() and self.path.read_bytes() == raw:
            self.path.unlink()
        return aside

    def save(self) -> None:
        paths.ensure(self.path.parent)
        data = {"version": 1, "active": self.active, "profiles": [p.to_json() for p in self.profiles]}
        paths.write_private(self.path, json.dumps(data, indent=2).encode("utf-8"))

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

    def remember(
        self, profile_name: str, deployment: str, family: Family | None, model: str | None = None
    ) -> bool:
        """Keep what Azure taught about a deployment in the named profile and save; False when nothing changed (or
        there is no such profile, e.g. one made of environment variables)."""
        profile = self.get(profile_name)
        changed = profile.learned(deployment, family, model) if profile is not None else None
        if changed is None:
            return False
        self.profiles = [changed if p.name == profile_name else p for p in self.profiles]
        self.save()
        return True

    def export_json(self) -> str:
        """Profiles for sharing: endpoints and deployments, never a key (keys live only in the keyring)."""
        return json.dumps({"parley_profiles": 1, "profiles": [p.to_json() for p in self.profiles]}, indent=2)


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
