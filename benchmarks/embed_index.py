"""Meaning-search indexing at scale: 10,000 stored messages embedded through `SemanticIndexer` against the emulator
(its own process, as Azure would be), while a 5 ms QTimer probe measures the longest GUI event-loop stall. The
search box and the status-bar label are mounted, so their reactions to progress count too. Then a Meaning search
over the 10,000 vectors is timed, in the core and end to end in the search box.

Targets: longest stall <= 16 ms (one frame); Meaning search <= 300 ms (median, search box). Exits non-zero only past
the ceilings: 1500 ms for search, and 100 ms for the longest *busy* stall, the part of a stall when this process was
on a CPU (the GUI thread working, or waiting for the GIL a worker or a garbage collection held); on a loaded 2-core
runner the wall-clock stall mostly measures the neighbours, so it is printed but not judged. Each stall above the
target is listed with that split, and full garbage collections during the run with their length. Prints one JSON line.

    python -m benchmarks.embed_index
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._report import report

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

MESSAGES = 10_000
CONVERSATIONS = 100
TARGET_STALL_MS, CEILING_STALL_MS = 16.0, 100.0
TARGET_SEARCH_MS, CEILING_SEARCH_MS = 300.0, 1500.0
PROBE_MS = 5
QUERIES = [
    "automobile trouble",
    "a film to watch tonight",
    "purchase a large home",
    "the physician said",
    "glad it worked",
    "begin the project",
    "kids at school",
]


def _start_emulator() -> tuple[subprocess.Popen, str]:
    # Azure does not share our CPU: on a 2-core runner the emulator's hashing would otherwise preempt the GUI thread
    # and the probe would measure the machine, not Parley. It runs at the lowest priority.
    nice = (lambda: os.nice(19)) if hasattr(os, "nice") else None
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.emulator", "0"],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=nice,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if "http" not in line:
        proc.kill()
        raise RuntimeError(f"the emulator did not start: {line!r}")
    return proc, line.strip().split()[-1]


SENTENCES = [
    "My car broke down",
    "Suggest a good movie",
    "We will buy a big house",
    "The doctor told the kid to rest",
    "So happy the fix worked",
    "When do we start the work?",
    "The children loved the school trip",
]


def _build(rng: random.Random) -> None:
    """Bulk-insert the messages through the real schema (triggers keep the FTS index)."""
    from app.core.history import History
    from benchmarks.history_bench import _texts

    history = History.open()
    texts = _texts(rng, MESSAGES)
    now = time.time() - MESSAGES
    with history._lock:
        conn = history._conn
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
            [(i, f"Conversation {i}", now, now + i) for i in range(1, CONVERSATIONS + 1)],
        )
        conn.executemany(
            "INSERT INTO messages (conversation_id, role, text, created_at, status) VALUES (?, ?, ?, ?, 'complete')",
            [
                (
                    1 + i % CONVERSATIONS,
                    "user" if i % 2 == 0 else "assistant",
                    SENTENCES[(i // 25) % len(SENTENCES)] if i % 25 == 0 else text,
                    now + i,
                )  # some plain sentences
                for i, text in enumerate(texts)
            ],
        )
        conn.execute("COMMIT")


def run() -> dict:
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication, QStatusBar, QVBoxLayout, QWidget

    from app.core import errors, profiles, semantic
    from app.core.cancel import CancelToken
    from app.core.connection import Connection
    from app.core.history import History
    from app.ui.chat.indexer import IndexStatus, SemanticIndexer
    from app.ui.chat.search import HistorySearch
    from app.ui.common.services import AppServices
    from app.ui.common.workers import shutdown

    app = QApplication.instance() or QApplication(sys.argv[:1])
    _build(random.Random(20240607))
    history = History.open()
    emulator, endpoint = _start_emulator()
    try:
        profile = profiles.Profile(
            name="bench",
            endpoint=endpoint,
            deployments=profiles.Deployments(embeddings="text-embedding-3-large"),
        )
        connection = Connection(profile, api_key="bench")
        connection.client()  # imports openai now, not inside the measured run
        services = AppServices()

        window = QWidget()
        search = HistorySearch(services)
        status_bar = QStatusBar()
        layout = QVBoxLayout(window)
        layout.addWidget(search)
        layout.addWidget(status_bar)
        window.resize(420, 640)
        window.show()
        app.processEvents()

        indexer = SemanticIndexer(services, delay_ms=0)
        search.set_indexer(indexer)
        status_bar.addPermanentWidget(IndexStatus(indexer))
        progress: list[tuple[float, int, int]] = []
        indexer.progress.connect(
            lambda indexed, remaining: progress.append((time.perf_counter(), indexed, remaining))
        )

        gaps: list[float] = []
        busy: list[float] = []
        # (gap ms, of which the process was on a CPU, of which the GUI thread, s into the run, progress events)
        worst: list[tuple[float, float, float, float, int]] = []
        probe = QElapsedTimer()
        cpu = [time.process_time(), time.thread_time()]

        def tick() -> None:
            gap = probe.restart() - PROBE_MS
            process, gui = time.process_time(), time.thread_time()
            on_cpu = min(gap, (process - cpu[0]) * 1000)
            gaps.append(gap)
            busy.append(on_cpu)
            if gap > TARGET_STALL_MS:
                worst.append(
                    (gap, on_cpu, (gui - cpu[1]) * 1000, time.perf_counter() - started, len(progress))
                )
            cpu[:] = [process, gui]

        collections: list[float] = []  # full (generation 2) garbage collections during the run, ms
        gc_started = [0.0]

        def on_gc(phase: str, info: dict) -> None:
            if info.get("generation") == 2:
                if phase == "start":
                    gc_started[0] = time.perf_counter()
                else:
                    collections.append((time.perf_counter() - gc_started[0]) * 1000)

        timer = QTimer()
        timer.setInterval(PROBE_MS)
        timer.timeout.connect(tick)
        loop = QEventLoop()
        indexer.idle.connect(loop.quit)
        QTimer.singleShot(600_000, loop.quit)

        # Steady state, as in an app that has been up a while: numpy imported (the first import, on whichever thread,
        # is start-up cost) and start-up garbage collected, so the run's own allocations are what is measured.
        import numpy  # noqa: F401

        gc.collect()
        started = time.perf_counter()
        gc.callbacks.append(on_gc)
        probe.start()
        timer.start()
        services.connection = connection
        services.connection_changed.emit(connection)
        loop.exec()
        timer.stop()
        gc.callbacks.remove(on_gc)
        total_s = time.perf_counter() - started
        if indexer.problem is not None:
            raise RuntimeError(indexer.problem.one_line())
        key = semantic.model_key("text-embedding-3-large", semantic.DEFAULT_DIMENSIONS)
        indexed = history.vector_count(key)
        assert indexed == MESSAGES and progress[-1][2] == 0, (indexed, progress[-1:])
        first_batch_s = next(t for t, n, _ in progress if n) - started

        # Meaning search over 10,000 vectors: the core call (vectors read, query embedded, ranked, hits fetched)...
        client = connection.client()
        ctx = errors.Context("embeddings")
        core_ms = []
        for query in QUERIES:
            t = time.perf_counter()
            hits = semantic.search(
                history,
                client,
                query,
                cancel=CancelToken(),
                ctx=ctx,
                deployment="text-embedding-3-large",
                mode="meaning",
            )
            core_ms.append((time.perf_counter() - t) * 1000)
            assert hits, query
        # ... and end to end in the search box (debounce excluded: search_now), with the probe running again.
        loop2 = QEventLoop()
        widget_ms = []
        gaps_search: list[float] = []
        timer.timeout.disconnect()
        timer.timeout.connect(lambda: gaps_search.append(probe.restart() - PROBE_MS))
        QTimer.singleShot(10_000, loop2.quit)
        search.set_mode("meaning")
        app.processEvents()
        probe.restart()
        timer.start()
        for query in QUERIES:
            search.query.blockSignals(True)
            search.query.setText(query)
            search.query.blockSignals(False)
            t = time.perf_counter()
            search.search_now()
            job = search._job.job
            job.finished.connect(loop2.quit)
            loop2.exec()
            widget_ms.append((time.perf_counter() - t) * 1000)
            assert search.results.count(), query
        timer.stop()

        search.shutdown()
        indexer.shutdown()
        window.close()
        services.shutdown()
        shutdown()
    finally:
        emulator.terminate()
        emulator.wait(10)
        history.close()

    stall = max(gaps) if gaps else 0.0
    busy_stall = max(busy) if busy else 0.0
    search_ms = statistics.median(widget_ms)
    result = {
        "benchmark": "embed_index",
        "messages": MESSAGES,
        "total_s": round(total_s, 2),
        "messages_per_s": round(MESSAGES / total_s, 1),
        "first_batch_s": round(first_batch_s, 3),
        "progress_updates": len(progress),
        "longest_stall_ms": round(stall, 1),
        # the part of a stall when this process was on a CPU: what Parley itself (GIL, GUI work, garbage collection)
        # costs, without the time a loaded machine ran other processes
        "longest_busy_stall_ms": round(busy_stall, 1),
        "stall_p99_ms": round(sorted(gaps)[int(len(gaps) * 0.99)] if gaps else 0.0, 1),
        "probe_ticks": len(gaps),
        "stalls_over_target": len(worst),
        # the longest few: gap, of which this process was on a CPU, of which the GUI thread itself computed (the
        # rest: waiting for the GIL or for a CPU), seconds into the run, progress events so far
        "worst_stalls": [
            [round(g), round(b), round(c), round(at, 2), n]
            for g, b, c, at, n in sorted(worst, reverse=True)[:5]
        ],
        "full_gc_ms": [round(ms) for ms in collections],
        "meaning_search_core_median_ms": round(statistics.median(core_ms), 1),
        "meaning_search_core_max_ms": round(max(core_ms), 1),
        "meaning_search_box_median_ms": round(search_ms, 1),
        "meaning_search_box_max_ms": round(max(widget_ms), 1),
        "search_longest_stall_ms": round(max(gaps_search) if gaps_search else 0.0, 1),
    }
    return result


TARGETS = {"longest_stall_ms": TARGET_STALL_MS, "meaning_search_box_median_ms": TARGET_SEARCH_MS}
# The ceiling judges Parley's own share: on a shared 2-core runner the wall-clock stall measures the neighbours.
CEILINGS = {"longest_busy_stall_ms": CEILING_STALL_MS, "meaning_search_box_median_ms": CEILING_SEARCH_MS}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="parley-embed-bench-") as tmp:
        os.environ["PARLEY_HOME"] = tmp
        result = run()
    return report("embed_index", result, targets=TARGETS, ceilings=CEILINGS)


if __name__ == "__main__":
    sys.exit(main())
