"""connect(): explicit profile, environment, stored profile + keyring, Entra ID, demo; SecretStore; build_client."""

from __future__ import annotations

import socket

import pytest
from fake_keyrings import FakeCredential, LockedDictKeyring

from app.core import client as client_mod
from app.core import connection, errors
from app.core.client import SCOPE, build_client, entra_token_provider
from app.core.errors import Kind
from app.core.profiles import AuthMode, Deployments, Profile, ProfileStore, demo_profile
from app.core.secrets import SecretStore


def profile_for(emu, name="Work", auth=AuthMode.KEY) -> Profile:
    return demo_profile(emu.endpoint).with_changes(name=name, demo=False, auth=auth)


def ask(conn) -> str:
    completion = conn.client().chat.completions.create(
        model=conn.deployment("chat"), messages=[{"role": "user", "content": "hello"}]
    )
    return completion.choices[0].message.content


# -- SecretStore ------------------------------------------------------------------------------------------------


def test_secret_store_roundtrip(dict_keyring):
    store = SecretStore()
    assert store.get("Work") is None
    store.set("Work", "k1")
    assert dict_keyring.items[("parley", "Work")] == "k1"
    assert store.get("Work") == "k1"
    store.delete("Work")
    store.delete("Work")  # a missing entry is fine
    assert store.get("Work") is None
    assert "DictKeyring" in store.backend_name()


def test_no_keyring_and_session_fallback():
    from keyring.backends import fail

    store = SecretStore(backend=fail.Keyring())
    with pytest.raises(errors.ParleyError) as info:
        store.get("Work")
    assert info.value.problem.kind == Kind.KEYRING and info.value.problem.title == "No keyring available"
    with pytest.raises(errors.ParleyError):
        store.set("Work", "k")
    assert store.backend_name() == "none"
    store.remember_for_session("Work", "session-key")
    try:
        assert store.get("Work") == "session-key"
        assert (
            SecretStore(backend=fail.Keyring()).get("Work") == "session-key"
        )  # class-wide, this process only
    finally:
        store.forget_session()


def test_locked_keyring_has_its_own_text():
    with pytest.raises(errors.ParleyError) as info:
        SecretStore(backend=LockedDictKeyring()).get("Work")
    assert info.value.problem.title == "The keyring is locked"


# -- connect() --------------------------------------------------------------------------------------------------


def test_connect_from_env_with_key(emulator):
    env = {
        "AZURE_OPENAI_ENDPOINT": emulator.endpoint,
        "AZURE_OPENAI_API_KEY": "env-key",
        "OPENAI_API_VERSION": "2024-10-21",
    }
    with connection.connect(environ=env) as conn:
        assert conn.source == "env" and conn.auth == "key" and not conn.demo
        assert conn.profile.api_version == "2024-10-21"
        assert ask(conn)
    req = emulator.requests[-1]
    assert req.auth_scheme == "api-key" and req.used_key("env-key")
    assert req.query["api-version"] == "2024-10-21"


def test_connect_from_env_without_key_uses_entra(emulator, monkeypatch):
    cred = FakeCredential()
    monkeypatch.setattr(
        client_mod, "entra_token_provider", lambda credential=None: entra_token_provider(cred)
    )
    with connection.connect(environ={"AZURE_OPENAI_ENDPOINT": emulator.endpoint}) as conn:
        assert conn.auth == "entra"
        assert ask(conn)
    assert emulator.requests[-1].auth_scheme == "Bearer" and emulator.requests[-1].used_key(
        "fake-entra-token"
    )
    assert cred.scopes and cred.scopes[0] == (SCOPE,)


def test_connect_with_stored_profile_and_key(emulator, dict_keyring):
    store = ProfileStore.load()
    store.upsert(profile_for(emulator))
    store.save()
    SecretStore().set("Work", "stored-key")
    with connection.connect(store=ProfileStore.load(), environ={}) as conn:
        assert conn.source == "store" and conn.profile.name == "Work"
        assert ask(conn)
    assert emulator.requests[-1].used_key("stored-key")


def test_connect_with_profile_but_no_key(emulator, dict_keyring):
    with pytest.raises(errors.ParleyError) as info:
        connection.connect(profile_for(emulator, name="Lab"), environ={})
    problem = info.value.problem
    assert problem.kind == Kind.CONFIG
    assert "No API key stored for profile Lab" in problem.detail and "Settings" in problem.detail


