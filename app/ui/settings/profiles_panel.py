"""Settings' profile list: add, edit, duplicate, delete (with its keyring entry), make active, import and export
(JSON without keys). Everything that touches the keyring or a file runs on a Job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core import endpoints, profile_ops
from app.core.profile_ops import SaveOutcome
from app.core.profiles import AuthMode, Profile, ProfileStore
from app.ui import design
from app.ui.common.a11y import describe
from app.ui.common.problem_card import Card
from app.ui.common.services import AppServices
from app.ui.common.workers import JobGroup, JobResult, plain
from app.ui.settings.connection_dialog import ConnectionDialog

NAME_ROLE = Qt.ItemDataRole.UserRole


def confirm(parent: QWidget, title: str, text: str, yes: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, parent)
    ok = box.addButton(yes, QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is ok


PROFILE_ACTIONS = {
    "add": "Adds a connection to an Azure OpenAI resource",
    "edit": "Changes the selected profile: endpoint, sign-in, deployments",
    "duplicate": "Makes a copy of the selected profile to change",
    "delete": "Deletes the selected profile and its stored key, after asking",
    "activate": "Connects with the selected profile from now on",
    "import": "Adds profiles from a JSON file (keys are never in such files)",
    "export": "Saves every profile to a JSON file, without keys",
}


class ProfilesPanel(QGroupBox):
    def __init__(self, services: AppServices, parent: QWidget | None = None):
        super().__init__("Connection profiles", parent)
        self.services = services
        self.dialog: ConnectionDialog | None = None
        self._jobs = JobGroup(self, "profiles")
        self.profiles: list[Profile] = []
        self.active: str | None = None
        self.list = QListWidget()
        self.list.setAccessibleName("Profiles")
        self.list.itemDoubleClicked.connect(self._on_double_click)
        self.list.currentItemChanged.connect(self._update_buttons)
        rows = self.list.fontMetrics().lineSpacing() + 2 * design.XS
        self.list.setMinimumHeight(3 * rows)  # three profiles without scrolling; more grow it to its hint
        self.list.setMaximumHeight(6 * rows)
        self.empty = QLabel(
            "No profiles yet. <b>Add…</b> connects your Azure OpenAI resource; until then Parley "
            "runs on its built-in emulator."
        )
        self.empty.setWordWrap(True)
        self.hint = QLabel(
            "Endpoint, key or Entra ID, api-version, deployments, retries, timeout and the default "
            "voice belong to each profile: select one and choose Edit."
        )
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(placeholder-text);")  # a note: muted (DESIGN.md)
        self.buttons: dict[str, QPushButton] = {}
        # One row of buttons under the list (a column of seven made the group as tall as the window): what acts on
        # the selected profile at the left, Import and Export at the right.
        actions = QHBoxLayout()
        actions.setSpacing(design.S)
        specs = (
            ("add", "&Add…", self.open_add),
            ("edit", "&Edit…", self.open_edit),
            ("duplicate", "D&uplicate", self.duplicate),
            ("delete", "&Delete…", self.delete),
            ("activate", "Make &active", self.make_active),
            ("import", "&Import…", self.choose_import),
            ("export", "E&xport…", self.choose_export),
        )
        for key, text, slot in specs:
            button = QPushButton(text)
            button.setAccessibleName(
                text.replace("&", "").rstrip("…") + (" profiles" if key in ("import", "export") else "")
            )
            button.clicked.connect(slot)
            describe(button, PROFILE_ACTIONS[key])
            self.buttons[key] = button
            if key == "import":
                actions.addStretch(1)
            actions.addWidget(button)
        self.card = Card(in_settings=True)
        layout = QVBoxLayout(self)
        layout.setSpacing(design.S)
        layout.addWidget(self.empty)
        layout.addWidget(self.list)
        layout.addLayout(actions)
        layout.addWidget(self.hint)
        layout.addWidget(self.card)
        services.profiles_changed.connect(self.refresh)
        services.connection_changed.connect(self._on_connection_event)
        services.connection_failed.connect(self._on_connection_event)
        self.refresh()

    # -- the list ------------------------------------------------------------------------------------------------
    @Slot()
    def refresh(self) -> None:
        store = ProfileStore.load()
        self.profiles, self.active = list(store.profiles), store.active
        keep = self.selected_name()
        conn = self.services.connection
        current = None if conn is None or conn.demo else conn.profile.name
        self.list.clear()
        for p in self.profiles:
            host = endpoints.host_of(p.endpoint)
            auth = "Entra ID" if p.auth == AuthMode.ENTRA else "API key"
            marks = [
                m for m, on in (("active", p.name == store.active), ("connected", p.name == current)) if on
            ]
            item = QListWidgetItem(
                f"{p.name} — {host} ({auth})" + (f"  · {', '.join(marks)}" if marks else "")
            )
            item.setData(NAME_ROLE, p.name)
            self.list.addItem(item)
            if p.name == (keep or current or store.active):
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        self.empty.setVisible(not self.profiles)
        self.list.setVisible(bool(self.profiles))
        self.hint.setVisible(bool(self.profiles))  # "select one and choose Edit": once there is one
        self._update_buttons()

    def selected_name(self) -> str | None:
        item = self.list.currentItem()
        return str(item.data(NAME_ROLE)) if item is not None else None

    def select(self, name: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(NAME_ROLE) == name:
                self.list.setCurrentRow(i)

    @Slot()
    def _update_buttons(self) -> None:
        has = self.selected_name() is not None
        for key in ("edit", "duplicate", "delete", "activate"):
            self.buttons[key].setEnabled(has)
        self.buttons["export"].setEnabled(bool(self.profiles))

    @Slot(object)
    def _on_connection_event(self, _value: object) -> None:
        self.refresh()

    @Slot(QListWidgetItem)
    def _on_double_click(self, item: QListWidgetItem) -> None:
        self.open_edit()

    # -- dialog --------------------------------------------------------------------------------------------------
    @Slot()
    def open_add(self) -> ConnectionDialog:
        return self._open(None)

    @Slot()
    def open_edit(self, name: str | None = None) -> ConnectionDialog | None:
        store = ProfileStore.load()
        profile = store.get(name or self.selected_name())
        return self._open(profile) if profile is not None else None

    def _open(self, profile: Profile | None) -> ConnectionDialog:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            self.dialog.activateWindow()
            return self.dialog
        self.dialog = ConnectionDialog(
            self.services, profile, existing=[p.name for p in self.profiles], parent=self
        )
        self.dialog.saved.connect(self._on_saved)
        self.dialog.open()
        return self.dialog

    @Slot(object)
    def _on_saved(self, outcome: SaveOutcome) -> None:
        self.refresh()
        self.select(outcome.profile.name)
        if outcome.key_where == "session":
            self.card.show_message(
                "warning",
                f"Profile '{outcome.profile.name}' saved",
                "Its key is kept for this session only (in memory, never on disk): "
                + (outcome.problem.title if outcome.problem else "no keyring is in use")
                + ".",
            )
        else:
            self.card.show_message("ok", f"Profile '{outcome.profile.name}' saved", _where(outcome))

    # -- actions on Jobs -----------------------------------------------------------------------------------------
    @Slot()
    def duplicate(self) -> None:
        name = self.selected_name()
        if name:
            self._run(plain(profile_ops.duplicate_profile, name), self._on_duplicated, "duplicate-profile")

    @Slot(object)
    def _on_duplicated(self, result: JobResult) -> None:
        if self._show_problem(result):
            return
        self.services.profiles_changed.emit()
        self.select(result.value.name)
        self.card.show_message(
            "ok", f"Duplicated as '{result.value.name}'", "Edit it to change what differs."
        )

    @Slot()
    def delete(self) -> None:
        name = self.selected_name()
        if not name or not confirm(
            self,
            "Delete profile?",
            f"Delete the profile '{name}' and its API key from the keyring? This cannot be undone.",
            "Delete",
        ):
            return
        self._deleting = name
        self._run(plain(profile_ops.delete_profile, name), self._on_deleted, "delete-profile")

    @Slot(object)
    def _on_deleted(self, result: JobResult) -> None:
        if self._show_problem(result):
            return
        name = self._deleting
        conn = self.services.connection
        if (
            conn is not None and not conn.demo and conn.profile.name == name
        ) or self.services.profile_name == name:
            self.services.profile_name = None
            self.services.reconnect(result.value, demo=result.value is None)
        self.services.profiles_changed.emit()
        self.card.show_message("ok", f"Deleted '{name}'", "The profile and its keyring entry are gone.")

    @Slot()
    def make_active(self) -> None:
        name = self.selected_name()
        if name:
            self.services.reconnect(name, demo=False, remember=True)
            self.card.show_message("info", f"Connecting to '{name}'…", "It opens first from now on.")

    @Slot()
    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import profiles", str(Path.home()), "Parley profiles (*.json)"
        )
        if path:
            self.import_from(Path(path))

    @Slot()
    def choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export profiles", str(Path.home() / "parley-profiles.json"), "Parley profiles (*.json)"
        )
        if path:
            self.export_to(Path(path))

    def import_from(self, path: Path) -> None:
        self._run(plain(profile_ops.import_profiles, path), self._on_imported, "import-profiles")

    def export_to(self, path: Path) -> None:
        self._export_path = path
        self._run(plain(profile_ops.export_profiles, path), self._on_exported, "export-profiles")

    @Slot(object)
    def _on_imported(self, result: JobResult) -> None:
        if self._show_problem(result):
            return
        self.services.profiles_changed.emit()
        names = ", ".join(result.value) or "none"
        self.card.show_message(
            "ok",
            f"Imported {len(result.value)} profile(s)",
            f"{names}. Keys are never in a profiles file: use Edit to add each key.",
        )

    @Slot(object)
    def _on_exported(self, result: JobResult) -> None:
        if self._show_problem(result):
            return
        self.card.show_message(
            "ok",
            f"Exported {result.value} profile(s)",
            f"Saved to {self._export_path}. The file holds no API keys.",
        )

    def shutdown(self) -> None:
        self._jobs.close()

    def _run(self, fn: Any, slot: Any, name: str) -> None:
        self._jobs.start(fn, slot, name=name)

    def _show_problem(self, result: JobResult) -> bool:
        if result.problem is not None:
            self.card.show_problem(result.problem)
            return True
        return result.cancelled


def _where(outcome: SaveOutcome) -> str:
    return {
        "keyring": "Its key is in the OS keyring.",
        "kept": "Its stored key was kept.",
        "none": "It signs in with Microsoft Entra ID.",
    }.get(outcome.key_where, "")
