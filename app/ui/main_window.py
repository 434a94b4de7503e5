"""The main window: a demo/problem banner, the tabs, and a status bar showing the profile and connection state."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore  # `QtCore.Qt` where used: the first frame never builds it (theme.py says why)
from PySide6.QtCore import QEvent, QObject, QTimer, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QMainWindow,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui import style
from app.ui.chat.skeleton import ChatSkeleton
from app.ui.common import icons, prefs, workers
from app.ui.common.banner import Banner
from app.ui.common.services import AppServices
from app.ui.common.workers import JobGroup
from app.ui.lazy_tab import LazyTab

if TYPE_CHECKING:  # errors and its tables come with the connection, after the first frame
    from PySide6.QtGui import QCloseEvent

    from app.core import errors

log = logging.getLogger(__name__)

SETTLE_MS = 50  # after the first frame: the current tab is built and painted by then (benchmarks/startup.py)
TAB_NAMES = ("chat", "voice", "images", "completions", "jobs", "settings")
# (name, module, class, title): a tab's module is imported and its widget built the first time it is shown.
TABS = (
    ("chat", "app.ui.chat.tab", "ChatTab", "&Chat"),
    ("voice", "app.ui.voice.tab", "VoiceTab", "&Voice"),
    ("images", "app.ui.images.tab", "ImagesTab", "&Images"),
    ("completions", "app.ui.tools.completions_tab", "CompletionsTab", "C&ompletions"),
    ("jobs", "app.ui.tools.jobs_tab", "JobsTab", "&Jobs"),
    ("settings", "app.ui.settings.tab", "SettingsTab", "&Settings"),
)


class MainWindow(QMainWindow):
    # Emitted once, just after the first frame is on screen: start-up work (connecting, imports of openai or
    # sounddevice on workers) waits for it, because a worker importing holds the GIL the first paint needs.
    first_painted = Signal()
    # Emitted once, a moment after that, when the current tab is built and on screen: what the user does not need
    # to start typing (connecting, the status bar's switcher, the single-instance server) waits for this instead.
    settled = Signal()
    # Emitted when the window closes for good (not hidden to the tray): Parley is quitting.
    closing = Signal()

    def __init__(self, services: AppServices, parent: QWidget | None = None):
        super().__init__(parent)
        self.services = services
        self._painted = False
        self.installEventFilter(self)
        self.setWindowTitle("Parley")
        self.setMinimumSize(640, 480)

        self.banner = Banner()
        self.banner.button.clicked.connect(self._on_banner_button)
        self.notes = (
            Banner()
        )  # what Parley had to set aside on start (an unreadable profiles.json), told once
        self.notes.button.clicked.connect(self.notes.hide)
        self._jobs = JobGroup(self, "window")

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setAccessibleName("Sections")
        style.apply(self.tabs.tabBar())
        self._tab_widgets: dict[str, LazyTab] = {}
        for name, module, cls, title in TABS:
            chat = name == "chat"  # its first frame has the real compose box; it styles its own controls
            skeleton = (
                ChatSkeleton(services.pref(prefs.CHAT_FONT_SIZE), services.pref(prefs.CHAT_SEND_KEY))
                if chat
                else None
            )
            widget = LazyTab(services, module, cls, skeleton=skeleton, style_whole=not chat)
            self._tab_widgets[name] = widget
            index = self.tabs.addTab(widget, icons.icon(icons.TABS[name]), title)
            self.tabs.setTabToolTip(index, f"{title.replace('&', '')} (Ctrl+{index + 1})")

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.notes)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.profile_label = QLabel("Connecting…")
        self.profile_label.setAccessibleName("Connection status")
        # As tall as the profile switcher added beside it once the window settles (~2 ms for a probe combo box):
        # the status bar must not grow then, which moved the chat box up under the user's typing.
        self.profile_label.setMinimumHeight(QComboBox().sizeHint().height())
        self.statusBar().addPermanentWidget(self.profile_label)
        self.profile_switcher: QWidget | None = None
        self.indexer: QObject | None = None
        self.quick: Any = None  # the Ask Parley window, made the first time it is asked for
        self.closed_for_good = False  # its tabs and services are shut down: Parley is quitting
        self.tray: Any = None
        self._connected_text: str | None = None  # the label before an outage turned it to "not reachable"
        self._quitting = False
        self.settled.connect(self._build_status_bar)  # connected first: tabs built after it find the indexer
        self.settled.connect(self._make_files_private)

        self._build_menus()
        self.first_painted.connect(
            self._bind_keys
        )  # a key sequence builds `Qt` (theme.py): after the first frame
        services.open_settings.connect(self._show_settings)
        services.connecting.connect(self._on_connecting)
        services.connection_changed.connect(self._on_connection_changed)
        services.connection_failed.connect(self._on_connection_failed)
        services.reach.connect(self._on_reach)
        services.connection_changed.connect(self._show_load_notes)
        services.connection_failed.connect(self._show_load_notes)
        self._restore_state()

    @property
    def painted(self) -> bool:
        return self._painted

    @Slot()
    def _build_status_bar(self) -> None:
        """The profile switcher and the meaning-search indexer, once the first frame is on screen."""
        if self.indexer is not None:
            return
        from app.ui.chat.indexer import IndexStatus, SemanticIndexer
        from app.ui.settings.profile_switcher import ProfileSwitcher

        self.profile_switcher = ProfileSwitcher(self.services)
        self.statusBar().addPermanentWidget(self.profile_switcher)
        # One indexer for meaning search; the chat tab schedules it after each turn.
        self.indexer = SemanticIndexer(self.services, self)
        self.services.indexer = self.indexer
        chat: Any = self._tab_widgets[
            "chat"
        ].widget  # built before the status bar: it learns of the indexer now
        if chat is not None:
            chat.search.set_indexer(self.indexer)
        self.statusBar().addWidget(IndexStatus(self.indexer), 1)
        self.indexer.status.connect(self._on_index_status)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        if obj is self and not self._painted and event.type() == QEvent.Type.Paint:
            self._painted = True
            self.removeEventFilter(self)
            QTimer.singleShot(0, self, self._after_first_paint)
        return False

    @Slot()
    def _after_first_paint(self) -> None:
        # One more turn of the loop before the build takes the thread for ~100 ms: what the first frame queued (the
        # chat box, already on screen and focused, taking a key) is handled first.
        QTimer.singleShot(0, self, self._build_current_tab)

    @Slot()
    def _build_current_tab(self) -> None:
        self.first_painted.emit()  # the current tab's import starts in here (or it is built, when imported) ...
        current = self.tabs.currentWidget()
        if isinstance(current, LazyTab) and current.widget is None:
            current.imported.connect(self._settle_soon, QtCore.Qt.ConnectionType.SingleShotConnection)
        else:
            self._settle_soon()

    @Slot()
    def _settle_soon(self) -> None:
        QTimer.singleShot(SETTLE_MS, self, self.settled.emit)  # ... and it is built and painted before this

    # -- menus -----------------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._quit_action = file_menu.addAction("&Quit")
        self._quit_action.triggered.connect(self.quit_app)
        file_menu.insertAction(self._quit_action, self._ask_action())
        help_menu = self.menuBar().addMenu("&Help")
        self._keys_action = help_menu.addAction("&Keyboard shortcuts")
        self._keys_action.triggered.connect(self.show_shortcuts)
        help_menu.addAction("&About Parley").triggered.connect(self.show_about)
        help_menu.addAction("Open &log folder").triggered.connect(self.open_log_folder)

    @Slot()
    def show_shortcuts(self) -> Any:
        from app.ui.shortcuts_dialog import ShortcutsDialog

        dialog = ShortcutsDialog(self)
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    @Slot()
    def show_about(self) -> None:
        from PySide6 import __version__ as pyside_version
        from PySide6.QtWidgets import QMessageBox

        import app

        QMessageBox.about(
            self,
            "About Parley",
            f"<h3>Parley {app.__version__}</h3>"
            "<p>A desktop assistant for Azure OpenAI: chat, voice and images, with Microsoft Entra ID sign-in "
            "and Azure's content-filter verdicts shown where they happen.</p>"
            "<p>MIT licence. Built with Qt for Python (PySide6 "
            f"{pyside_version}, LGPLv3), the openai and azure-identity libraries, keyring and sounddevice.</p>"
            "<p><a href='https://learn.microsoft.com/azure/ai-services/openai/'>Azure OpenAI documentation</a> · "
            "<a href='https://learn.microsoft.com/azure/ai-services/openai/concepts/content-filter'>Content filtering</a></p>",
        )

    @Slot()
    def open_log_folder(self) -> None:
        from html import escape  # not at import: html's entity table cost the first frame ~3 ms

        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices, QGuiApplication

        from app.core import paths

        folder = str(paths.ensure(paths.log_dir()))
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(folder)):
            # No file manager answered: say where the folder is, and put its path where a paste finds it.
            QGuiApplication.clipboard().setText(folder)
            self.notes.show_message(
                f"No file manager to open the log folder with. It is {escape(folder)} (copied to the clipboard).",
                "Dismiss",
                "note",
            )

    # -- quick ask and the tray -------------------------------------------------------------------------
    def _ask_action(self) -> QAction:
        action = QAction("&Ask Parley…", self)
        action.triggered.connect(self.quick_ask)
        return action

    @Slot()
    def quick_ask(self) -> Any:
        """The small Ask Parley window (tray, `parley --quick`), brought forward with the cursor in its question."""
        if self.quick is None:
            from app.ui.quick_ask import QuickAsk

            self.quick = QuickAsk(self.services)
            self.quick.continue_requested.connect(self.continue_in_chat)
            self.quick.answered.connect(self._on_quick_answered)
        self.quick.present()
        log.info("quick ask shown", extra={"event": "quick_ask"})
        return self.quick

    @Slot(int)
    def continue_in_chat(self, conversation_id: int) -> None:
        """Quick ask's "Continue in Parley": that conversation, open in the Chat tab."""
        self.bring_to_front()
        self.select_tab("chat")
        chat = self.tab("chat")
        chat.refresh_list()
        chat.open_conversation(conversation_id)

    @Slot(int)
    def _on_quick_answered(self, _conversation_id: int) -> None:
        holder = self._tab_widgets["chat"]
        if holder.widget is not None:
            holder.widget.refresh_list()  # type: ignore[attr-defined]

    def add_tray(self, icon_path: object) -> bool:
        """A tray icon where the platform has a tray; elsewhere nothing (and closing the window quits)."""
        from PySide6.QtGui import QIcon

        from app.ui.quick_ask import Tray

        if self.tray is not None or not Tray.available():
            return self.tray is not None
        self.tray = Tray(QIcon(str(icon_path)), self)
        self.tray.ask.connect(self.quick_ask)
        self.tray.show_window.connect(self.bring_to_front)
        self.tray.quit.connect(self.quit_app)
        # With a tray, the hidden window and a closed quick-ask window must not end Parley: quitting is explicit.
        from PySide6.QtWidgets import QApplication

        QApplication.setQuitOnLastWindowClosed(False)
        return True

    @Slot()
    def quit_app(self) -> None:
        """File > Quit, the tray's Quit, SIGTERM: really quit, even when closing the window only hides it, and
        whatever other window is still open (a dialog, quick ask)."""
        from PySide6.QtWidgets import QApplication

        self._quitting = True
        if not self.closed_for_good:
            self.close()
        QApplication.quit()

    def keeps_running_in_tray(self) -> bool:
        return bool(self.tray is not None and not self._quitting and self.services.pref(prefs.KEEP_IN_TRAY))

    @Slot()
    def bring_to_front(self) -> None:
        """A second launch asked us to show ourselves."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    @Slot()
    def _make_files_private(self) -> None:
        """Folders an older Parley left world-readable become 0700 and their files 0600, off the GUI thread (the
        gallery may hold thousands of images)."""
        from app.core import paths

        self._jobs.start(workers.plain(paths.make_private), name="private-files")

    @Slot(object)
    def _show_load_notes(self, _result: object) -> None:
        """Connecting read profiles.json; what it had to set aside is told here, once."""
        from html import escape  # not at import: html's entity table cost the first frame ~3 ms

        from app.core import profiles

        notes = profiles.take_load_notes()
        if notes:
            self.notes.show_message(" ".join(escape(n) for n in notes), "Dismiss", "note")

    @Slot(str)
    def take_question(self, text: str) -> None:
        """`parley --send TEXT` from a second launch."""
        # Its length, never its text.
        log.info("question handed over", extra={"event": "instance.send", "chars": len(text)})
        self.bring_to_front()
        self.ask(text)

    def ask(self, text: str) -> None:
        """`parley --send TEXT`: a new chat with TEXT, sent once history and Azure are ready (in the box, with why,
        if Parley cannot connect)."""
        self.select_tab("chat")
        self.tab("chat").send_text(text, new_chat=True)

    # -- tabs -----------------------------------------------------------------------------------------
    @Slot()
    def _bind_keys(self) -> None:
        """The menus' and tabs' shortcuts, once the first frame is out (a key pressed meanwhile waits for this)."""
        from PySide6.QtGui import QKeySequence

        from app.ui import shortcuts

        self._quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self._keys_action.setShortcut(QKeySequence(shortcuts.SHOW_SHORTCUTS))
        for i in range(self.tabs.count()):
            action = QAction(self)
            action.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            action.triggered.connect(self._select_by_shortcut)
            action.setData(i)
            self.addAction(action)
        self.services.send_to_chat.connect(self._on_send_to_chat)

    @Slot()
    def _select_by_shortcut(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.tabs.setCurrentIndex(int(action.data()))

    def tab(self, name: str) -> Any:
        """The tab's real widget (built now if it was never shown)."""
        return self._tab_widgets[name].materialize()

    def select_tab(self, name: str) -> bool:
        widget = self._tab_widgets.get(name)
        if widget is None:
            return False
        self.tabs.setCurrentWidget(widget)
        return True

    @Slot(str, object)
    def _on_send_to_chat(self, text: str, images: object) -> None:
        """Another tab hands something to chat (Images: 'Send to chat'): it lands in the chat box, ready to send."""
        self.tab("chat").receive(text, list(images or []))
        self.select_tab("chat")

    @Slot()
    def _show_settings(self) -> None:
        """The banner's button (and 'Settings' links): the Settings tab, with the connection dialog it calls for."""
        self.select_tab("settings")
        self.tab("settings").open_connection_dialog()

    # -- connection state ----------------------------------------------------------------------------
    @Slot()
    def _on_connecting(self) -> None:
        self.profile_label.setText("Connecting…")

    @Slot(object)
    def _on_connection_changed(self, connection: object) -> None:
        self._connected_text = None
        profile = connection.profile  # type: ignore[attr-defined]
        if connection.demo:  # type: ignore[attr-defined]
            self.profile_label.setText("Connected")  # the switcher beside it says "Demo (built-in emulator)"
            self.profile_label.setToolTip("Connected to Parley's built-in Azure emulator")
            self.banner.show_message(
                # One line at 800 px: the button says what to do next.
                "<b>Demo mode</b> — answers come from Parley's built-in Azure emulator.",
                "Connect Azure OpenAI…",
                "demo",
            )
        else:
            from app.core import endpoints  # after the first frame: not on the start-up path

            host = endpoints.host_of(profile.endpoint)
            auth = "Entra ID" if str(profile.auth) == "entra" else "API key"
            self.profile_label.setText(
                f"Connected to {host} ({auth})"
            )  # the switcher beside it names the profile
            self.profile_label.setToolTip(
                f"Profile {profile.name}: {profile.endpoint}, api-version {profile.api_version}"
            )
            self.banner.hide()

    @Slot(object)
    def _on_connection_failed(self, problem: errors.Problem) -> None:
        self.profile_label.setText("Not connected")
        # Always Open Settings here (not `problem.fix_in_settings`): a connection that cannot be made, even for a
        # network reason, is fixed in the profile (endpoint, key, sign-in).
        self.banner.show_message(
            f"<b>{problem.title}</b> — {problem.detail} {problem.action}", "Open Settings", "problem"
        )

    @Slot(str)
    def _on_index_status(self, _text: str) -> None:
        """The indexer talks to Azure in the background: what it learns counts like a chat turn's."""
        self.services.report_reach(getattr(self.indexer, "problem", None))

    @Slot(object)
    def _on_reach(self, problem: errors.Problem | None) -> None:
        """When a request cannot reach Azure the label must not go on saying Connected; when one gets through
        again, it says so again."""
        if problem is not None:
            if self._connected_text is None:
                self._connected_text = self.profile_label.text()
            self.profile_label.setText("Azure not reachable")
            self.profile_label.setToolTip(f"{problem.title}: {problem.detail} {problem.action}")
        elif self._connected_text is not None and self.services.connection is not None:
            self._on_connection_changed(self.services.connection)

    @Slot()
    def _on_banner_button(self) -> None:
        self.services.open_settings.emit()

    # -- window state --------------------------------------------------------------------------------
    def _restore_state(self) -> None:
        geometry = self.services.pref(prefs.WINDOW_GEOMETRY)
        if geometry is not None and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1100, 760)
        self.select_tab(self.services.pref(prefs.WINDOW_TAB))

    def current_tab_name(self) -> str:
        current = self.tabs.currentWidget()
        return next((n for n, w in self._tab_widgets.items() if w is current), "chat")

    def save_state(self) -> None:
        self.services.set_pref(prefs.WINDOW_GEOMETRY, self.saveGeometry())
        self.services.set_pref(prefs.WINDOW_TAB, self.current_tab_name())
        self.services.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt name
        self.save_state()
        if self.keeps_running_in_tray():
            # The user chose to keep Parley in the tray: the window goes, the app (and a running answer) stays.
            event.ignore()
            self.hide()
            return
        if self.closed_for_good:
            super().closeEvent(event)
            return
        self.closed_for_good = True
        self.closing.emit()
        if self.quick is not None:
            self.quick.shutdown()
            self.quick.close()
        for holder in self._tab_widgets.values():
            if holder.widget is not None:
                holder.widget.shutdown()
        if self.indexer is not None:
            self.indexer.shutdown()  # type: ignore[attr-defined]
        workers.shutdown(3000)
        self.services.shutdown()
        super().closeEvent(event)
        if self.tray is not None:
            from PySide6.QtWidgets import QApplication

            self.tray.icon.hide()
            QTimer.singleShot(0, QApplication.quit)  # no longer quits by itself (see add_tray)
