"""A main-window tab's place until it is first shown: then its module is imported and its widget built.

At start-up the current tab's module is imported on a worker after the first frame (`MainWindow.first_painted`), and
the chat tab's place shows its skeleton (the real compose box) meanwhile, so that frame already takes typing.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6 import QtCore
from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.ui import style
from app.ui.common.services import AppServices
from app.ui.common.tab import Tab
from app.ui.common.workers import JobGroup


class LazyTab(QWidget):
    """Holds a tab's place until it is first shown; then imports its module and builds it.

    The chat tab's place holds its skeleton meanwhile: the real compose box, so the first frame takes typing; the
    built tab adopts that box (and what was typed in it)."""

    # After the first frame: its module was imported on a worker, and the tab built if it is still the one shown.
    imported = Signal()

    def __init__(
        self,
        services: AppServices,
        module: str,
        cls: str,
        parent: QWidget | None = None,
        *,
        skeleton: Any = None,
        style_whole: bool = True,
    ):
        """`skeleton`: what the first frame shows in the tab's place, with the `compose` box the built tab adopts
        (`take_compose`). `style_whole`: the base style sheet for the whole built tab; False for a tab that styles
        its own controls (the chat: never its conversation, style.py says why)."""
        super().__init__(parent)
        self.services, self.module, self.cls = services, module, cls
        self.style_whole = style_whole
        self.widget: Tab | None = None
        self._layout = layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.skeleton = skeleton
        if skeleton is not None:
            layout.addWidget(skeleton)

    def materialize(self) -> Any:
        if self.widget is None:
            import importlib

            cls = getattr(importlib.import_module(self.module), self.cls)
            skeleton, self.skeleton = self.skeleton, None
            if skeleton is None:
                widget = cls(self.services)
            else:
                typing = skeleton.compose.edit.hasFocus()
                widget = cls(self.services, compose=skeleton.take_compose())
                skeleton.hide()
                skeleton.deleteLater()
                if typing:
                    widget.compose.edit.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)
            self.widget = widget
            if self.style_whole:
                style.apply(widget)
            self._layout.addWidget(widget)
            self.services.connection_changed.connect(widget.on_connection)
            if self.services.connection is not None:
                widget.on_connection(
                    self.services.connection
                )  # it missed connection_changed while it did not exist
        return self.widget

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt name
        window: Any = self.window()
        if not getattr(window, "painted", True):  # MainWindow's first frame is not out yet
            # The first frame shows the window at once; the tab is built right after it.
            window.first_painted.connect(self._import_then_build)  # emitted once
        else:
            self.materialize()
        super().showEvent(event)

    @Slot()
    def _import_then_build(self) -> None:
        """The tab's module is imported on a worker (the chat tab's imports take 60-70 ms): the first frame's chat
        box echoes typing meanwhile. Then the widgets are built here, on the GUI thread."""
        if self.widget is None:
            JobGroup(self, "tab-import").start(
                partial(_import_module, self.module), self._materialize_if_shown
            )
        else:
            self.imported.emit()  # built meanwhile (asked for by name)

    @Slot(object)
    def _materialize_if_shown(self, _result: object = None) -> None:
        # A failed import is not told here: materialize imports again, and raises where a test or the crash
        # handler sees it.
        if self.isVisible():
            self.materialize()
        self.imported.emit()


def _import_module(name: str, cancel: object = None) -> None:
    import importlib

    importlib.import_module(name)
