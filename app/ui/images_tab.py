"""The Images tab (placeholder until its issue lands)."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from app.ui.placeholder import PlaceholderTab
from app.ui.services import AppServices


class ImagesTab(PlaceholderTab):
    def __init__(self, services: AppServices, parent: QWidget | None = None):
        super().__init__(
            "Images",
            "DALL-E 3 generation lands with the images issue; until then use 'parley image' on the command line.",
            parent,
        )
        self.services = services
