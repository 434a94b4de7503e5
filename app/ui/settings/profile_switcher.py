"""The status bar's profile switcher: every saved profile plus the built-in demo; choosing one reconnects."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QComboBox, QSizePolicy, QWidget

from app.core.profiles import ProfileStore
from app.ui.common.services import AppServices

DEMO_TEXT = "Demo (built-in emulator)"


class ProfileSwitcher(QComboBox):
    """Shows the connection in use; `activated` (a user's choice, never a programmatic change) reconnects."""

    def __init__(self, services: AppServices, parent: QWidget | None = None):
        super().__init__(parent)
        self.services = services
        self.setAccessibleName("Connection profile")
        self.setToolTip("Switch the connection profile")
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.activated.connect(self._on_activated)
        services.profiles_changed.connect(self.refresh)
        services.connection_changed.connect(self._on_connection_changed)
        services.connection_failed.connect(self._on_connection_failed)
        self.refresh()

    def names(self) -> list[str | None]:
        """The choices in order: profile names, then None for demo."""
        return [self.itemData(i) for i in range(self.count())]

    @Slot()
    def refresh(self, select: bool = True) -> None:
        store = ProfileStore.load()
        self.blockSignals(True)
        try:
            self.clear()
            for profile in store.profiles:
                self.addItem(profile.name, profile.name)
            self.addItem(DEMO_TEXT, None)
        finally:
            self.blockSignals(False)
        if select:
            self._show_current(reread=False)

    def _show_current(self, *, reread: bool = True) -> None:
        conn = self.services.connection
        if conn is not None and conn.demo:
            wanted = None
        elif conn is not None:
            wanted = conn.profile.name
        else:
            wanted = self.services.profile_name
        index = self.findData(wanted) if wanted is not None else self.count() - 1
        if index < 0 and reread:
            self.refresh(select=False)  # saved by something that did not announce it (a test, the CLI)
            index = self.findData(wanted)
        if index >= 0:
            self.setCurrentIndex(index)

    @Slot(int)
    def _on_activated(self, index: int) -> None:
        name = self.itemData(index)
        if name is None:
            self.services.reconnect(demo=True)
        else:
            self.services.reconnect(name, demo=False, remember=True)

    @Slot(object)
    def _on_connection_changed(self, connection: object) -> None:
        self._show_current()

    @Slot(object)
    def _on_connection_failed(self, problem: object) -> None:
        # Show what was tried (the banner says why it failed), not the connection left from before.
        name = self.services.profile_name
        if name and self.findData(name) < 0:
            self.refresh(select=False)
        index = self.findData(name) if name else -1
        if index >= 0 and not self.services.demo_requested:
            self.setCurrentIndex(index)
        else:
            self._show_current()
