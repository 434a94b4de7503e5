"""The list of conversations: a "Pinned" section, then the rest newest first, each with its date; rename in place
(F2), pin (Ctrl+P), export, delete with Undo (its button, or Ctrl+Z in the chat tab: `undo_delete`).

A view only: it shows what the tab loaded from history and asks the tab (through signals) to change it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.history import Conversation
from app.ui.chat.conversation_rows import DATE_ROLE, HEADER_ROLE, RowDelegate, when
from app.ui.common.a11y import describe
from app.ui.shortcuts import UNDO_KEYS, native

UNDO_SECONDS = 10
ID_ROLE = Qt.ItemDataRole.UserRole
PIN_KEYS = "Ctrl+P"


class ConversationList(QListWidget):
    """The conversations; while there are none it says what will be listed there (and stays in the Tab order)."""

    EMPTY = "No chats yet. Each question you ask starts one, kept here."

    def paintEvent(self, event: object) -> None:  # noqa: N802 - Qt name
        super().paintEvent(event)  # type: ignore[arg-type]
        if self.count():
            return
        painter = QPainter(self.viewport())
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        flags = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
        painter.drawText(self.viewport().rect().adjusted(12, 16, -12, -12), int(flags), self.EMPTY)
        painter.end()


class ChatSidebar(QWidget):
    new_chat = Signal()
    open_conversation = Signal(int)
    rename = Signal(int, str)
    pin = Signal(int, bool)
    delete = Signal(int)
    restore = Signal(int)
    export = Signal(int, str)  # "markdown" | "json"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.conversations: list[Conversation] = []
        self._deleted: Conversation | None = None
        self._filling = False
        self.now: Callable[[], float] = time.time  # what "today" is for the dates (tests set it)
        self.new_button = QPushButton("New chat")
        self.new_button.setAccessibleName("New chat")
        self.new_button.setToolTip("Start a new conversation (Ctrl+N)")
        self.new_button.clicked.connect(self.new_chat)
        self.list = ConversationList()
        self.list.setAccessibleName("Conversations")
        describe(
            self.list, "Your chats, pinned first; Return opens one, F2 renames, Ctrl+P pins, Del deletes"
        )
        self.list.setItemDelegate(RowDelegate(self.list))
        # Titles elide at the list's width: a long one never brings a horizontal scroll bar.
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setWordWrap(False)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)  # F2
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.itemActivated.connect(self._on_activated)
        self.list.itemClicked.connect(self._on_activated)
        self.list.itemChanged.connect(self._on_item_changed)
        delete = QAction(self.list)
        delete.setShortcut(QKeySequence.StandardKey.Delete)
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(self._delete_current)
        self.list.addAction(delete)
        pin = QAction(self.list)
        pin.setShortcut(QKeySequence(PIN_KEYS))
        pin.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        pin.triggered.connect(self._toggle_pin)
        self.list.addAction(pin)
        menu_key = QAction(self.list)  # the menu key and Shift+F10: the selected conversation's menu
        menu_key.setShortcuts([QKeySequence(Qt.Key.Key_Menu), QKeySequence("Shift+F10")])
        menu_key.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        menu_key.triggered.connect(self._menu_from_keyboard)
        self.list.addAction(menu_key)
        self.undo_label = QLabel()
        self.undo_button = QPushButton("Undo")
        self.undo_button.setAccessibleName("Undo delete")
        self.undo_button.setToolTip(f"Bring the chat back ({native(UNDO_KEYS)})")
        self.undo_button.clicked.connect(self.undo_delete)
        self.undo_bar = QWidget()
        undo_row = QHBoxLayout(self.undo_bar)
        undo_row.setContentsMargins(0, 0, 0, 0)
        undo_row.addWidget(self.undo_label, 1)
        undo_row.addWidget(self.undo_button)
        self.undo_bar.hide()
        self._undo_timer = QTimer(self)
        self._undo_timer.setSingleShot(True)
        self._undo_timer.timeout.connect(self._forget_deleted)
        self.search_slot = QVBoxLayout()
        self.search_slot.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 0, 6)
        layout.addWidget(self.new_button)
        layout.addLayout(self.search_slot)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.undo_bar)
        # No explicit minimum width: it would override the layout's, which keeps the search modes whole at 800 px.

    def set_search_widget(self, widget: QWidget) -> None:
        self.search_slot.addWidget(widget)

    # -- contents ---------------------------------------------------------------------------------------------
    def show_conversations(self, conversations: list[Conversation], current: int | None) -> None:
        """Pinned ones under "Pinned", then the rest under "Recent" (no headers when nothing is pinned)."""
        self._filling = True
        self.conversations = list(conversations)
        self.list.clear()
        pinned = [c for c in conversations if c.pinned]
        rest = [c for c in conversations if not c.pinned]
        now = self.now()
        for header, group in (("Pinned", pinned), ("Recent", rest)):
            if pinned and group:
                self.list.addItem(self._header(header))
            for conversation in group:
                item = QListWidgetItem()
                item.setData(ID_ROLE, conversation.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
                self._describe(item, conversation, now)
                self.list.addItem(item)
                if conversation.id == current:
                    self.list.setCurrentItem(item)
        self._filling = False

    @staticmethod
    def _header(text: str) -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setData(HEADER_ROLE, True)
        item.setFlags(Qt.ItemFlag.NoItemFlags)  # not selectable: arrows and clicks skip it
        item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{text} conversations")
        return item

    def _describe(self, item: QListWidgetItem, conversation: Conversation, now: float | None = None) -> None:
        stamp = when(conversation.updated_at, self.now() if now is None else now)
        item.setText(conversation.title)
        item.setData(DATE_ROLE, stamp)
        item.setToolTip(
            f"{conversation.title}\nLast message {stamp}" + ("\nPinned" if conversation.pinned else "")
        )
        item.setData(
            Qt.ItemDataRole.AccessibleTextRole,
            conversation.title + (", pinned" if conversation.pinned else "") + f", {stamp}",
        )

    def select(self, conversation_id: int | None) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(ID_ROLE) == conversation_id:
                self.list.setCurrentItem(item)
                return
        self.list.clearSelection()

    def conversation(self, conversation_id: int) -> Conversation | None:
        return next((c for c in self.conversations if c.id == conversation_id), None)

    def _rows(self) -> list[QListWidgetItem]:
        return [self.list.item(r) for r in range(self.list.count())]

    def titles(self) -> list[str]:
        """The conversations' titles as listed, top to bottom (section headers left out)."""
        return [item.text() for item in self._rows() if item.data(ID_ROLE) is not None]

    def sections(self) -> dict[str, list[str]]:
        """{"Pinned": [titles], "Recent": [titles]} as listed; everything is "Recent" when nothing is pinned."""
        out: dict[str, list[str]] = {"Pinned": [], "Recent": []}
        section = "Recent"
        for item in self._rows():
            if item.data(HEADER_ROLE):
                section = item.text()
            else:
                out[section].append(item.text())
        return out

    def dates(self) -> list[str]:
        """The date shown beside each title, in the same order as `titles`."""
        return [str(item.data(DATE_ROLE)) for item in self._rows() if item.data(ID_ROLE) is not None]

    def _current_id(self) -> int | None:
        item = self.list.currentItem()
        return int(item.data(ID_ROLE)) if item is not None and item.data(ID_ROLE) is not None else None

    # -- actions -------------------------------------------------------------------------------------------------
    @Slot(QListWidgetItem)
    def _on_activated(self, item: QListWidgetItem) -> None:
        if item.data(ID_ROLE) is None:
            return  # a section header
        self.open_conversation.emit(int(item.data(ID_ROLE)))

    @Slot(QListWidgetItem)
    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if self._filling or item.data(ID_ROLE) is None:
            return
        conversation = self.conversation(int(item.data(ID_ROLE)))
        title = item.text().strip()
        if conversation is not None and title and title != conversation.title:
            self.rename.emit(conversation.id, title)
        elif conversation is not None:
            self._filling = True
            self._describe(item, conversation)
            self._filling = False

    def start_rename(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.list.editItem(item)

    @Slot()
    def _menu_from_keyboard(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self._menu(self.list.visualItemRect(item).center())

    @Slot(QPoint)
    def _menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)  # a scroll area's menu position is in its viewport
        if item is None or item.data(ID_ROLE) is None:
            return
        self.list.setCurrentItem(item)
        conversation = self.conversation(int(item.data(ID_ROLE)))
        if conversation is None:
            return
        menu = QMenu(self)
        menu.addAction("Rename", self.start_rename).setShortcut(QKeySequence("F2"))
        pin = menu.addAction("Unpin" if conversation.pinned else "Pin to top", self._toggle_pin)
        pin.setShortcut(QKeySequence(PIN_KEYS))
        menu.addSeparator()
        menu.addAction("Export as Markdown…", self._export_markdown)
        menu.addAction("Export as JSON…", self._export_json)
        menu.addSeparator()
        menu.addAction("Delete", self._delete_current)
        menu.popup(self.list.viewport().mapToGlobal(pos))

    @Slot()
    def _toggle_pin(self) -> None:
        cid = self._current_id()
        conversation = self.conversation(cid) if cid is not None else None
        if conversation is not None:
            self.pin.emit(conversation.id, not conversation.pinned)

    @Slot()
    def _export_markdown(self) -> None:
        cid = self._current_id()
        if cid is not None:
            self.export.emit(cid, "markdown")

    @Slot()
    def _export_json(self) -> None:
        cid = self._current_id()
        if cid is not None:
            self.export.emit(cid, "json")

    @Slot()
    def _delete_current(self) -> None:
        cid = self._current_id()
        conversation = self.conversation(cid) if cid is not None else None
        if conversation is None:
            return
        self._deleted = conversation
        self.undo_label.setText(f"Deleted “{conversation.title}”.")
        self.undo_bar.show()
        self._undo_timer.start(UNDO_SECONDS * 1000)
        self.delete.emit(conversation.id)

    @Slot()
    def undo_delete(self) -> None:
        """Bring back the chat just deleted, while its Undo is offered (else nothing)."""
        self.undo_bar.hide()  # first: hiding the focused button moves the focus, which restore then sets
        if self._deleted is not None:
            deleted, self._deleted = self._deleted, None
            self.restore.emit(deleted.id)

    @Slot()
    def _forget_deleted(self) -> None:
        self.undo_bar.hide()
        self._deleted = None
