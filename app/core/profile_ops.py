"""What Settings does to profiles, run on a worker because it touches the keyring: save (with a session-only
fallback when the keyring cannot take the key), load a stored key, duplicate, delete, make active, import/export,
and clearing the chat history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from app.core import errors
from app.core.profiles import DEMO_PROFILE_NAME, AuthMode, Profile, ProfileStore
from app.core.secrets import SecretStore


@dataclass(frozen=True)
class KeyState:
    """Where a profile's key is, for the dialog. `key` is kept out of repr so it cannot reach a log line."""

    where: str  # "keyring", "session" or "none"
    backend: str  # the keyring backend in words ("none" when there is no keyring)
    key: str = field(default="", repr=False)
    problem: errors.Problem | None = None  # the keyring could not be read

    @property
    def keyring_usable(self) -> bool:
        return self.backend != "none" and (
            self.problem is None or self.problem.title != "No keyring available"
        )


@dataclass(frozen=True)
class SaveOutcome:
    profile: Profile
    key_where: (
        str  # "keyring", "session", "kept" (blank field: the stored key is untouched) or "none" (Entra ID)
    )
    problem: errors.Problem | None = None  # why the key could not go into the keyring


def name_problem(name: str, existing: list[str], old_name: str | None = None) -> str:
    """'' when `name` is usable for a profile, else what is wrong with it (shown live in the dialog)."""
    name = name.strip()
    if not name:
        return "Give the profile a name, e.g. Work or Personal."
    if name.casefold() == DEMO_PROFILE_NAME.casefold():
        return f"'{DEMO_PROFILE_NAME}' is the built-in emulator's name; choose another."
    if len(name) > 64:
        return "Keep the name under 64 characters."
    taken = {n.casefold() for n in existing if n != old_name}
    if name.casefold() in taken:
        return f"There is already a profile called '{name}'."
    return ""


def load_key(name: str | None, secrets: SecretStore | None = None) -> KeyState:
    """The stored key of profile `name` (None: only say whether a keyring exists)."""
    secrets = secrets or SecretStore()
    backend = secrets.backend_name()
    if name is None:
        return KeyState("none", backend)
    session = secrets.has_session_key(name)
    try:
        key = secrets.get(name) or ""
    except errors.ParleyError as exc:
        return KeyState("none", backend, problem=exc.problem)
    return KeyState("session" if session else ("keyring" if key else "none"), backend, key)


def save_profile(
    profile: Profile,
    *,
    key: str = "",
    remember: bool = True,
    old_name: str | None = None,
    secrets: SecretStore | None = None,
    store: ProfileStore | None = None,
) -> SaveOutcome:
    """Write the profile to profiles.json and its key to the keyring (or to this session's memory when asked, or
    when the keyring is missing or locked: never to a file). A rename moves the stored key to the new name."""
    secrets = secrets or SecretStore()
    store = store if store is not None else ProfileStore.load()
    problem = name_problem(profile.name, [p.name for p in store.profiles], old_name)
    if problem:
        raise errors.ParleyError(
            errors.Problem(errors.Kind.CONFIG, "Profile name", problem, "Choose another name.")
        )
    renamed = old_name is not None and old_name != profile.name
    key = key.strip()
    if profile.auth == AuthMode.KEY and not key and renamed:
        key = _take_key(secrets, old_name)  # type: ignore[arg-type]
    store.upsert(profile, old_name=old_name)
    store.save()
    if renamed:
        _forget(secrets, old_name)  # type: ignore[arg-type]
    if profile.auth != AuthMode.KEY:
        return SaveOutcome(profile, "none")
    if not key:
        return SaveOutcome(profile, "kept")
    if not remember:
        _forget(secrets, profile.name)
        secrets.remember_for_session(profile.name, key)
        return SaveOutcome(profile, "session")
    try:
        secrets.set(profile.name, key)
    except errors.ParleyError as exc:
        secrets.remember_for_session(profile.name, key)
        return SaveOutcome(profile, "session", exc.problem)
    return SaveOutcome(profile, "keyring")


def delete_profile(name: str, secrets: SecretStore | None = None) -> str | None:
    """Remove the profile and its keyring entry; returns the profile that is active now (None: demo)."""
    store = ProfileStore.load()
    store.remove(name)
    store.save()
    (secrets or SecretStore()).delete(name)
    return store.active


