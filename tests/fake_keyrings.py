"""In-test keyring backends and fixtures for Settings tests: a dict, a locked keyring, no keyring at all.

Backends are installed with `keyring.set_keyring(instance)` for one test and the previous one put back. Priority 0
keeps these classes out of keyring's automatic chain (defining a KeyringBackend subclass registers it for the
whole process).
"""

from __future__ import annotations

import base64
import json
import time

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, PasswordDeleteError

from app.core import client as client_mod
from app.core.secrets import SecretStore


class DictKeyring(KeyringBackend):
    priority = 0

    def __init__(self):
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        if (service, username) not in self.items:
            raise PasswordDeleteError("not found")
        del self.items[(service, username)]


class LockedDictKeyring(DictKeyring):
    """A Secret Service whose collection stays locked (the unlock prompt was dismissed)."""

    def get_password(self, service, username):
        raise KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service, username, password):
        raise KeyringLocked("Failed to unlock the collection!")

    def delete_password(self, service, username):
        raise KeyringLocked("Failed to unlock the collection!")


def _install(backend):
    old = keyring.get_keyring()
    keyring.set_keyring(backend)
    SecretStore().forget_session()
    return old


@pytest.fixture
def dict_keyring():
    backend = DictKeyring()
    old = _install(backend)
    yield backend
    keyring.set_keyring(old)
    SecretStore().forget_session()


@pytest.fixture
def locked_keyring():
    backend = LockedDictKeyring()
    old = _install(backend)
    yield backend
    keyring.set_keyring(old)
    SecretStore().forget_session()


@pytest.fixture
def no_keyring():
    from keyring.backends import fail

    old = _install(fail.Keyring())
    yield
    keyring.set_keyring(old)
    SecretStore().forget_session()


def fake_jwt(**claims) -> str:
    def part(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


class FakeCredential:
    """Stands in for DefaultAzureCredential: hands out `token` (or raises `error`) and records the scopes."""

    def __init__(self, token: str = "fake-entra-token", error: BaseException | None = None):
        self.token, self.error = token, error
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        if self.error is not None:
            raise self.error
        return AccessToken(self.token, int(time.time()) + 3600)


@pytest.fixture
def fake_credential(monkeypatch):
    """Every DefaultAzureCredential Parley would build is this fake (the way test_core_connection injects one)."""
    cred = FakeCredential(fake_jwt(upn="ada@contoso.com", tid="tenant-1"))
    monkeypatch.setattr(client_mod, "default_credential", lambda interactive=False: cred)
    yield cred
    client_mod.forget_credential()
