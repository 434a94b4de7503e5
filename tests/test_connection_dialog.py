"""The connection dialog as a user meets it: endpoint messages while typing, Test connection against the emulator
(OK, wrong key, unknown deployment, nothing listening), saving with the key in the keyring only (real Secret Service
when scripts/test.sh started one), the session-only fallback, and Entra ID sign-in with a fake credential."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QMessageBox

from app.core.profiles import AuthMode, ProfileStore
from app.core.secrets import SecretStore
from app.ui.common.services import AppServices
from app.ui.settings.connection_dialog import ConnectionDialog
from app.ui.settings.probe_panel import card_text

KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def services(qtbot):
    s = AppServices()
    yield s
    s.shutdown()


def open_dialog(qtbot, services, profile=None, existing=()) -> ConnectionDialog:
    dialog = ConnectionDialog(services, profile, existing=list(existing))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: not dialog.auth.busy, timeout=10000)  # the keyring check on a Job
    return dialog


def fill(qtbot, dialog, endpoint, *, key=KEY, name="Work", **deployments) -> None:
    dialog.name_edit.clear()
    qtbot.keyClicks(dialog.name_edit, name)
    dialog.endpoint_edit.setText(endpoint)
    dialog.auth.key_edit.setText(key)
    for capability, edit in dialog.deployment_edits.items():
        edit.setText(deployments.get(capability, ""))


def run_test(qtbot, dialog) -> list[str]:
    with qtbot.waitSignal(dialog.probe.finished, timeout=20000):
        qtbot.mouseClick(dialog.probe.button, Qt.MouseButton.LeftButton)
    return dialog.probe.row_texts()


def save(qtbot, dialog) -> None:
    with qtbot.waitSignal(dialog.saved, timeout=10000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)


def files_containing(root, secret: str) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


# -- endpoint ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed, message",
    [
        (
            "http://myres.openai.azure.com/",
            "Azure OpenAI accepts only https://, not http:// — use https://myres.openai.azure.com/",
        ),
        ("myres.openai.azure.com", "must start with https://. Did you mean https://myres.openai.azure.com/?"),
        ("https://", "no host name"),
        ("https:myres.openai.azure.com", "Did you mean https://myres.openai.azure.com/?"),
        ("https://[::1", "not a valid address"),
        ("https://%zz/", "not a valid host name"),
    ],
)
def test_bad_endpoint_says_what_is_wrong_while_typing(qtbot, services, dict_keyring, typed, message):
    dialog = open_dialog(qtbot, services)
    qtbot.keyClicks(dialog.endpoint_edit, typed)
    assert dialog.endpoint_note.isVisible() and message in dialog.endpoint_note.text()
    dialog.auth.key_edit.setText(KEY)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and "Not saved yet" in card_text(dialog.save_card)
    assert dialog.focusWidget() is dialog.endpoint_edit
    assert not (services_home() / "config" / "profiles.json").exists()


def services_home():
    from pathlib import Path

    return Path(os.environ["PARLEY_HOME"])


def test_pasted_deployment_url_is_cut_back_and_fills_the_form(qtbot, services, dict_keyring):
    dialog = open_dialog(qtbot, services)
    dialog.endpoint_edit.setText(
        "https://contoso-eu.openai.azure.com/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21"
    )
    dialog.endpoint_edit.editingFinished.emit()
    assert dialog.endpoint_edit.text() == "https://contoso-eu.openai.azure.com/"
    assert "/openai/deployments/gpt-4o-mini/chat/completions" in dialog.endpoint_note.text()
    assert "was removed" in dialog.endpoint_note.text()
    assert dialog.deployment_edits["chat"].text() == "gpt-4o-mini"
    assert dialog.version_combo.currentText() == "2024-10-21"
    assert dialog.name_edit.text() == "contoso-eu"  # named after the resource until the user types a name


def test_names_demo_and_duplicates_are_refused(qtbot, services, dict_keyring):
    dialog = open_dialog(qtbot, services, existing=["Work"])
    qtbot.keyClicks(dialog.name_edit, "demo")
    assert "built-in emulator" in dialog.name_note.text()
    dialog.name_edit.clear()
    qtbot.keyClicks(dialog.name_edit, "work")
    assert "already a profile called 'work'" in dialog.name_note.text()


def test_key_is_masked_until_shown(qtbot, services, dict_keyring):
    dialog = open_dialog(qtbot, services)
    assert dialog.auth.key_edit.echoMode() == QLineEdit.EchoMode.Password
    qtbot.mouseClick(dialog.auth.show_key, Qt.MouseButton.LeftButton)
    assert dialog.auth.key_edit.echoMode() == QLineEdit.EchoMode.Normal
    assert dialog.auth.show_key.accessibleName() == "Hide the API key"
    qtbot.mouseClick(dialog.auth.show_key, Qt.MouseButton.LeftButton)
    assert dialog.auth.key_edit.echoMode() == QLineEdit.EchoMode.Password


# -- Test connection --------------------------------------------------------------------------------------------


def test_connection_test_ok_with_latency(qtbot, services, dict_keyring, emulator):
    dialog = open_dialog(qtbot, services)
    fill(qtbot, dialog, emulator.endpoint, chat="gpt-4o", embeddings="text-embedding-3-large")
    rows = run_test(qtbot, dialog)
    assert rows[0].startswith("✓ Chat (gpt-4o): OK, ") and rows[0].endswith(" ms")
    assert rows[1].startswith("✓ Embeddings (text-embedding-3-large): OK")
    assert dialog.probe.status.text() == "All 2 deployments answered."
    assert emulator.requests[-1].used_key(KEY)


@pytest.fixture
def fixed_key_emulator():
    from app.emulator import Emulator

    with Emulator(token_rate=0, api_key="the-right-key") as emu:
        yield emu


def test_connection_test_shows_401_for_a_wrong_key(qtbot, services, dict_keyring, fixed_key_emulator):
    dialog = open_dialog(qtbot, services)
    fill(qtbot, dialog, fixed_key_emulator.endpoint, key="a-wrong-key", chat="gpt-4o", speech="tts-hd")
    rows = run_test(qtbot, dialog)
    assert rows[0] == "✗ Chat (gpt-4o): Not authorised"
    assert "Check the API key for this resource" in rows[1] and "Request id:" in rows[1]
    assert rows[2].startswith("– Speech (tts-hd): Not tried")
    # The speech deployment was not tried after the key failed: one failure, not two (#17).
    assert dialog.probe.status.text() == "1 of 1 did not work; 1 not tried; see below."


def test_connection_test_shows_404_for_an_unknown_deployment(qtbot, services, dict_keyring, emulator):
    dialog = open_dialog(qtbot, services)
    fill(qtbot, dialog, emulator.endpoint, chat="gpt-4o", images="my-dalle")
    rows = run_test(qtbot, dialog)
    assert rows[0].startswith("✓ Chat (gpt-4o)")
    assert rows[1] == "✗ Images (my-dalle): Deployment not found"
    assert "Deployment 'my-dalle' not found on this resource." in rows[2]


def test_connection_test_tries_the_realtime_deployment_too_and_counts_it(
    qtbot, services, dict_keyring, emulator
):
    # All seven fields filled: the Realtime one was neither tried nor listed, and the summary counted six.
    dialog = open_dialog(qtbot, services)
    names = {capability: f"dep-{capability}" for capability in dialog.deployment_edits}
    assert "realtime" in names and len(names) == 7
    fill(qtbot, dialog, emulator.endpoint, **{**names, "chat": "gpt-4o"})
    rows = run_test(qtbot, dialog)
    verdicts = [row for row in rows if row[:1] in "✓✗–"]
    assert len(verdicts) == 7, rows
    assert "✗ Realtime (dep-realtime): Deployment not found" in verdicts
    assert dialog.probe.status.text() == "6 of 7 did not work; see below."
    fill(qtbot, dialog, emulator.endpoint, chat="gpt-4o", realtime="gpt-realtime")
    rows = run_test(qtbot, dialog)
    assert rows[1].startswith("✓ Realtime (gpt-realtime): OK, "), rows
    assert dialog.probe.status.text() == "All 2 deployments answered."


def test_connection_test_shows_nothing_listening(qtbot, services, dict_keyring):
    import socket

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dialog = open_dialog(qtbot, services)
    fill(qtbot, dialog, f"http://127.0.0.1:{port}/", chat="gpt-4o")
    rows = run_test(qtbot, dialog)
    assert rows[0] == "✗ Chat (gpt-4o): Could not reach Azure"
    assert "connection refused" in rows[1]


def test_connection_test_shows_api_version_problem_for_speech(qtbot, services, dict_keyring, emulator):
    dialog = open_dialog(qtbot, services)
    fill(qtbot, dialog, emulator.endpoint, speech="tts-hd")
    dialog.version_combo.setCurrentText("2024-10-21")
    assert "needs a preview api-version" in dialog.version_note.text()
    rows = run_test(qtbot, dialog)
    assert rows[0] == "✗ Speech (tts-hd): Resource not found" and "preview api-version" in rows[1]


# -- saving -----------------------------------------------------------------------------------------------------


def test_save_stores_the_key_in_the_keyring_only_and_connects(
    qtbot, services, dict_keyring, emulator, parley_home
):
    from app.core import logs

    logs.setup_logging("DEBUG")
    try:
        dialog = open_dialog(qtbot, services)
        fill(qtbot, dialog, emulator.endpoint, chat="gpt-4o")
        run_test(qtbot, dialog)
        with qtbot.waitSignal(services.connection_changed, timeout=15000):
            save(qtbot, dialog)
        assert not dialog.isVisible()
        assert dict_keyring.items[("parley", "Work")] == KEY
        assert services.connection.profile.name == "Work" and not services.connection.demo
        services.connection.client().chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
        assert emulator.requests[-1].used_key(KEY)
        services.set_pref("window/tab", "settings")
        services.settings.sync()
        import logging

        logging.getLogger("parley.test").warning("the key is %s", KEY)  # even a careless line is redacted
    finally:
        logs.shutdown_logging()
    assert (parley_home / "config" / "profiles.json").exists() and (
        parley_home / "config" / "ui.ini"
    ).exists()
    assert any((parley_home / "logs").iterdir())
    assert files_containing(parley_home, KEY) == []


def test_a_saved_key_profile_connects_after_a_restart(qtbot, services, dict_keyring, emulator):
    dialog = open_dialog(qtbot, services)
    fill(qtbot, dialog, emulator.endpoint, chat="gpt-4o")
    with qtbot.waitSignal(services.connection_changed, timeout=15000):
        save(qtbot, dialog)
    services.shutdown()
    SecretStore().forget_session()  # a new process remembers nothing but the keyring
    restarted = AppServices()
    with qtbot.waitSignal(restarted.connection_changed, timeout=15000):
        restarted.reconnect()
    try:
        conn = restarted.connection
        assert (conn.profile.name, conn.source, conn.auth) == ("Work", "store", "key")
        conn.client().embeddings.create(model="text-embedding-3-large", input="hello")
        assert emulator.requests[-1].used_key(KEY)
    finally:
        restarted.shutdown()


@pytest.mark.keyring
def test_real_secret_service_keeps_the_key_across_a_restart(qtbot, emulator, parley_home):
    if os.environ.get("PARLEY_TEST_KEYRING") != "1":
        pytest.skip(
            "PARLEY_TEST_KEYRING is not set: no private Secret Service (run with `bash scripts/test.sh`)"
        )
    import keyring
    from keyring.backends import SecretService

    from app.core import logs

    old = keyring.get_keyring()
    keyring.set_keyring(SecretService.Keyring())
    SecretStore().forget_session()
    name = "Parley keyring e2e"
    secret = "sk-secret-service-" + os.urandom(6).hex()
    logs.setup_logging("DEBUG")
    services = AppServices()
    try:
        dialog = open_dialog(qtbot, services)
        assert "Secret Service" in dialog.auth.key_note.text()
        fill(qtbot, dialog, emulator.endpoint, key=secret, name=name, chat="gpt-4o")
        with qtbot.waitSignal(services.connection_changed, timeout=15000):
            save(qtbot, dialog)
        services.shutdown()
        assert SecretService.Keyring().get_password("parley", name) == secret
        SecretStore().forget_session()
        restarted = AppServices()
        with qtbot.waitSignal(restarted.connection_changed, timeout=15000):
            restarted.reconnect()
        restarted.connection.client().chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
        assert restarted.connection.profile.name == name and emulator.requests[-1].used_key(secret)
        restarted.shutdown()
    finally:
        logs.shutdown_logging()
        SecretService.Keyring().delete_password("parley", name)
        keyring.set_keyring(old)
    assert files_containing(parley_home, secret) == []


def test_locked_keyring_saves_for_this_session_and_says_so(
    qtbot, services, locked_keyring, emulator, parley_home
):
    dialog = open_dialog(qtbot, services)
    fill(qtbot, dialog, emulator.endpoint, chat="gpt-4o")
    with qtbot.waitSignal(services.connection_changed, timeout=15000):
        save(qtbot, dialog)
    assert dialog.isVisible() and not dialog.save_button.isVisible()
    text = card_text(dialog.save_card)
    assert "Saved — the key is kept for this session only" in text and "The keyring is locked" in text
    assert "Nothing is lost" in text
    assert (
        dialog.auth.key_note.text().startswith("Kept for this session only")
        and not dialog.auth.remember.isChecked()
    )
    assert services.connection.profile.name == "Work"
    assert files_containing(parley_home, KEY) == []


def test_no_keyring_is_said_before_saving_and_the_key_is_kept_for_the_session(
    qtbot, services, no_keyring, emulator, parley_home
):
    dialog = open_dialog(qtbot, services)
    assert not dialog.auth.remember.isEnabled() and not dialog.auth.remember.isChecked()
    assert (
        "No keyring is available" in dialog.auth.key_note.text()
        and "never written to disk" in dialog.auth.key_note.text()
    )
    fill(qtbot, dialog, emulator.endpoint, chat="gpt-4o")
    with qtbot.waitSignal(dialog.saved, timeout=10000) as saved:
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert saved.args[0].key_where == "session"
    assert SecretStore().has_session_key("Work")
    assert files_containing(parley_home, KEY) == []


def test_saving_after_a_failed_test_asks_first(qtbot, services, dict_keyring, emulator, monkeypatch):
    dialog = open_dialog(qtbot, services)
    fill(qtbot, dialog, emulator.endpoint, chat="not-deployed")
    run_test(qtbot, dialog)
    asked = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Cancel
    )
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert asked and "found 1 problem" in asked[0]
    assert dialog.isVisible() and ProfileStore.load().profiles == []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Save)
    with qtbot.waitSignal(services.connection_changed, timeout=15000):
        save(qtbot, dialog)
    assert ProfileStore.load().get("Work").deployments.chat == "not-deployed"


# -- Entra ID ---------------------------------------------------------------------------------------------------


def test_entra_sign_in_shows_who_and_the_test_uses_a_bearer_token(
    qtbot, services, dict_keyring, emulator, fake_credential
):
    dialog = open_dialog(qtbot, services)
    fill(qtbot, dialog, emulator.endpoint, key="", chat="gpt-4o")
    qtbot.mouseClick(dialog.auth.entra_radio, Qt.MouseButton.LeftButton)
    assert dialog.auth.auth() == AuthMode.ENTRA and dialog.auth.sign_in_button.isVisible()
    with qtbot.waitSignal(dialog.auth.signed_in, timeout=10000):
        qtbot.mouseClick(dialog.auth.sign_in_button, Qt.MouseButton.LeftButton)
    assert "Signed in as ada@contoso.com in tenant tenant-1" in card_text(dialog.auth.entra_card)
    assert fake_credential.scopes[0] == ("https://cognitiveservices.azure.com/.default",)
    rows = run_test(qtbot, dialog)
    assert rows[0].startswith("✓ Chat (gpt-4o)")
    assert emulator.requests[-1].auth_scheme == "Bearer" and not emulator.requests[-1].had_api_key
    with qtbot.waitSignal(services.connection_changed, timeout=15000):
        save(qtbot, dialog)
    assert services.connection.auth == "entra" and ProfileStore.load().get("Work").auth == AuthMode.ENTRA
    assert dict_keyring.items == {}


def test_entra_sign_in_failure_says_how_to_fix_it(qtbot, services, dict_keyring, monkeypatch):
    from azure.identity import CredentialUnavailableError
    from fake_keyrings import FakeCredential

    from app.core import client as client_mod

    cred = FakeCredential(error=CredentialUnavailableError("Azure CLI not found on path"))
    monkeypatch.setattr(client_mod, "default_credential", lambda interactive=False: cred)
    dialog = open_dialog(qtbot, services)
    dialog.auth.set_auth(AuthMode.ENTRA)
    qtbot.mouseClick(dialog.auth.sign_in_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.auth.sign_in_button.isEnabled(), timeout=10000)
    text = card_text(dialog.auth.entra_card)
    assert "No Entra ID credential available" in text and "Azure CLI not found on path" in text
    assert "Run `az login`" in text and "AZURE_CLIENT_ID" in text


def test_without_a_browser_sign_in_shows_a_device_code_and_the_token_is_used(
    qtbot, services, dict_keyring, emulator, monkeypatch
):
    import threading

    from fake_keyrings import FakeCredential, fake_jwt

    from app.core import client as client_mod

    release = threading.Event()

    class DeviceCode(FakeCredential):
        """Like DeviceCodeCredential: prompts with the address and code, then waits for the user to finish."""

        def __init__(self, prompt):
            super().__init__(fake_jwt(upn="grace@contoso.com", tid="tenant-2"))
            self.prompt = prompt

        def get_token(self, *scopes, **kwargs):
            self.prompt("https://microsoft.com/devicelogin", "ABCD-1234", None)
            assert release.wait(10)
            return super().get_token(*scopes, **kwargs)

    made = []
    monkeypatch.setattr(client_mod, "browser_available", lambda: False)
    monkeypatch.setattr(
        client_mod, "device_code_credential", lambda prompt: made.append(DeviceCode(prompt)) or made[-1]
    )
    dialog = open_dialog(qtbot, services)
    fill(qtbot, dialog, emulator.endpoint, key="", chat="gpt-4o")
    dialog.auth.set_auth(AuthMode.ENTRA)
    qtbot.mouseClick(dialog.auth.browser_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "ABCD-1234" in card_text(dialog.auth.entra_card), timeout=5000)
    assert "https://microsoft.com/devicelogin" in card_text(dialog.auth.entra_card)
    assert not dialog.auth.browser_button.isEnabled()
    with qtbot.waitSignal(dialog.auth.signed_in, timeout=10000):
        release.set()
    assert "Signed in as grace@contoso.com in tenant tenant-2" in card_text(dialog.auth.entra_card)
    assert made[0].scopes[0] == ("https://cognitiveservices.azure.com/.default",)
    rows = run_test(qtbot, dialog)
    assert rows[0].startswith("✓ Chat (gpt-4o)") and emulator.requests[-1].auth_scheme == "Bearer"
    client_mod.forget_credential()