def test_explicit_profile_beats_env(emulator, dict_keyring):
    SecretStore().set("Work", "k")
    env = {"AZURE_OPENAI_ENDPOINT": "https://elsewhere.openai.azure.com", "AZURE_OPENAI_API_KEY": "x"}
    with connection.connect(profile_for(emulator), environ=env) as conn:
        assert conn.source == "profile" and conn.profile.endpoint == emulator.endpoint


def test_entra_profile_sends_a_bearer_token_for_the_cognitive_services_scope(emulator, monkeypatch):
    cred = FakeCredential()
    monkeypatch.setattr(
        client_mod, "entra_token_provider", lambda credential=None: entra_token_provider(cred)
    )
    with connection.connect(profile_for(emulator, auth=AuthMode.ENTRA), environ={}) as conn:
        assert ask(conn)
        ctx = conn.context("chat")
        assert ctx.auth == "entra" and ctx.deployment == "gpt-5-mini"
    req = emulator.requests[-1]
    assert req.auth_scheme == "Bearer" and req.headers["authorization"].split(" ")[0] == "Bearer"
    assert not req.had_api_key and req.used_key("fake-entra-token")
    assert cred.scopes[0] == ("https://cognitiveservices.azure.com/.default",)


def test_demo_connection_runs_on_the_emulator_the_caller_hands_in_and_stops_it():
    from app.emulator import Emulator

    started = []

    def start_emulator():
        emu = Emulator()
        emu.start()
        started.append(emu)
        return emu

    # nothing configured: demo
    conn = connection.connect(store=ProfileStore.load(), environ={}, demo_server=start_emulator)
    try:
        assert conn.demo and conn.source == "demo" and conn.emulator is started[0]
        assert conn.profile.endpoint.rstrip("/") == started[0].endpoint
        deployments = conn.profile.deployments  # demo mode: today's lineup in every tab (#14)
        assert (deployments.chat, deployments.images, deployments.speech, deployments.transcription) == (
            "gpt-5-mini",
            "gpt-image-1",
            "gpt-4o-mini-tts",
            "gpt-4o-transcribe",
        )
        ctx = conn.context("speech")
        assert (
            ctx.deployment == "gpt-4o-mini-tts"
            and ctx.operation == "speech"
            and ctx.api_version == conn.profile.api_version
        )
        assert ask(conn)
    finally:
        conn.close()
    conn.close()  # twice is fine
    with pytest.raises(OSError):  # close() stopped the emulator it was handed
        socket.create_connection(("127.0.0.1", started[0].port), timeout=2).close()


def test_demo_without_an_emulator_to_run_on_is_a_config_problem():
    with pytest.raises(errors.ParleyError) as info:
        connection.connect(demo=True, environ={})
    assert info.value.problem.kind == Kind.CONFIG and "Settings" in info.value.problem.action


def test_deployment_names_the_blank_settings_field(emulator, dict_keyring):
    SecretStore().set("Work", "k")
    profile = profile_for(emulator).with_changes(deployments=Deployments(chat="gpt-4o"))
    with connection.connect(profile, environ={}) as conn:
        assert conn.deployment("chat") == "gpt-4o"
        with pytest.raises(errors.ParleyError) as info:
            conn.deployment("images")
        assert info.value.problem.kind == Kind.CONFIG
        assert "'Images deployment'" in info.value.problem.action
        assert conn.context("images").deployment is None


def test_build_client_is_lazy_and_retry_free():
    profile = Profile(
        name="P", endpoint="https://res.openai.azure.com", api_version="2024-10-21", timeout=12.0
    )
    client = build_client(profile, api_key="k")
    assert client.max_retries == 0 and client.timeout.read == 12.0 and client.timeout.connect == 10.0
    assert str(client.base_url).startswith("https://res.openai.azure.com/openai")
    with pytest.raises(errors.ParleyError) as info:
        build_client(profile.with_changes(endpoint=""), api_key="k")
    assert info.value.problem.kind == Kind.CONFIG
    with pytest.raises(errors.ParleyError):
        build_client(profile)
