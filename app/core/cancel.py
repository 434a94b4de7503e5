"""A cancel token shared by a worker and the GUI: cancelling also closes whatever the job registered (sockets)."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Cancelled(Exception):
    """Raised by `CancelToken.raise_if_cancelled` inside core loops."""


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._closers: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        """Safe from any thread. Runs registered closers once, so a blocked read wakes at once."""
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            closers, self._closers = self._closers, []
        for close in closers:
            try:
                close()
            except Exception:  # noqa: BLE001 - closing a dead socket may fail; cancel must not
                pass

    def on_cancel(self, close: Callable[[], None]) -> None:
        """Register a closer; runs immediately if already cancelled."""
        with self._lock:
            if not self._event.is_set():
                self._closers.append(close)
                return
        close()

    def forget(self, close: Callable[[], None]) -> None:
        """Unregister a closer (a finished request's), so a long-lived token does not collect them."""
        with self._lock:
            if close in self._closers:
                self._closers.remove(close)

    def child(self) -> CancelToken:
        """A token cancelled with this one that can also be cancelled alone (one request cut by its watchdog)."""
        child = CancelToken()
        self.on_cancel(child.cancel)
        return child

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True if cancelled meanwhile."""
        return self._event.wait(seconds)
