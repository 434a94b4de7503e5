"""Settings with today's deployments (issue #14): each deployment's family shown (from the connection test, what
was learned, or the name) and correctable, the v1 switch, a reasoning deployment on an api-version too old for it
(explained, with the fix), the realtime deployment kept on save, against the emulator with the real client."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.core import profiles
from app.core.profiles import Deployments, Profile, ProfileStore
from app.ui.common.services import AppServices
from app.ui.settings.connection_dialog import ConnectionDialog

KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def services(qtbot):
    s = AppServices()
    yield s
    s.shutdown()


def open_dialog(qtbot, services, profile=None) -> ConnectionDialog:
    dialog = ConnectionDialog(services, profile, existing=[profile.name] if profile else [])
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: not dialog.auth.busy, timeout=10000)
    return dialog


def fill(dialog, endpoint, **deployments) -> None:
    dialog.name_edit.setText("Work")
    dialog.endpoint_edit.setText(endpoint)
    dialog.auth.key_edit.setText(KEY)
    for capability, edit in dialog.deployment_edits.items():
        edit.setText(deployments.get(capability, ""))


def save(qtbot, dialog) -> Profile:
    with qtbot.waitSignal(dialog.saved, timeout=10000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    saved = ProfileStore.load().get(dialog.name_edit.text())
    assert saved is not None
    return saved


def family_shown(dialog, capability) -> str:
    return dialog.deployments.family_boxes[capability].currentText()


def choose_family(dialog, capability, label) -> None:
    box = dialog.deployments.family_boxes[capability]
    box.setCurrentIndex(box.findText(label))
    box.activated.emit(box.currentIndex())


def test_connection_test_passes_on_a_reasoning_deployment_and_shows_each_family(
    qtbot, services, dict_keyring, emulator
):
    dialog = open_dialog(qtbot, services)
    assert (
        dialog.version_combo.currentText() == profiles.PREVIEW_API_VERSION
    )  # a new profile: a current version
    fill(
        dialog,
        emulator.endpoint,
        chat="o4-mini",
        speech="gpt-4o-mini-tts",
        embeddings="text-embedding-3-large",
    )
    with qtbot.waitSignal(dialog.probe.finished, timeout=20000) as finished:
        qtbot.mouseClick(dialog.probe.button, Qt.MouseButton.LeftButton)
    assert finished.args == [True], dialog.probe.row_texts()
    rows = dialog.probe.row_texts()
    assert rows[0].startswith("✓ Chat (o4-mini): OK")
    chat = [r for r in emulator.requests if r.path.endswith("/chat/completions")][-1].json
    assert "max_completion_tokens" in chat and "max_tokens" not in chat
    assert family_shown(dialog, "chat") == "Reasoning chat"
    assert "connection test" in dialog.deployments.family_boxes["chat"].toolTip()
    assert family_shown(dialog, "speech") == "Text to speech with a speaking style"
    assert family_shown(dialog, "embeddings") == "Embeddings"
    saved = save(qtbot, dialog)
    assert saved.families["o4-mini"] == "reasoning"
    assert saved.models["o4-mini"].startswith("o4-mini-")


def test_the_user_corrects_an_opaque_deployments_family(qtbot, services, dict_keyring, emulator):
    dialog = open_dialog(qtbot, services)
    fill(dialog, emulator.endpoint, chat="prod-chat", images="gpt-image-1")
    assert family_shown(dialog, "chat") == "Family: unknown"  # the name says nothing
    assert family_shown(dialog, "images") == "GPT-image"  # the name's guess
    assert "guessed from the name" in dialog.deployments.family_boxes["images"].toolTip()
    choose_family(dialog, "chat", "Reasoning chat")
    saved = save(qtbot, dialog)
    assert saved.families == {"prod-chat": "reasoning"}  # a guess the user left alone is not stored
    assert saved.chat_traits("prod-chat").reasoning
    again = open_dialog(qtbot, services, saved)
    assert family_shown(again, "chat") == "Reasoning chat"
    assert "learned from Azure or set by you" in again.deployments.family_boxes["chat"].toolTip()


def test_saving_keeps_the_realtime_deployment_and_what_was_learned(qtbot, services, dict_keyring, emulator):
    original = Profile(
        name="Work",
        endpoint=emulator.endpoint,
        deployments=Deployments(chat="o4-mini", realtime="gpt-realtime"),
        families={"o4-mini": "reasoning"},
        models={"o4-mini": "o4-mini-2025-04-16"},
    )
    store = ProfileStore.load()
    store.upsert(original)
    store.save()
    dialog = open_dialog(qtbot, services, original)
    assert dialog.deployment_edits["realtime"].text() == "gpt-realtime"
    dialog.auth.key_edit.setText(KEY)
    dialog.requests.retries.setValue(4)
    saved = save(qtbot, dialog)
    assert saved.deployments.realtime == "gpt-realtime"
    assert saved.models == {"o4-mini": "o4-mini-2025-04-16"} and saved.families == {"o4-mini": "reasoning"}
    assert saved.max_retries == 4


def test_the_v1_switch(qtbot, services, dict_keyring, emulator):
    dialog = open_dialog(qtbot, services)
    fill(dialog, emulator.endpoint, chat="gpt-5-mini")
    assert dialog.api_combo.currentData() == profiles.API_DATED and dialog.version_combo.isEnabled()
    dialog.api_combo.setCurrentIndex(dialog.api_combo.findData(profiles.API_V1))
    assert not dialog.version_combo.isEnabled()
    assert "no api-version" in dialog.version_note.text()
    with qtbot.waitSignal(dialog.probe.finished, timeout=20000) as finished:
        qtbot.mouseClick(dialog.probe.button, Qt.MouseButton.LeftButton)
    assert finished.args == [True], dialog.probe.row_texts()
    last = [r for r in emulator.requests if "chat/completions" in r.path][-1]
    assert "/openai/v1/" in last.path and "api-version" not in last.path
    assert save(qtbot, dialog).api == profiles.API_V1
    pasted = open_dialog(qtbot, services)
    pasted.endpoint_edit.setText("https://myres.openai.azure.com/openai/v1/")
    assert pasted.api_combo.currentData() == profiles.API_V1


def test_a_reasoning_deployment_on_an_old_api_version_is_explained_with_the_fix(qtbot, services, emulator):
    dialog = open_dialog(qtbot, services)
    fill(dialog, emulator.endpoint, chat="gpt-5-mini", speech="tts-hd")
    dialog.version_combo.setCurrentText("2024-10-21")  # too old for reasoning (and for speech: said after)
    assert (
        "reasoning model" in dialog.version_note.text() and "2024-12-01-preview" in dialog.version_note.text()
    )
    assert not dialog.version_fix.isHidden()
    qtbot.mouseClick(dialog.version_fix, Qt.MouseButton.LeftButton)
    assert dialog.version_combo.currentText() == profiles.PREVIEW_API_VERSION
    assert dialog.version_fix.isHidden() and "reasoning" not in dialog.version_note.text()
    # a chat model on the same old version is fine
    dialog.deployment_edits["chat"].setText("gpt-4o")
    dialog.version_combo.setCurrentText("2024-10-21")
    assert dialog.version_fix.isHidden()
