"""The Settings tab (placeholder until its issue lands)."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from app.ui.placeholder import PlaceholderTab
from app.ui.services import AppServices


class SettingsTab(PlaceholderTab):
    def __init__(self, services: AppServices, parent: QWidget | None = None):
        super().__init__(
            "Settings",
            'Profiles and sign-in land with the settings issue; until then set AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY.',
            parent,
        )
        self.services = services
