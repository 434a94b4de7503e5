"""One Parley per user and data folder: a second launch asks the first to come forward, then exits."""

from __future__ import annotations

import getpass
import hashlib

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app.core import paths


def server_name() -> str:
    # Per user and per data folder, so tests with their own PARLEY_HOME never see each other.
    key = f"{getpass.getuser()}:{paths.config_dir()}"
    return "parley-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def ask_running_instance_to_show(timeout_ms: int = 500) -> bool:
    """True if another Parley answered (and was asked to come forward)."""
    socket = QLocalSocket()
    socket.connectToServer(server_name())
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(b"show\n")
    socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    return True


class InstanceServer(QObject):
    show_requested = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.server = QLocalServer(self)
        name = server_name()
        if not self.server.listen(name):
            # A stale socket from a crashed Parley: nobody answered above, so it is safe to remove.
            QLocalServer.removeServer(name)
            self.server.listen(name)
        self.server.newConnection.connect(self._on_connection)

    @Slot()
    def _on_connection(self) -> None:
        while self.server.hasPendingConnections():
            conn = self.server.nextPendingConnection()
            conn.readyRead.connect(self._on_ready_read)
            conn.disconnected.connect(conn.deleteLater)

    @Slot()
    def _on_ready_read(self) -> None:
        conn = self.sender()
        if isinstance(conn, QLocalSocket) and b"show" in bytes(conn.readAll().data()):
            self.show_requested.emit()
