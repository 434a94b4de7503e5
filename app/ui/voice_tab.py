"""The Voice tab (placeholder until its issue lands)."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from app.ui.placeholder import PlaceholderTab
from app.ui.services import AppServices


class VoiceTab(PlaceholderTab):
    def __init__(self, services: AppServices, parent: QWidget | None = None):
        super().__init__(
            "Voice",
            "Voice conversations land with the voice issue; until then 'parley speak' and 'parley transcribe' work on the command line.",
            parent,
        )
        self.services = services