def duplicate_profile(name: str, secrets: SecretStore | None = None) -> Profile:
    """A copy named 'name copy' (then 'name copy 2', ...), with a copy of its key where the original's is."""
    secrets = secrets or SecretStore()
    store = ProfileStore.load()
    original = store.get(name)
    if original is None:
        raise errors.ParleyError(
            errors.Problem(errors.Kind.CONFIG, "No such profile", f"There is no profile '{name}'.", "")
        )
    names = {p.name.casefold() for p in store.profiles}
    new_name, n = f"{name} copy", 2
    while new_name.casefold() in names:
        new_name, n = f"{name} copy {n}", n + 1
    copy = original.with_changes(name=new_name)
    active = store.active
    store.upsert(copy)
    store.active = active
    store.save()
    if original.auth == AuthMode.KEY:
        session = secrets.has_session_key(name)
        key = secrets.get(name)
        if key:
            if session:
                secrets.remember_for_session(new_name, key)
            else:
                secrets.set(new_name, key)
    return copy


def set_active(name: str) -> None:
    store = ProfileStore.load()
    if store.get(name) is None:
        raise errors.ParleyError(
            errors.Problem(errors.Kind.CONFIG, "No such profile", f"There is no profile '{name}'.", "")
        )
    store.active = name
    store.save()


def set_voice(name: str, voice: str, speed: float) -> bool:
    """Remember a profile's speech voice and speed (chosen in the Voice tab); False when the profile is not stored
    (demo or environment), whose choice the UI keeps in its preferences instead."""
    store = ProfileStore.load()
    profile = store.get(name)
    if profile is None:
        return False
    if (profile.tts_voice, profile.tts_speed) != (voice, speed):
        store.profiles = [
            p.with_changes(tts_voice=voice, tts_speed=speed) if p.name == name else p for p in store.profiles
        ]
        store.save()
    return True


def export_profiles(path: Path) -> int:
    """Write every profile to `path` as JSON; keys are never included (they live only in the keyring)."""
    store = ProfileStore.load()
    Path(path).write_text(store.export_json(), encoding="utf-8")
    return len(store.profiles)


def import_profiles(path: Path) -> list[str]:
    """Add the profiles in `path`; returns their names as stored. A profile identical to one already here is
    skipped; one that differs under the same name comes in as "Name (imported)", so nothing here is overwritten
    (the keyring entry stays with the profile it was saved for). Keys are added by the user."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("profiles"), list):
            raise ValueError("no 'profiles' list")
        incoming = [Profile.from_json(p) for p in data["profiles"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise errors.ParleyError(
            errors.Problem(
                errors.Kind.CONFIG,
                "Not a profiles file",
                f"{Path(path).name} could not be imported ({exc}).",
                "Choose a file made with Export profiles.",
            )
        ) from exc
    store = ProfileStore.load()
    names: list[str] = []
    for profile in incoming:
        if profile.name.casefold() == DEMO_PROFILE_NAME.casefold():
            continue
        existing = store.get(profile.name)
        if existing == profile:
            names.append(profile.name)
            continue
        if existing is not None:
            taken = {p.name for p in store.profiles}
            name, n = f"{profile.name} (imported)", 2
            while name in taken:
                name, n = f"{profile.name} (imported {n})", n + 1
            profile = profile.with_changes(name=name)
        store.profiles.append(profile)
        names.append(profile.name)
    if store.get(store.active) is None:
        store.active = names[0] if names else None
    store.save()
    return names


def clear_history() -> int:
    """Delete every conversation and its messages (generated images are kept); returns how many."""
    from app.core.history import History

    history = History.open()
    conversations = history.list_conversations(include_deleted=True)
    for conv in conversations:
        history.delete_conversation(conv.id)
    history.purge_deleted(0.0)
    return len(conversations)


def _take_key(secrets: SecretStore, name: str) -> str:
    try:
        return secrets.get(name) or ""
    except errors.ParleyError:
        return ""


def _forget(secrets: SecretStore, name: str) -> None:
    try:
        secrets.delete(name)
    except errors.ParleyError:
        secrets.forget_session(name)
