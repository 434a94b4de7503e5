"""Opening the images gallery with 500 stored images: time until the grid is populated, and the longest GUI stall
while thumbnails are made and cached off the GUI thread. Target: open <= 300 ms; ceiling 1500 ms."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._report import report

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

N_IMAGES = 500
TARGET_MS, CEILING_MS = 300.0, 1500.0
STALL_CEILING_MS = 250.0


def _populate(home: Path) -> None:
    from PySide6.QtGui import QColor, QImage

    from app.core.history import History

    folder = home / "data" / "images"
    folder.mkdir(parents=True, exist_ok=True)
    history = History.open()
    for i in range(N_IMAGES):
        img = QImage(512, 512, QImage.Format.Format_RGB32)
        img.fill(QColor.fromHsv((i * 37) % 360, 180, 220))
        path = folder / f"img-{i:04d}.png"
        img.save(str(path), "PNG")
        history.add_image(
            path=str(path),
            prompt=f"picture number {i}",
            revised_prompt=f"A picture, number {i}",
            options={"size": "1024x1024"},
            deployment="dall-e-3",
        )


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PARLEY_HOME"] = tmp
        from PySide6.QtCore import QElapsedTimer, QTimer
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication(sys.argv[:1])
        _populate(Path(tmp))

        from app.ui.common.workers import active_jobs, shutdown
        from app.ui.images.gallery import Gallery

        results: dict[str, float] = {}
        for label in ("cold", "warm"):  # cold makes and caches the thumbnails; warm reads the cache
            gallery = Gallery()
            gallery.resize(900, 600)
            gallery.show()
            stall = {"max": 0.0}
            probe = QElapsedTimer()
            probe.start()

            def tick(probe=probe, stall=stall):
                stall["max"] = max(stall["max"], probe.restart() - 5)

            timer = QTimer()
            timer.setInterval(5)
            timer.timeout.connect(tick)
            timer.start()
            started = time.perf_counter()
            loaded = {}
            gallery.loaded.connect(lambda n, loaded=loaded: loaded.setdefault("t", time.perf_counter()))
            gallery.reload()
            while "t" not in loaded:
                app.processEvents()
            open_ms = (loaded["t"] - started) * 1000
            app.processEvents()
            while active_jobs():  # thumbnails arriving in batches
                app.processEvents()
            thumbs_ms = (time.perf_counter() - started) * 1000
            timer.stop()
            results[f"{label}_open_ms"] = round(open_ms, 1)
            results[f"{label}_all_thumbnails_ms"] = round(thumbs_ms, 1)
            results[f"{label}_longest_stall_ms"] = round(stall["max"], 1)
            assert gallery.model_.rowCount() == N_IMAGES
            gallery.close()
        shutdown()
    return {"images": N_IMAGES, **results}


def main() -> int:
    return report(
        "gallery_open",
        run(),
        targets={"cold_open_ms": TARGET_MS, "warm_open_ms": TARGET_MS},
        ceilings={
            "cold_open_ms": CEILING_MS,
            "warm_open_ms": CEILING_MS,
            "warm_longest_stall_ms": STALL_CEILING_MS,
        },
    )


if __name__ == "__main__":
    sys.exit(main())
