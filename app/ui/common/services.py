"""What every tab shares: the active connection (made off the GUI thread), the profile store and UI preferences."""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSettings, Signal

from app.core.cancel import CancelToken
from app.ui.common import prefs
from app.ui.common.workers import JobResult, JobSlot, plain

if TYPE_CHECKING:  # imported with the connection, on its worker: not before the first frame
    from app.core import errors

log = logging.getLogger(__name__)


def _connect(profile_name: str | None, demo: bool, remember: bool, *, cancel: CancelToken) -> Any:
    # Keyring reads, Entra credential setup and the emulator's start all happen here, never on the GUI thread.
    from app.core import connection
    from app.core.profiles import ProfileStore  # here, on the worker: not an import the first frame waits for

    store = ProfileStore.load()
    profile = store.get(profile_name) if profile_name else None
    if remember and profile is not None and not demo and store.active != profile.name:
        store.active = profile.name  # the next start opens the profile the user chose
        store.save()
    return connection.connect(profile, demo=demo, store=store, demo_server=_start_emulator)


def _start_emulator() -> Any:
    # Demo mode's emulator, handed to core (which never imports it), on the worker that connects.
    from app.emulator import Emulator

    emu = Emulator()
    emu.start()
    return emu


class AppServices(QObject):
    """Owned by the main window; tabs hold a reference and listen to its signals."""

    connection_changed = Signal(object)  # app.core.connection.Connection
    connection_failed = Signal(object)  # errors.Problem
    connecting = Signal()
    # Other tabs ask for something to be shown in chat (e.g. images "send to chat"): (text, [(bytes, mime)])
    send_to_chat = Signal(str, object)
    open_settings = Signal()
    profiles_changed = Signal()  # a profile was added, edited, renamed, deleted or imported (Settings)
    pref_changed = Signal(str, object)  # (Pref.key, value) after set_pref
    history_cleared = Signal()  # Settings deleted every conversation
    conversations_changed = (
        Signal()
    )  # another tab stored a conversation (voice): the Chat sidebar lists it again
    reach = Signal(object)  # errors.Problem: a request could not reach Azure; None: one got through

    def __init__(self, *, demo: bool = False, profile_name: str | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.demo_requested = demo
        self.profile_name = profile_name
        self.connection: Any = None
        self.last_problem: errors.Problem | None = None
        self._connect_job = JobSlot(self, "connect")
        self._warm_job = JobSlot(self, "client-warm-up")
        self.indexer: Any = None  # the window's SemanticIndexer (meaning search), when there is a window
        self._warming: Any = None
        from app.core import paths

        # An INI file beside profiles.json, so PARLEY_HOME isolates it too; made 0600 (in a 0700 folder) before
        # QSettings first writes it, which keeps that mode on every later sync.
        ini = paths.config_dir() / "ui.ini"
        try:
            paths.private_file(ini)
        except OSError:  # an unwritable config folder: QSettings keeps the preferences in memory
            pass
        self.settings = QSettings(str(ini), QSettings.Format.IniFormat)

    # -- connection ---------------------------------------------------------------------------------
    def reconnect(
        self, profile_name: str | None = None, *, demo: bool | None = None, remember: bool = False
    ) -> None:
        """(Re)connect off the GUI thread; `connection_changed` or `connection_failed` follows. With `remember`,
        the profile also becomes the active one in profiles.json (the status bar switcher does that)."""
        if profile_name is not None:
            self.profile_name = profile_name
        if demo is not None:
            self.demo_requested = demo
        self.connecting.emit()
        # A newer reconnect cancels the older; the slot drops the older's late result.
        self._connect_job.start(
            partial(_connect, self.profile_name, self.demo_requested, remember), self._on_connected
        )

    @property
    def connecting_now(self) -> bool:
        """A connection attempt is under way (its `connection_changed` or `connection_failed` is still to come)."""
        return self._connect_job.running

    def _on_connected(self, result: JobResult) -> None:
        if result.cancelled:
            return
        if result.problem is not None:
            # The connection asked for failed: no tab goes on with the one before (a different profile).
            old, self.connection = self.connection, None
            if old is not None:
                old.close()
            self.last_problem = result.problem
            log.warning("connection failed: %s", result.problem.one_line())
            self.connection_failed.emit(result.problem)
            return
        old, self.connection = self.connection, result.value
        self.last_problem = None
        if old is not None and old is not self.connection:
            old.close()
        self.connection_changed.emit(self.connection)

    def warm_up_client(self) -> None:
        """Build the connection's client (importing openai, ~1 s) on a worker now, because a request is coming:
        the user started typing. Idle, Parley never pays its ~25 MB."""
        connection = self.connection
        if (
            connection is None
            or getattr(connection, "_client", None) is not None
            or self._warming is connection
        ):
            return
        self._warming = connection
        self._warm_job.start(plain(connection.client), self._on_warmed)

    def _on_warmed(self, result: JobResult) -> None:
        self._warming = (
            None  # a problem (bad endpoint...) shows when the request is made, where the user looks
        )

    @property
    def is_demo(self) -> bool:
        return bool(self.connection is not None and self.connection.demo)

    def report_reach(self, problem: Any) -> None:
        """What a request learned of Azure (a chat turn, the indexer): it could not reach it (a network, timeout or
        server problem) or got through (None, or a problem Azure itself answered with). The status bar says so."""
        from app.core import errors

        unreachable = problem is not None and problem.kind in (
            errors.Kind.NETWORK,
            errors.Kind.TIMEOUT,
            errors.Kind.SERVER,
        )
        self.reach.emit(problem if unreachable else None)

    def shutdown(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    # -- preferences (QSettings: not secrets, not profiles) ----------------------------------------
    def pref(self, pref: prefs.Pref | str, default: Any = None) -> Any:
        """The preference's value as its table type; `default` overrides the table's (the voice tab's default is
        the profile's voice)."""
        entry = prefs.lookup(pref)
        return entry.convert(self.settings.value(entry.key), default)

    def set_pref(self, pref: prefs.Pref | str, value: Any) -> None:
        entry = prefs.lookup(pref)
        self.settings.setValue(entry.key, value)
        self.pref_changed.emit(entry.key, value)
