"""A voice session (chained `VoiceSession` or live `LiveVoiceSession`) run on the real devices of the private
PulseAudio, on its own thread, its events stamped on arrival: the runner of the echo tests and the benchmark."""

from __future__ import annotations

import threading
import time
from typing import Any

from app.core.cancel import CancelToken


class SessionRun:
    """`with SessionRun(session, connection) as run:` starts `session.run` on a thread and waits for the mic to
    deliver; leaving cancels it, joins the thread (it must stop) and closes the connection."""

    def __init__(self, session: Any, connection: Any = None):
        self.session = session
        self.connection = connection
        self.cancel = CancelToken()
        self.events: list[tuple[float, Any]] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="voice-session", daemon=True)

    def _run(self) -> None:
        try:
            for event in self.session.run(self.cancel):
                self.events.append((time.monotonic(), event))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def __enter__(self) -> SessionRun:
        self._thread.start()
        self.wait(
            lambda: self.session.recorder is not None and self.session.recorder.frames > 8000, 10, "no mic"
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel.cancel()
        self._thread.join(10)
        if self.connection is not None:
            self.connection.close()
        assert not self._thread.is_alive(), "the voice session did not stop on cancel"
        if self.error is not None and exc[0] is None:
            raise self.error

    def wait(self, condition: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.error is not None:
                raise self.error
            assert time.monotonic() < deadline, f"{what} within {timeout} s; events: {self.events[-8:]}"
            time.sleep(0.02)

    def of(self, kind: type) -> list:
        return [e for _, e in list(self.events) if isinstance(e, kind)]

    def states(self) -> list[Any]:
        from app.voice.events import StateChanged

        return [e.state for e in self.of(StateChanged)]
