"""The Chat tab (placeholder until its issue lands)."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from app.ui.placeholder import PlaceholderTab
from app.ui.services import AppServices


class ChatTab(PlaceholderTab):
    def __init__(self, services: AppServices, parent: QWidget | None = None):
        super().__init__(
            "Chat",
            "Streamed chat lands with the chat issue; until then use 'parley ask' on the command line.",
            parent,
        )
        self.services = services
