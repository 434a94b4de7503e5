"""API keys in the system keyring (service `parley`, one entry per profile name); the only place a key is kept.

`keyring` is imported lazily. Failures become `ParleyError(Kind.KEYRING)` with distinct texts for "there is no
keyring at all" and "the keyring is locked / the unlock prompt was dismissed". A key can also be remembered for this
session only (in memory, class-wide, never written anywhere) when the keyring cannot be used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from app.core import errors

if TYPE_CHECKING:  # types only: keyring is imported when a key is first read or stored
    from keyring.backend import KeyringBackend

SERVICE = "parley"

_HUMAN_NAMES = {
    "SecretService": "Secret Service (GNOME Keyring / KWallet)",
    "kwallet": "KDE Wallet",
    "macOS": "macOS Keychain",
    "Windows": "Windows Credential Manager",
    "libsecret": "Secret Service (libsecret)",
    "fail": "none",
    "null": "none (disabled)",
}


def _no_keyring(detail: str) -> errors.ParleyError:
    return errors.ParleyError(
        errors.Problem(
            errors.Kind.KEYRING,
            "No keyring available",
            detail
            or "This system has no keyring (Secret Service, KWallet, Keychain or Credential Manager) Parley can use.",
            "Install and start a keyring such as GNOME Keyring, or choose 'use for this session only' in Settings.",
        )
    )


def _locked(detail: str) -> errors.ParleyError:
    return errors.ParleyError(
        errors.Problem(
            errors.Kind.KEYRING,
            "The keyring is locked",
            "The keyring is locked or the unlock prompt was dismissed" + (f" ({detail})." if detail else "."),
            "Unlock your keyring (log in again or open your keyring manager) and retry, or choose 'use for this session only' in Settings.",
        )
    )


def _is_locked_error(exc: BaseException) -> bool:
    from keyring import errors as kerr

    if isinstance(exc, kerr.KeyringLocked | kerr.InitError):
        return True
    for e in (exc, exc.__cause__, exc.__context__):
        if e is None:
            continue
        module = type(e).__module__ or ""
        if module.startswith(("dbus", "jeepney", "secretstorage")) or "dbus" in type(e).__name__.lower():
            return True
        if "locked" in str(e).lower() or "unlock" in str(e).lower() or "dismissed" in str(e).lower():
            return True
    return False


def map_keyring_error(exc: BaseException) -> errors.ParleyError:
    """The ParleyError to raise for an exception from `keyring`."""
    from keyring import errors as kerr

    if isinstance(exc, errors.ParleyError):
        return exc
    if isinstance(exc, kerr.NoKeyringError):
        return _no_keyring("")
    if _is_locked_error(exc):
        return _locked(errors._first_lines(str(exc), 1))
    return errors.ParleyError(
        errors.Problem(
            errors.Kind.KEYRING,
            "The keyring failed",
            f"{type(exc).__name__}: {errors._first_lines(str(exc), 2)}",
            "Retry; if it persists, choose 'use for this session only' in Settings.",
        )
    )


class SecretStore:
    """Keys per profile name. `get` looks at this session's memory first, then the keyring."""

    _session: ClassVar[dict[tuple[str, str], str]] = {}

    def __init__(self, service: str = SERVICE, backend: KeyringBackend | None = None):
        self.service = service
        self._backend = backend  # a keyring backend for tests; else keyring's chosen one

    def _keyring(self) -> KeyringBackend:
        if self._backend is not None:
            return self._backend
        import keyring

        return keyring.get_keyring()

    def _usable(self) -> KeyringBackend:
        kr = self._keyring()
        module = type(kr).__module__ or ""
        if module.endswith((".fail", ".null")):
            raise _no_keyring("")
        return kr

    def get(self, name: str) -> str | None:
        """The key for profile `name`, or None when none is stored. Raises ParleyError(KEYRING) when unreadable."""
        session = self._session.get((self.service, name))
        if session:
            return session
        try:
            return self._usable().get_password(self.service, name) or None
        except errors.ParleyError:
            raise
        except Exception as exc:  # noqa: BLE001 - backends raise anything (dbus, RuntimeError, ...)
            raise map_keyring_error(exc) from exc

    def set(self, name: str, key: str) -> None:
        """Store `key` for profile `name` in the keyring (the session copy, if any, is dropped)."""
        try:
            self._usable().set_password(self.service, name, key)
        except errors.ParleyError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise map_keyring_error(exc) from exc
        self._session.pop((self.service, name), None)

    def delete(self, name: str) -> None:
        """Forget the key for `name` everywhere; a missing entry is not an error."""
        self._session.pop((self.service, name), None)
        from keyring import errors as kerr

        try:
            self._usable().delete_password(self.service, name)
        except kerr.PasswordDeleteError:
            return
        except errors.ParleyError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise map_keyring_error(exc) from exc

    def remember_for_session(self, name: str, key: str) -> None:
        """Keep `key` in memory until the process ends; never written to disk."""
        self._session[(self.service, name)] = key

    def forget_session(self, name: str | None = None) -> None:
        if name is None:
            for k in [k for k in self._session if k[0] == self.service]:
                del self._session[k]
        else:
            self._session.pop((self.service, name), None)

    def has_session_key(self, name: str) -> bool:
        return (self.service, name) in self._session

    def backend_name(self) -> str:
        """A human name of the keyring backend in use, e.g. 'Secret Service (GNOME Keyring / KWallet)' or 'none'."""
        try:
            kr = self._keyring()
        except Exception as exc:  # noqa: BLE001
            return f"unavailable ({type(exc).__name__})"
        return _human_name(kr)


def _human_name(kr: KeyringBackend) -> str:
    module = type(kr).__module__ or ""
    last = module.rsplit(".", 1)[-1]
    if last == "chainer":
        inner = [_human_name(b) for b in getattr(kr, "backends", [])]
        return " + ".join(inner) or "none"
    if last in _HUMAN_NAMES:
        return _HUMAN_NAMES[last]
    return f"{type(kr).__name__} ({module})"
