"""The voice session's helper threads: a generator pumped into a queue, the speaker (synthesis and playback, sentence
by sentence), and the level watch that hands the microphone's level to the GUI's meter."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from app.core import errors
from app.core.cancel import CancelToken
from app.core.events import Failed
from app.voice.events import InputLevel
from app.voice.speech_text import split_long

LEVEL_EVERY_S = 0.05  # the meter's refresh: 20 a second looks smooth and costs nothing


class Pump(threading.Thread):
    """Runs a generator on its own thread and hands its items over through a queue."""

    def __init__(self, make: Callable[[CancelToken], Iterator[Any]], parent: CancelToken, name: str):
        super().__init__(name=name, daemon=True)
        self.items: queue.Queue = queue.Queue()
        self.cancel = CancelToken()
        parent.on_cancel(self.cancel.cancel)
        self._make = make
        self.done = False

    def run(self) -> None:
        try:
            for item in self._make(self.cancel):
                self.items.put(item)
                if self.cancel.cancelled:
                    break
        except Exception as exc:  # noqa: BLE001 - becomes a value like everywhere else
            self.items.put(Failed(errors.from_exception(exc)))
        finally:
            self.done = True
            self.items.put(None)


class Speaker(threading.Thread):
    """Synthesises queued sentences one after another and feeds the player, so speech starts with sentence one."""

    def __init__(self, backend: Any, player: Any, parent: CancelToken):
        super().__init__(name="parley-speaker", daemon=True)
        self.backend = backend
        self.player = player
        self.sentences: queue.Queue[str | None] = queue.Queue()
        self.cancel = CancelToken()
        parent.on_cancel(self.cancel.cancel)
        self.problems: queue.Queue[errors.Problem] = queue.Queue()
        self.first_byte_at: float | None = None
        self.spoke_text: list[str] = []
        self.finished = threading.Event()

    def say(self, sentence: str) -> None:
        for piece in split_long(sentence, 4096):
            self.sentences.put(piece)

    def close(self) -> None:
        self.sentences.put(None)

    def run(self) -> None:
        try:
            while not self.cancel.cancelled:
                sentence = self.sentences.get()
                if sentence is None:
                    break
                for event in self.backend.synthesize(sentence, self.cancel):
                    if self.cancel.cancelled:
                        break
                    data = getattr(event, "data", None)
                    if data:
                        if self.first_byte_at is None:
                            self.first_byte_at = time.monotonic()
                        self.player.write(data)
                    elif isinstance(event, Failed):
                        self.problems.put(event.problem)
                        self.cancel.cancel()
                self.spoke_text.append(sentence)
        except Exception as exc:  # noqa: BLE001 - e.g. a CONFIG ParleyError raised when synthesize is called
            self.problems.put(errors.from_exception(exc))
            self.cancel.cancel()
        finally:
            self.player.finish()
            self.finished.set()


class LevelWatch(threading.Thread):
    """Calls `on_level(InputLevel)` every LEVEL_EVERY_S while the recorder records (`on_level` may be a Qt
    signal's emit: Qt queues it to the GUI thread). The recorder's level is written by the audio thread."""

    def __init__(
        self,
        recorder: Any,
        on_level: Callable[[InputLevel], Any],
        threshold: Callable[[], float | None] = lambda: None,
    ):
        super().__init__(name="parley-level", daemon=True)
        self.recorder, self.on_level, self.threshold = recorder, on_level, threshold
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(LEVEL_EVERY_S):
            try:
                self.on_level(InputLevel(self.recorder.level.rms_db, self.threshold(), self.recorder.frames))
            except RuntimeError:  # the meter's window is gone
                return

    def stop(self) -> None:
        """Stop and wait, so no level arrives after the caller's own last event."""
        self._stopping.set()
        if self.is_alive() and self is not threading.current_thread():
            self.join(1.0)


class NullPlayer:
    """Stands in when no output device can be opened: the answer still shows as text."""

    first_audio_at = None
    emptied_at = None
    drained = True
    played_out = True
    latency = 0.0

    def start(self) -> None: ...
    def write(self, pcm: bytes) -> None: ...
    def finish(self) -> None: ...
    def stop(self) -> None: ...


def read_timed(recorder: Any, timeout: float) -> tuple[Any, float | None] | None:
    """(block, when it was captured) from a recorder that knows (the real one), else (block, None): the echo
    canceller lines the block up with what was playing then."""
    if hasattr(recorder, "read_timed"):
        return recorder.read_timed(timeout)
    block = recorder.read(timeout)
    return None if block is None else (block, None)


def drain_timed(recorder: Any) -> list[tuple[Any, float | None]]:
    if hasattr(recorder, "drain_timed"):
        return recorder.drain_timed()
    return [(block, None) for block in recorder.drain()]
