"""The Settings tab: connection profiles, appearance (theme, chat font size), the chat send key, and the data folder
with "Clear chat history…". Preferences go through `services.set_pref`, which tells other tabs (`pref_changed`)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core import profile_ops
from app.ui.common import prefs
from app.ui.common.a11y import describe
from app.ui.common.elided import ElidedLabel
from app.ui.common.problem_card import Card
from app.ui.common.services import AppServices
from app.ui.common.workers import JobResult, JobSlot, plain
from app.ui.settings.profiles_panel import ProfilesPanel, confirm

THEMES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))
SEND_KEYS = (
    ("enter", "&Return sends (Shift+Return starts a new line)"),
    ("ctrl+enter", "&Ctrl+Return sends (Return starts a new line)"),
)


class SettingsTab(QScrollArea):
    def __init__(self, services: AppServices, parent: QWidget | None = None):
        super().__init__(parent)
        self.services = services
        self._clear_job = JobSlot(self, "clear-history")
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.profiles = ProfilesPanel(services)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.profiles)
        row = QHBoxLayout()
        row.addWidget(self._appearance(), 1)
        row.addWidget(self._chat(), 1)
        layout.addLayout(row)
        layout.addWidget(self._data())
        layout.addStretch(1)
        self.setWidget(body)

    # -- sections ------------------------------------------------------------------------------------------------
    def _appearance(self) -> QGroupBox:
        box = QGroupBox("Appearance")
        form = QFormLayout(box)
        self.theme = QComboBox()
        for value, text in THEMES:
            self.theme.addItem(text, value)
        self.theme.setAccessibleName("Theme")
        describe(self.theme, "Light, dark, or as the system is set")
        current = self.services.pref(prefs.THEME)
        self.theme.setCurrentIndex(max(0, self.theme.findData(current)))
        self.theme.currentIndexChanged.connect(self._on_theme)
        self.font_size = QSpinBox()
        self.font_size.setRange(8, 32)
        self.font_size.setSuffix(" pt")
        self.font_size.setAccessibleName("Chat font size")
        describe(self.font_size, "The size of the conversation's and the message box's text")
        self.font_size.setValue(self.services.pref(prefs.CHAT_FONT_SIZE))
        self.font_size.valueChanged.connect(self._on_font_size)
        theme_label, size_label = QLabel("&Theme"), QLabel("Chat &font size")
        theme_label.setBuddy(self.theme)
        size_label.setBuddy(self.font_size)
        form.addRow(theme_label, self.theme)
        form.addRow(size_label, self.font_size)
        from PySide6.QtWidgets import QCheckBox

        self.keep_in_tray = QCheckBox("&Keep Parley in the tray when its window is closed")
        self.keep_in_tray.setAccessibleName("Keep Parley in the tray when its window is closed")
        self.keep_in_tray.setToolTip(
            "Quick ask stays one click (or `parley --quick`) away; File > Quit ends Parley"
        )
        self.keep_in_tray.setChecked(bool(self.services.pref(prefs.KEEP_IN_TRAY)))
        self.keep_in_tray.toggled.connect(lambda on: self.services.set_pref(prefs.KEEP_IN_TRAY, bool(on)))
        form.addRow(self.keep_in_tray)
        return box

    def _chat(self) -> QGroupBox:
        box = QGroupBox("Sending chat messages")
        column = QVBoxLayout(box)
        self.send_keys = QButtonGroup(self)
        current = self.services.pref(prefs.CHAT_SEND_KEY)
        for i, (value, text) in enumerate(SEND_KEYS):
            radio = QRadioButton(text)
            radio.setAccessibleName(text.replace("&", ""))
            describe(radio, "Which key sends a chat message; the other one starts a new line")
            radio.setProperty("value", value)
            radio.setChecked(value == current)
            self.send_keys.addButton(radio, i)
            column.addWidget(radio)
        if self.send_keys.checkedButton() is None:
            self.send_keys.button(0).setChecked(True)
        self.send_keys.idToggled.connect(self._on_send_key)
        return box

    def _data(self) -> QGroupBox:
        from app.core import paths

        box = QGroupBox("Data")
        # A long path gives way (elided in the middle, whole in its tooltip) rather than widen the page sideways.
        self.data_folder = ElidedLabel(str(paths.data_dir()), mode=Qt.TextElideMode.ElideMiddle)
        self.data_folder.setAccessibleName("Data folder")
        describe(self.data_folder, str(paths.data_dir()))
        self.open_folder = QPushButton("&Open folder")
        self.open_folder.setAccessibleName("Open the data folder")
        describe(self.open_folder, "Opens the folder with your chat history and images in the file manager")
        self.open_folder.clicked.connect(self.open_data_folder)
        self.clear_history = QPushButton("Clear chat &history…")
        self.clear_history.setAccessibleName("Clear chat history")
        describe(self.clear_history, "Deletes every conversation, after asking")
        self.clear_history.clicked.connect(self._on_clear_history)
        self.data_card = Card(in_settings=True)
        row = QHBoxLayout()
        row.addWidget(QLabel("Conversations, images and search index live in:"))
        row.addWidget(self.data_folder, 1)
        row.addWidget(self.open_folder)
        buttons = QHBoxLayout()
        buttons.addWidget(self.clear_history)
        buttons.addStretch(1)
        column = QVBoxLayout(box)
        column.addLayout(row)
        column.addLayout(buttons)
        column.addWidget(self.data_card)
        return box

    # -- entry points --------------------------------------------------------------------------------------------
    def open_connection_dialog(self) -> Any:
        """The banner's button: onboarding in demo mode, else the profile that failed or is in use."""
        conn = self.services.connection
        if self.services.last_problem is None and (conn is None or conn.demo):
            return self.profiles.open_add()
        name = self.services.profile_name or (
            conn.profile.name if conn is not None and not conn.demo else None
        )
        dialog = self.profiles.open_edit(name) if name else None
        if dialog is None:
            from app.core.profiles import ProfileStore

            active = ProfileStore.load().active
            dialog = self.profiles.open_edit(active) if active else None
        return dialog or self.profiles.open_add()

    def on_connection(self, connection: Any) -> None:
        self.profiles.refresh()

    def shutdown(self) -> None:
        self.profiles.shutdown()
        self._clear_job.close()

    # -- preferences ---------------------------------------------------------------------------------------------
    @Slot(int)
    def _on_theme(self, index: int) -> None:
        from app.ui.theme import apply_theme

        value = str(self.theme.itemData(index))
        self.services.set_pref(prefs.THEME, value)
        apply_theme(value)

    @Slot(int)
    def _on_font_size(self, size: int) -> None:
        self.services.set_pref(prefs.CHAT_FONT_SIZE, size)

    @Slot(int, bool)
    def _on_send_key(self, button_id: int, checked: bool) -> None:
        if checked:
            self.services.set_pref(prefs.CHAT_SEND_KEY, SEND_KEYS[button_id][0])

    # -- data ----------------------------------------------------------------------------------------------------
    @Slot()
    def open_data_folder(self) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices, QGuiApplication

        from app.core import paths

        folder = str(paths.ensure(paths.data_dir()))
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(folder)):
            # No file manager answered: say where the folder is, and put its path where a paste finds it.
            QGuiApplication.clipboard().setText(folder)
            self.data_card.show_message(
                "warning",
                "No file manager to open the folder with",
                f"The folder is {folder} (copied to the clipboard).",
            )

    @Slot()
    def _on_clear_history(self) -> None:
        if self._clear_job.running:
            return
        if not confirm(
            self,
            "Clear chat history?",
            "Delete every conversation and its messages? Generated images are kept. This cannot be undone.",
            "Delete all conversations",
        ):
            return
        self.clear_history.setEnabled(False)
        self._clear_job.start(plain(profile_ops.clear_history), self._on_history_cleared)

    @Slot(object)
    def _on_history_cleared(self, result: JobResult) -> None:
        self.clear_history.setEnabled(True)
        if result.problem is not None:
            self.data_card.show_problem(result.problem)
            return
        self.services.history_cleared.emit()
        self.data_card.show_message("ok", "Chat history cleared", f"Deleted {result.value} conversation(s).")
