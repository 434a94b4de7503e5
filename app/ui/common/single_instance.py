"""One Parley per user and data folder. A second launch hands its request (come forward, `--quick`, or `--send TEXT`) to the
running one over a private local socket and exits once that one acknowledged it.

Who runs is decided by a lock file held for the whole life of the process (QLockFile: a crashed holder's lock is
stale and taken over), so two launches at the same moment never both become the window, and the one that loses
hands its question over instead of dropping it. The socket and the lock live in a folder only the user can open
(`XDG_RUNTIME_DIR`, else a 0700 folder of their own), and the socket itself is 0600.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QLockFile, QObject, Signal, Slot

if TYPE_CHECKING:  # QtNetwork is imported when the server starts, after the first frame (start-up time)
    from PySide6.QtNetwork import QLocalSocket

from app.core import paths

HAND_OVER_SECONDS = 20.0  # the running Parley may itself still be starting (its window, its history)
MAX_REQUEST = 1 << 20  # a --send text beyond 1 MB is refused (it would not fit a chat box either)


def _user() -> str:
    if os.name == "posix":
        return str(os.getuid())
    import getpass

    return getpass.getuser()


def _key() -> str:
    # Per user and per data folder, so tests with their own PARLEY_HOME never see each other. A short name, not a
    # secret: two zlib checksums (64 bits; zlib is loaded already) instead of hashlib, whose OpenSSL start cost the
    # window's first frame ~4 ms.
    text = f"{_user()}:{paths.config_dir()}".encode()
    return f"{zlib.crc32(text):08x}{zlib.adler32(text):08x}"


def _owned_private(folder: Path) -> bool:
    """`folder` exists, is a real folder of this user's, and nobody else can open it (made so if needed)."""
    try:
        st = folder.lstat()
        if not folder.is_dir() or folder.is_symlink():
            return False
        if os.name == "posix":
            if st.st_uid != os.getuid():
                return False
            if st.st_mode & 0o077:
                folder.chmod(0o700)
        return True
    except OSError:
        return False


def runtime_dir() -> Path:
    """Where the socket and the lock go: XDG_RUNTIME_DIR (private by the spec), else /tmp/parley-<uid> made 0700,
    else the 0700 config folder. Short paths, because a Unix socket's path is limited to about 100 bytes."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and _owned_private(Path(xdg)):
        return Path(xdg)
    folder = Path(tempfile.gettempdir()) / f"parley-{_user()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        pass
    if _owned_private(folder):
        return folder
    return paths.ensure(paths.config_dir())


def server_name() -> str:
    """The socket's full path (a name without a folder would put it in the world-writable /tmp)."""
    return str(runtime_dir() / f"parley-{_key()}.sock")


def lock_path() -> str:
    return str(runtime_dir() / f"parley-{_key()}.lock")


class InstanceLock:
    """Held by the running Parley for as long as it runs."""

    def __init__(self) -> None:
        self._lock = QLockFile(lock_path())

    def acquire(self) -> bool:
        """True if this process is now the one Parley (nobody held the lock, or its holder died)."""
        return bool(self._lock.tryLock(0))

    def release(self) -> None:
        self._lock.unlock()


def hand_over(request: dict[str, str], timeout: float = HAND_OVER_SECONDS) -> bool:
    """Give `request` ({"op": "show"}, {"op": "quick"} or {"op": "send", "text": ...}) to the running Parley; True once it answered
    that it took it. Retries the connection while the running one may still be starting its server."""
    from PySide6.QtNetwork import QLocalSocket

    payload = json.dumps(request).encode("utf-8") + b"\n"
    deadline = time.monotonic() + timeout
    name = server_name()
    while True:
        remaining_ms = int((deadline - time.monotonic()) * 1000)
        if remaining_ms <= 0:
            return False
        socket = QLocalSocket()
        socket.connectToServer(name)
        if socket.waitForConnected(min(remaining_ms, 1000)):
            break
        time.sleep(0.1)
    socket.write(payload)
    socket.waitForBytesWritten(max(1, int((deadline - time.monotonic()) * 1000)))
    reply = b""
    while b"\n" not in reply:
        remaining_ms = int((deadline - time.monotonic()) * 1000)
        if remaining_ms <= 0:
            break
        if socket.waitForReadyRead(min(remaining_ms, 500)):
            reply += bytes(socket.readAll().data())
        elif socket.state() != QLocalSocket.LocalSocketState.ConnectedState:
            reply += bytes(socket.readAll().data())
            break
    socket.disconnectFromServer()
    return reply.split(b"\n", 1)[0].strip() == b"ok"


class InstanceServer(QObject):
    """Listens for later launches. Each request is acknowledged only after the window took it (the signal's slots
    ran: a --send text is then queued in the chat and will be sent)."""

    show_requested = Signal()
    send_requested = Signal(str)
    quick_requested = Signal()  # `parley --quick`: the small Ask Parley window

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        from PySide6.QtNetwork import QLocalServer

        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        name = server_name()
        # Only the lock's holder gets here, so a socket left at this path is a dead Parley's.
        QLocalServer.removeServer(name)
        self.server.listen(name)
        if os.name == "posix" and os.path.exists(name):
            os.chmod(name, 0o600)  # UserAccessOption already asks for this; make sure of it
        self.server.newConnection.connect(self._on_connection)
        self._buffers: dict[QLocalSocket, bytes] = {}

    @Slot()
    def _on_connection(self) -> None:
        while self.server.hasPendingConnections():
            conn = self.server.nextPendingConnection()
            self._buffers[conn] = b""
            conn.readyRead.connect(self._on_ready_read)
            conn.disconnected.connect(self._on_disconnected)

    @Slot()
    def _on_disconnected(self) -> None:
        from PySide6.QtNetwork import QLocalSocket

        conn = self.sender()
        if isinstance(conn, QLocalSocket):
            self._buffers.pop(conn, None)
            conn.deleteLater()

    @Slot()
    def _on_ready_read(self) -> None:
        from PySide6.QtNetwork import QLocalSocket

        conn = self.sender()
        if not isinstance(conn, QLocalSocket) or conn not in self._buffers:
            return
        data = self._buffers[conn] + bytes(conn.readAll().data())
        if b"\n" not in data:
            if len(data) > MAX_REQUEST:
                self._reply(conn, b"too-long")
            else:
                self._buffers[conn] = data
            return
        line = data.split(b"\n", 1)[0]
        try:
            request = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            request = {"op": "show"} if line.strip() == b"show" else {}  # an older Parley's plain "show"
        op = request.get("op") if isinstance(request, dict) else None
        if op == "send" and isinstance(request.get("text"), str) and request["text"].strip():
            self.send_requested.emit(request["text"])
            self._reply(conn, b"ok")
        elif op == "quick":
            self.quick_requested.emit()
            self._reply(conn, b"ok")
        elif op == "show":
            self.show_requested.emit()
            self._reply(conn, b"ok")
        else:
            self._reply(conn, b"unknown")

    def _reply(self, conn: QLocalSocket, word: bytes) -> None:
        self._buffers[conn] = b""
        conn.write(word + b"\n")
        conn.flush()
