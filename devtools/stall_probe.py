"""The GUI stall probe shared by tests and benchmarks: a short QTimer whose lateness is how long the event loop was
blocked. Import it after the QApplication exists."""

from __future__ import annotations

import time

from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Slot


class StallProbe(QObject):
    """Ticks every `interval_ms`; `longest_ms` is the longest gap between ticks less the interval, and `late` keeps
    (perf_counter time, ms late) of every tick for a closer look."""

    def __init__(self, interval_ms: int = 10) -> None:
        super().__init__()
        self.interval_ms = interval_ms
        self.longest_ms = 0.0
        self.late: list[tuple[float, float]] = []
        self._clock = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.longest_ms = 0.0
        self.late = []
        self._clock.start()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @Slot()
    def _tick(self) -> None:
        late = max(0.0, self._clock.restart() - float(self.interval_ms))
        self.longest_ms = max(self.longest_ms, late)
        self.late.append((time.perf_counter(), late))
