"""The contract every main-window tab keeps: told of each connection, and shut down at quit."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Tab(Protocol):
    """The window connects `services.connection_changed` to `on_connection` when it builds the tab, and calls it
    at once when a connection already exists; tabs read `services.connection`, never keep a copy of it."""

    def on_connection(self, connection: Any) -> None:
        """A (new) connection is ready: refresh what depends on it (deployment names, lists)."""

    def shutdown(self) -> None:
        """The window is closing: cancel the tab's jobs."""
