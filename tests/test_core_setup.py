"""Settings' core: endpoint checks, the connection test against the emulator, Entra ID sign-in, and profile
operations with the keyring (save, rename, session-only fallback, duplicate, delete, import/export)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from fake_keyrings import FakeCredential, fake_jwt

from app.core import client as client_mod
from app.core import connection, entra, errors, probe, profile_ops
from app.core.cancel import CancelToken
from app.core.capabilities import Family
from app.core.endpoints import Level, check_endpoint
from app.core.errors import Kind
from app.core.profiles import AuthMode, Deployments, Profile, ProfileStore, demo_profile
from app.core.secrets import SecretStore

# -- endpoints --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, level, words, url",
    [
        ("", Level.ERROR, "Enter your resource's endpoint", ""),
        (
            "myres.openai.azure.com",
            Level.ERROR,
            "must start with https://. Did you mean https://myres.openai.azure.com/?",
            "",
        ),
        (
            "http://myres.openai.azure.com/",
            Level.ERROR,
            "accepts only https://, not http:// — use https://myres.openai.azure.com/",
            "",
        ),
        ("ftp://myres.openai.azure.com/", Level.ERROR, "must start with https:// (not ftp://)", ""),
        ("https://", Level.ERROR, "no host name", ""),
        ("https://my res.openai.azure.com", Level.ERROR, "cannot contain spaces", ""),
        ("https://myres.openai.azure.com", Level.OK, "", "https://myres.openai.azure.com/"),
        (
            "  https://MyRes.cognitiveservices.azure.com/ ",
            Level.OK,
            "",
            "https://myres.cognitiveservices.azure.com/",
        ),
        (
            "https://hub.services.ai.azure.com/api/projects/p1",
            Level.WARNING,
            "/api/projects/p1 was removed",
            "https://hub.services.ai.azure.com/",
        ),
        (
            "https://gateway.example.com/",
            Level.WARNING,
            "Not an Azure OpenAI address",
            "https://gateway.example.com/",
        ),
        ("http://127.0.0.1:8080", Level.WARNING, "local address over plain http", "http://127.0.0.1:8080/"),
    ],
)
def test_endpoint_messages(text, level, words, url):
    check = check_endpoint(text)
    assert check.level == level
    assert words in check.message
    assert check.url == url


def test_a_pasted_deployment_url_is_cut_back_and_says_so():
    check = check_endpoint(
        "https://myres.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
    )
    assert check.usable and check.level == Level.WARNING
    assert check.url == "https://myres.openai.azure.com/"
    assert (check.deployment, check.api_version) == ("gpt-4o", "2024-10-21")
    assert (
        "deployment URL" in check.message and "/openai/deployments/gpt-4o/chat/completions" in check.message
    )


@pytest.mark.parametrize(
    "text",
    ["https:myres.openai.azure.com", "javascript:alert(1)", "https://[::1", "https://%zz/", "https://a..b/",
     "https://host:99999/", "localhost:80x", "::", "https://[v1.x]/", "https://user@/", "a:b:c", "https:"],
)  # fmt: skip
def test_check_endpoint_never_raises_even_for_every_prefix(text):
    """The dialog checks every keystroke, so every prefix of a mistake must get words, not a ValueError."""
    for end in range(len(text) + 1):
        check = check_endpoint(text[:end])
        assert check.message or check.usable


# -- connection test --------------------------------------------------------------------------------------------


def profile_for(emu, **changes) -> Profile:
    return demo_profile(emu.endpoint).with_changes(name="Work", demo=False, **changes)


def run(profile, **kw) -> list[probe.ProbeResult]:
    return list(probe.probe_profile(profile, cancel=CancelToken(), **kw))


def test_probe_every_deployment_of_the_emulator(emulator):
    seed = profile_for(emulator)
    seed = seed.with_changes(  # the seed's deployments (demo mode has today's: the next test)
        deployments=replace(
            seed.deployments, chat="gpt-4o", speech="tts-hd", transcription="whisper", images="dall-e-3"
        )
    )
    results = run(seed, typed_key="k")
    assert [r.capability for r in results] == [
        "chat",
        "speech",
        "transcription",
        "images",
        "embeddings",
        "completions",
        "realtime",
    ]
    assert all(r.ok and r.seconds > 0 for r in results), results
    assert all(r.request_id for r in results if r.capability != "realtime")  # a WebSocket: no request id
    images = next(r for r in results if r.capability == "images")
    assert "without generating an image" in images.note
    sent = [r for r in emulator.requests if "images" in r.path]
    assert sent and sent[-1].json["size"] == "1x1"  # nothing was drawn
    chat = next(r for r in emulator.requests if r.path.endswith("/chat/completions"))
    assert chat.json["max_tokens"] == 1 and chat.used_key("k")


def test_probe_of_the_demo_lineup_reaches_gpt_image_without_drawing(emulator):
    """gpt-image-1 refuses the probe's size with Azure's "Invalid value: '1x1'. Supported values are: ..." (param
    `size`, no word "size" in the message): that refusal still proves the deployment answers."""
    results = {r.capability: r for r in run(profile_for(emulator), typed_key="k")}
    assert [(c, r.deployment) for c, r in results.items()] == [
        ("chat", "gpt-5-mini"),
        ("speech", "gpt-4o-mini-tts"),
        ("transcription", "gpt-4o-transcribe"),
        ("images", "gpt-image-1"),
        ("embeddings", "text-embedding-3-large"),
        ("completions", "gpt-35-turbo-instruct"),
        ("realtime", "gpt-realtime"),
    ]
    assert all(r.ok for r in results.values()), [r.problem for r in results.values() if not r.ok]
    assert "without generating an image" in results["images"].note
    assert results["images"].family is Family.GPT_IMAGE
    sent = [r for r in emulator.requests if "images" in r.path]
    assert (
        sent[-1].path.endswith("/gpt-image-1/images/generations") and sent[-1].json["size"] == "1x1"
    )  # nothing drawn


def test_probe_reports_each_failure_by_capability(emulator):
    profile = profile_for(
        emulator,
        api_version="2024-10-21",
        deployments=Deployments(chat="gpt-4o", speech="tts-hd", images="gpt-4o", embeddings="nope"),
    )
    results = {r.capability: r for r in run(profile, typed_key="k")}
    assert results["chat"].ok
    assert (
        results["speech"].problem.kind == Kind.API_VERSION
        and "preview api-version" in results["speech"].problem.action
    )
    assert results["images"].problem.title == "'gpt-4o' does not do image generation"
    assert results["embeddings"].problem.kind == Kind.DEPLOYMENT_NOT_FOUND
    assert "'nope'" in results["embeddings"].problem.detail and results["embeddings"].problem.request_id


def test_probe_wrong_key_stops_after_the_first_call():
    from app.emulator import Emulator

    with Emulator(token_rate=0, api_key="right") as emu:
        results = run(profile_for(emu), typed_key="wrong")
        assert results[0].problem.kind == Kind.AUTH and results[0].problem.status == 401
        assert all(r.skipped and "Not authorised" in r.note for r in results[1:])
        assert len(emu.requests) == 1


def test_probe_unreachable_port(emulator):
    profile = profile_for(emulator).with_changes(endpoint="http://127.0.0.1:9/")
    results = run(profile, typed_key="k")
    assert results[0].problem.kind == Kind.NETWORK and "connection refused" in results[0].problem.detail
    assert all(r.skipped for r in results[1:])


def test_probe_needs_something_to_test(emulator, dict_keyring):
    with pytest.raises(errors.ParleyError) as info:
        run(profile_for(emulator, deployments=Deployments()), typed_key="k")
    assert info.value.problem.title == "Nothing to test"
    with pytest.raises(errors.ParleyError) as info:
        run(profile_for(emulator), stored_name="Work")  # no key typed, none stored
    assert info.value.problem.title == "No API key"
    SecretStore().set("Work", "stored")
    assert run(profile_for(emulator, deployments=Deployments(chat="gpt-4o")), stored_name="Work")[0].ok
    assert emulator.requests[-1].used_key("stored")


def test_probe_with_entra_sends_a_bearer_token(emulator, fake_credential):
    results = run(profile_for(emulator, auth=AuthMode.ENTRA, deployments=Deployments(chat="gpt-4o")))
    assert results[0].ok
    assert emulator.requests[-1].auth_scheme == "Bearer" and not emulator.requests[-1].had_api_key
    assert fake_credential.scopes[0] == ("https://cognitiveservices.azure.com/.default",)


def test_probe_with_entra_that_cannot_sign_in_says_what_was_tried(emulator, monkeypatch):
    from azure.identity import CredentialUnavailableError

    cred = FakeCredential(error=CredentialUnavailableError("Azure CLI not found on path"))
    monkeypatch.setattr(client_mod, "default_credential", lambda interactive=False: cred)
    results = run(
        profile_for(emulator, auth=AuthMode.ENTRA, deployments=Deployments(chat="gpt-4o", embeddings="x"))
    )
    assert (
        results[0].problem.title == "No Entra ID credential available"
        and "az login" in results[0].problem.action
    )
    assert results[1].skipped and emulator.requests == []


# -- Entra ID sign-in -------------------------------------------------------------------------------------------


def test_sign_in_names_the_account(fake_credential):
    result = entra.sign_in()
    assert (result.account, result.tenant) == ("ada@contoso.com", "tenant-1")
    assert "Signed in as ada@contoso.com in tenant tenant-1" in result.describe()
    assert fake_credential.scopes == [(client_mod.SCOPE,)]


def test_sign_in_as_an_application():
    cred = FakeCredential(fake_jwt(appid="1234", app_displayname="parley-ci", tid="t"))
    assert entra.sign_in(credential=cred).account == "application parley-ci (1234)"
    assert entra.sign_in(credential=FakeCredential("not-a-jwt")).account == ""


def test_sign_in_failures_say_what_to_do():
    from azure.identity import CredentialUnavailableError

    with pytest.raises(errors.ParleyError) as info:
        entra.sign_in(
            credential=FakeCredential(error=CredentialUnavailableError("Azure CLI not found on path"))
        )
    problem = info.value.problem
    assert problem.kind == Kind.AUTH and problem.detail == "Azure CLI not found on path"
    assert problem.action.startswith("Run `az login`") and "AZURE_CLIENT_ID" in problem.action

    chain = (
        "DefaultAzureCredential failed to retrieve a token from the included credentials.\nAttempted credentials:\n"
        "\tEnvironmentCredential: EnvironmentCredential authentication unavailable. Environment variables are not fully configured.\n"
        "Visit https://aka.ms/azsdk/python/identity/environmentcredential/troubleshoot to troubleshoot this issue.\n"
        "\tManagedIdentityCredential: ManagedIdentityCredential authentication unavailable.\n"
        "\tAzureCliCredential: Azure CLI not found on path\n"
    )
    from azure.core.exceptions import ClientAuthenticationError

    problem = entra.sign_in_problem(ClientAuthenticationError(chain))
    assert problem.title == "No Entra ID credential worked"
    assert "• Azure CLI (az login): Azure CLI not found on path" in problem.detail
    assert "• managed identity: not available here" in problem.detail
    assert "Environment variables are not fully configured" in problem.detail
    aad = entra.sign_in_problem(
        ClientAuthenticationError("AADSTS700016: Application not found in the directory.")
    )
    assert "AADSTS700016" in aad.action


def test_browser_sign_in_is_kept_for_later_connections(emulator, monkeypatch):
    cred = FakeCredential(fake_jwt(preferred_username="bob@contoso.com"))
    monkeypatch.setattr(
        client_mod, "default_credential", lambda interactive=False: cred if interactive else None
    )
    try:
        assert entra.sign_in(interactive=True).account == "bob@contoso.com"
        with connection.connect(profile_for(emulator, auth=AuthMode.ENTRA), environ={}) as conn:
            conn.client().embeddings.create(model="text-embedding-3-large", input="x")
        assert emulator.requests[-1].used_key(cred.token)
    finally:
        client_mod.forget_credential()


# -- profile operations -----------------------------------------------------------------------------------------


def test_save_puts_the_key_in_the_keyring_only(emulator, dict_keyring, parley_home):
    outcome = profile_ops.save_profile(profile_for(emulator), key="sk-secret-1")
    assert outcome.key_where == "keyring" and outcome.problem is None
    assert dict_keyring.items[("parley", "Work")] == "sk-secret-1"
    assert "sk-secret-1" not in (parley_home / "config" / "profiles.json").read_text()
    assert ProfileStore.load().active == "Work"
    assert "sk-secret-1" not in repr(profile_ops.load_key("Work"))
    state = profile_ops.load_key("Work")
    assert (state.where, state.key) == ("keyring", "sk-secret-1")


def test_rename_moves_the_key_and_blank_keeps_it(emulator, dict_keyring):
    profile_ops.save_profile(profile_for(emulator), key="k1")
    outcome = profile_ops.save_profile(profile_for(emulator).with_changes(name="Lab"), old_name="Work")
    assert outcome.key_where == "keyring"
    assert dict_keyring.items == {("parley", "Lab"): "k1"}
    assert (
        profile_ops.save_profile(
            profile_for(emulator).with_changes(name="Lab", timeout=30.0), old_name="Lab"
        ).key_where
        == "kept"
    )
    assert dict_keyring.items == {("parley", "Lab"): "k1"} and ProfileStore.load().get("Lab").timeout == 30.0
    assert [p.name for p in ProfileStore.load().profiles] == ["Lab"] and ProfileStore.load().active == "Lab"
    with pytest.raises(errors.ParleyError) as info:
        profile_ops.save_profile(profile_for(emulator).with_changes(name="demo"), key="k")
    assert "built-in emulator" in info.value.problem.detail


def test_locked_keyring_falls_back_to_this_session(emulator, locked_keyring, parley_home):
    outcome = profile_ops.save_profile(profile_for(emulator), key="sk-locked")
    assert outcome.key_where == "session" and outcome.problem.title == "The keyring is locked"
    assert SecretStore().get("Work") == "sk-locked"  # from memory
    with connection.connect(store=ProfileStore.load(), environ={}) as conn:
        assert conn.profile.name == "Work"
    assert not any("sk-locked" in p.read_text(errors="ignore") for p in parley_home.rglob("*") if p.is_file())


def test_no_keyring_is_said_before_saving(no_keyring):
    state = profile_ops.load_key(None)
    assert state.backend == "none" and not state.keyring_usable


def test_duplicate_delete_and_activate(emulator, dict_keyring):
    profile_ops.save_profile(profile_for(emulator), key="k1")
    copy = profile_ops.duplicate_profile("Work")
    assert copy.name == "Work copy" and dict_keyring.items[("parley", "Work copy")] == "k1"
    assert profile_ops.duplicate_profile("Work").name == "Work copy 2"
    assert ProfileStore.load().active == "Work"
    profile_ops.set_active("Work copy")
    assert ProfileStore.load().active == "Work copy"
    assert profile_ops.delete_profile("Work copy") in ("Work", "Work copy 2")
    assert ("parley", "Work copy") not in dict_keyring.items
    assert "Work copy" not in [p.name for p in ProfileStore.load().profiles]


def test_export_has_no_key_and_imports_back(emulator, dict_keyring, tmp_path, parley_home):
    profile_ops.save_profile(profile_for(emulator, auth=AuthMode.KEY), key="sk-export-me")
    profile_ops.save_profile(profile_for(emulator).with_changes(name="Entra", auth=AuthMode.ENTRA))
    out = tmp_path / "profiles-export.json"
    assert profile_ops.export_profiles(out) == 2
    text = out.read_text()
    assert "sk-export-me" not in text and 'key"' not in text.replace('"auth": "key"', "")
    data = json.loads(text)
    assert {p["name"] for p in data["profiles"]} == {"Work", "Entra"}
    (parley_home / "config" / "profiles.json").unlink()
    assert profile_ops.import_profiles(out) == ["Work", "Entra"]
    assert ProfileStore.load().get("Entra").auth == AuthMode.ENTRA
    assert profile_ops.import_profiles(out) == ["Work", "Entra"]  # the same again: nothing doubled
    assert len(ProfileStore.load().profiles) == 2
    changed = json.loads(text)
    changed["profiles"][0]["endpoint"] = "https://other.openai.azure.com/"
    out.write_text(json.dumps(changed))
    assert profile_ops.import_profiles(out) == ["Work (imported)", "Entra"]
    store = ProfileStore.load()
    assert store.get("Work").endpoint == emulator.endpoint and store.get(
        "Work (imported)"
    ).endpoint.startswith("https://other")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(errors.ParleyError) as info:
        profile_ops.import_profiles(bad)
    assert info.value.problem.title == "Not a profiles file"


def test_old_profiles_json_without_newer_fields_still_loads(parley_home):
    path = parley_home / "config" / "profiles.json"
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(
            {
                "active": "Old",
                "profiles": [
                    {
                        "name": "Old",
                        "endpoint": "https://old.openai.azure.com/",
                        "deployments": {"chat": "gpt-4o"},
                    }
                ],
            }
        )
    )
    old = ProfileStore.load().active_profile()
    assert (old.name, old.max_retries, old.timeout, old.auth) == ("Old", 2, 60.0, AuthMode.KEY)


def test_clear_history_deletes_every_conversation():
    from app.core.history import History

    history = History.open()
    cid = history.create_conversation("one").id
    history.add_message(cid, "user", "findable words")
    history.create_conversation("two")
    assert profile_ops.clear_history() == 2
    assert history.list_conversations(include_deleted=True) == [] and history.search("findable") == []
