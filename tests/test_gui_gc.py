"""Python's cycle collector runs on the GUI thread only: a collection on a worker could destroy Qt widgets there."""

from __future__ import annotations

import gc
import threading


def test_collections_happen_on_the_gui_thread_even_when_a_worker_allocates(qtbot):
    from PySide6.QtWidgets import QWidget

    from app.ui.app import GuiThreadCollector

    owner = QWidget()
    qtbot.addWidget(owner)
    threads: list[str] = []

    def record(phase: str, info: dict) -> None:
        if phase == "start":
            threads.append(threading.current_thread().name)

    collector = GuiThreadCollector(owner)
    gc.callbacks.append(record)
    try:

        def allocate() -> None:  # a worker making cycles, as parsing a stream does
            for _ in range(200_000):
                a: list = []
                a.append(a)

        worker = threading.Thread(target=allocate, name="parley-worker")
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: len(threads) > 0, timeout=3000)
    finally:
        gc.callbacks.remove(record)
        collector.stop()
    assert threads and set(threads) == {threading.main_thread().name}
    assert gc.isenabled()  # stop() gives automatic collection back (tests, a second window)
