"""The Settings tab and the status-bar switcher: profiles list actions, import/export without keys, preferences
other tabs read, clearing history, the banner opening the right dialog, and switching profiles reconnecting."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLineEdit, QListWidget, QSpinBox

from app.core import profile_ops
from app.core.profiles import AuthMode, Deployments, ProfileStore, demo_profile
from app.core.secrets import SecretStore
from app.ui.common.services import AppServices
from app.ui.main_window import MainWindow
from app.ui.settings import profiles_panel
from app.ui.settings.probe_panel import card_text


def save_profiles(emulator, *names, key_prefix="key-"):
    for name in names:
        profile = demo_profile(emulator.endpoint).with_changes(name=name, demo=False)
        profile_ops.save_profile(profile, key=key_prefix + name)


@pytest.fixture
def window(qtbot):
    services = AppServices()
    win = MainWindow(services)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.settled, timeout=10000):  # the status bar's switcher is built then
        win.show()
    yield win
    win.close()


def connected(qtbot, window, **kwargs):
    with qtbot.waitSignal(window.services.connection_changed, timeout=15000):
        window.services.reconnect(**kwargs)
    return window.services.connection


def settings(window, qtbot=None):
    window.select_tab("settings")
    tab = window.tab("settings")
    if qtbot is not None:
        qtbot.waitUntil(tab.isVisible)  # a lazily built tab is shown on the next turn of the event loop
    return tab


def test_switcher_lists_profiles_and_demo_and_reconnects(qtbot, window, emulator, dict_keyring):
    save_profiles(emulator, "Work", "Lab")
    window.services.profiles_changed.emit()
    switcher = window.profile_switcher
    assert switcher.names() == ["Work", "Lab", None] and switcher.itemText(2) == "Demo (built-in emulator)"
    assert connected(qtbot, window).profile.name == "Work"
    assert switcher.currentText() == "Work"
    with qtbot.waitSignal(window.services.connection_changed, timeout=15000):
        switcher.setCurrentIndex(1)
        switcher.activated.emit(1)  # what a user's choice emits
    conn = window.services.connection
    assert conn.profile.name == "Lab" and not conn.demo
    assert (
        "Connected to 127.0.0.1 (API key)" == window.profile_label.text()
        and "Lab" in window.profile_label.toolTip()
    )
    assert window.profile_switcher.currentText() == "Lab"
    conn.client().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert emulator.requests[-1].used_key("key-Lab")
    assert ProfileStore.load().active == "Lab"  # the next start opens it
    with qtbot.waitSignal(window.services.connection_changed, timeout=15000):
        switcher.setCurrentIndex(2)
        switcher.activated.emit(2)
    assert window.services.connection.demo and window.banner.isVisible()
    assert switcher.currentText() == "Demo (built-in emulator)"


def test_banner_in_demo_mode_opens_the_onboarding_dialog(qtbot, window, dict_keyring):
    connected(qtbot, window, demo=True)
    qtbot.mouseClick(window.banner.button, Qt.MouseButton.LeftButton)
    tab = settings(window)
    dialog = tab.profiles.dialog
    assert window.current_tab_name() == "settings" and dialog is not None and dialog.isVisible()
    assert dialog.windowTitle() == "Connect Azure OpenAI" and dialog.old_name is None
    qtbot.waitUntil(lambda: not dialog.auth.busy, timeout=10000)
    dialog.reject()


def test_banner_after_a_failure_opens_the_failing_profile(qtbot, window, dict_keyring):
    store = ProfileStore.load()
    store.upsert(demo_profile("https://contoso.openai.azure.com/").with_changes(name="work", demo=False))
    store.save()  # no key stored for it
    with qtbot.waitSignal(window.services.connection_failed, timeout=15000):
        window.services.reconnect("work")
    assert window.profile_switcher.currentText() == "work"
    qtbot.mouseClick(window.banner.button, Qt.MouseButton.LeftButton)
    dialog = settings(window).profiles.dialog
    assert dialog.isVisible() and dialog.old_name == "work" and dialog.windowTitle() == "Edit profile — work"
    qtbot.waitUntil(lambda: not dialog.auth.busy, timeout=10000)
    dialog.reject()


def test_list_edit_duplicate_delete_and_make_active(qtbot, window, emulator, dict_keyring, monkeypatch):
    save_profiles(emulator, "Work", "Lab")
    connected(qtbot, window)
    panel = settings(window).profiles
    texts = [panel.list.item(i).text() for i in range(panel.list.count())]
    assert texts[0].startswith("Work — 127.0.0.1 (API key)") and "active, connected" in texts[0]
    panel.select("Lab")
    with qtbot.waitSignal(window.services.profiles_changed, timeout=10000):
        qtbot.mouseClick(panel.buttons["duplicate"], Qt.MouseButton.LeftButton)
    assert panel.selected_name() == "Lab copy" and dict_keyring.items[("parley", "Lab copy")] == "key-Lab"
    asked = []
    monkeypatch.setattr(
        profiles_panel, "confirm", lambda parent, title, text, yes: asked.append(text) or False
    )
    qtbot.mouseClick(panel.buttons["delete"], Qt.MouseButton.LeftButton)
    assert asked and "Lab copy" in asked[0] and "keyring" in asked[0]
    assert ("parley", "Lab copy") in dict_keyring.items  # cancelled: nothing deleted
    monkeypatch.setattr(profiles_panel, "confirm", lambda *a: True)
    with qtbot.waitSignal(window.services.profiles_changed, timeout=10000):
        qtbot.mouseClick(panel.buttons["delete"], Qt.MouseButton.LeftButton)
    assert ("parley", "Lab copy") not in dict_keyring.items
    assert [p.name for p in ProfileStore.load().profiles] == ["Work", "Lab"]
    assert "Deleted 'Lab copy'" in card_text(panel.card)
    panel.select("Lab")
    with qtbot.waitSignal(window.services.connection_changed, timeout=15000):
        qtbot.mouseClick(panel.buttons["activate"], Qt.MouseButton.LeftButton)
    assert window.services.connection.profile.name == "Lab" and ProfileStore.load().active == "Lab"
    dialog = panel.open_edit()
    assert dialog.windowTitle() == "Edit profile — Lab"
    qtbot.waitUntil(lambda: not dialog.auth.busy, timeout=10000)
    assert (
        dialog.auth.key_edit.text() == "key-Lab"
        and dialog.auth.key_edit.echoMode() == QLineEdit.EchoMode.Password
    )
    dialog.reject()


def test_deleting_the_connected_profile_falls_back(qtbot, window, emulator, dict_keyring, monkeypatch):
    save_profiles(emulator, "Only")
    connected(qtbot, window)
    panel = settings(window).profiles
    monkeypatch.setattr(profiles_panel, "confirm", lambda *a: True)
    with qtbot.waitSignal(window.services.connection_changed, timeout=15000):
        qtbot.mouseClick(panel.buttons["delete"], Qt.MouseButton.LeftButton)
    assert window.services.connection.demo and dict_keyring.items == {}
    assert panel.empty.isVisible() and window.profile_switcher.names() == [None]


def test_export_has_no_key_and_import_brings_profiles_back(
    qtbot, window, emulator, dict_keyring, tmp_path, parley_home
):
    save_profiles(emulator, "Work", key_prefix="sk-export-secret-")
    profile_ops.save_profile(
        demo_profile(emulator.endpoint).with_changes(name="Entra", demo=False, auth=AuthMode.ENTRA)
    )
    panel = settings(window).profiles
    panel.refresh()
    out = tmp_path / "export.json"
    panel.export_to(out)
    qtbot.waitUntil(lambda: "Exported 2 profile(s)" in card_text(panel.card), timeout=10000)
    assert "holds no API keys" in card_text(panel.card)
    text = out.read_text()
    assert "sk-export-secret" not in text
    assert {p["name"] for p in json.loads(text)["profiles"]} == {"Work", "Entra"}
    (parley_home / "config" / "profiles.json").unlink()
    window.services.profiles_changed.emit()
    assert panel.profiles == []
    with qtbot.waitSignal(window.services.profiles_changed, timeout=10000):
        panel.import_from(out)
    assert [p.name for p in panel.profiles] == ["Work", "Entra"]
    assert "Keys are never in a profiles file" in card_text(panel.card)
    assert window.profile_switcher.names() == ["Work", "Entra", None]
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": 1}')
    panel.import_from(bad)
    qtbot.waitUntil(lambda: "Not a profiles file" in card_text(panel.card), timeout=10000)


def test_preferences_are_saved_and_announced(qtbot, window, parley_home, monkeypatch):
    applied = []
    monkeypatch.setattr(
        "app.ui.theme.apply_theme", applied.append
    )  # test_theme.py checks what it paints; here only that the choice reaches it
    tab = settings(window, qtbot)
    changed = []
    window.services.pref_changed.connect(lambda k, v: changed.append((k, v)))
    tab.theme.setCurrentIndex(tab.theme.findData("dark"))
    tab.font_size.setValue(15)
    qtbot.mouseClick(tab.send_keys.button(1), Qt.MouseButton.LeftButton)
    assert (
        ("ui/theme", "dark") in changed
        and ("chat/font_size", 15) in changed
        and ("chat/send_key", "ctrl+enter") in changed
    )
    assert applied == ["dark"]
    window.services.settings.sync()
    fresh = AppServices()
    assert fresh.pref("chat/send_key") == "ctrl+enter" and fresh.pref("chat/font_size", 0) == 15
    assert fresh.pref("ui/theme") == "dark"
    assert "ctrl+enter" in (parley_home / "config" / "ui.ini").read_text()


def test_clear_history_asks_then_deletes_every_conversation(qtbot, window, monkeypatch):
    from app.core.history import History

    history = History.open()
    history.create_conversation("keep me?")
    tab = settings(window, qtbot)
    assert str(tab.data_folder.text()).endswith("data")
    monkeypatch.setattr("app.ui.settings.tab.confirm", lambda *a: False)
    qtbot.mouseClick(tab.clear_history, Qt.MouseButton.LeftButton)
    assert len(history.list_conversations()) == 1
    monkeypatch.setattr("app.ui.settings.tab.confirm", lambda *a: True)
    with qtbot.waitSignal(window.services.history_cleared, timeout=10000):
        qtbot.mouseClick(tab.clear_history, Qt.MouseButton.LeftButton)
    assert history.list_conversations(include_deleted=True) == []
    assert "Deleted 1 conversation(s)" in card_text(tab.data_card)


def test_everything_has_a_name_a_screen_reader_can_say(qtbot, window, dict_keyring):
    tab = settings(window, qtbot)
    dialog = tab.profiles.open_add()
    qtbot.waitUntil(lambda: not dialog.auth.busy, timeout=10000)
    for root in (tab, dialog):
        widgets = [
            w
            for cls in (QAbstractButton, QLineEdit, QComboBox, QSpinBox, QListWidget)
            for w in root.findChildren(cls)
        ]
        for widget in widgets:
            if (
                isinstance(widget.parent(), QComboBox | QSpinBox)
                or type(widget).__name__ == "QLineEdit"
                and widget.objectName() == "qt_spinbox_lineedit"
            ):
                continue  # a combo's or spin box's own line edit
            name = widget.accessibleName() or (widget.text() if isinstance(widget, QAbstractButton) else "")
            assert name.strip(), f"{type(widget).__name__} in {type(root).__name__} has no accessible name"
            assert widget.focusPolicy() != Qt.FocusPolicy.NoFocus, name
    dialog.reject()


def test_secret_store_is_never_read_on_the_gui_thread(qtbot, window, emulator, dict_keyring, monkeypatch):
    import threading

    main = threading.main_thread()
    reads = []
    real_get = SecretStore.get

    def spy(self, name):
        reads.append(threading.current_thread() is main)
        return real_get(self, name)

    monkeypatch.setattr(SecretStore, "get", spy)
    save_profiles(emulator, "Work")
    reads.clear()
    connected(qtbot, window)
    dialog = settings(window).profiles.open_edit("Work")
    qtbot.waitUntil(lambda: not dialog.auth.busy, timeout=10000)
    dialog.reject()
    assert reads and not any(reads)


def test_deployments_fields_keep_old_profiles_loading(qtbot, window, parley_home, emulator):
    path = parley_home / "config" / "profiles.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {"profiles": [{"name": "Old", "endpoint": emulator.endpoint, "deployments": {"chat": "gpt-4o"}}]}
        )
    )
    panel = settings(window).profiles
    panel.refresh()
    dialog = panel.open_edit("Old")
    qtbot.waitUntil(lambda: not dialog.auth.busy, timeout=10000)
    assert dialog.requests.retries.value() == 2 and dialog.requests.timeout.value() == 60
    assert dialog.deployments.values() == Deployments(chat="gpt-4o")
    dialog.reject()
