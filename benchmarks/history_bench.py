"""History at scale: 100,000 messages across 1,000 conversations (one of them 5,000 messages long).

Measures the bulk build (one transaction), opening the 5,000-message conversation with `History.messages()`
(median of 5; target <= 200 ms) and FTS5 search over all messages (median of 20 varied queries; target <= 50 ms).
Prints one JSON line; exits non-zero only past generous ceilings (5x the targets).

    python -m benchmarks.history_bench
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from app.core.history import History
from app.core.history import schema as history_mod
from benchmarks._report import report

MESSAGES = 100_000
CONVERSATIONS = 1_000
BIG_CONVERSATION = 5_000
TARGET_OPEN_MS, TARGET_SEARCH_MS = 200.0, 50.0
CEILING_FACTOR = 5.0

COMMON = (
    "the a to of and in is it you that for on with this as be are can or not your have from an by at "
    "what how when will use if more one all about which there so do also some would like get time may "
    "need than then these make data model file code error request please thanks answer question help"
).split()
TOPICS = (
    "python rust azure deployment endpoint token stream filter violence severity jailbreak kubernetes docker "
    "sqlite index search museum lisbon recipe garlic tomato basil pasta oven vacation flight hotel budget "
    "invoice contract lawyer tenant poem sonnet haiku melody guitar piano chord marathon training protein "
    "vitamin sleep meditation budget mortgage interest loan startup pitch investor roadmap sprint backlog "
    "bug regression latency throughput cache memory thread mutex deadlock socket certificate firewall "
    "résumé café naïve façade jalapeño crème brûlée über"
).split()
QUERIES = [
    "lisbon",
    "deployment token",
    "café",
    "kubernetes docker",
    "garlic",
    "the",
    "mutex deadlock",
    "sonnet",
    "azure endpoint",
    "latency",
    "résumé",
    "jalap",
    "pasta oven",
    "mortg",
    "certificate firewall",
    "error",
    "thanks for the help",
    "investor pitch",
    "re",
    "quasar",
]


def _syllable_words(rng: random.Random, n: int) -> list[str]:
    sy = [
        "ka",
        "lo",
        "mi",
        "ren",
        "tor",
        "vel",
        "sa",
        "dun",
        "pri",
        "ox",
        "el",
        "bra",
        "qui",
        "zen",
        "fa",
        "mor",
    ]
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(sy) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def _texts(rng: random.Random, count: int) -> list[str]:
    vocab = COMMON + TOPICS + _syllable_words(rng, 6000)
    weights = [1.0 / (rank + 1) ** 1.05 for rank in range(len(vocab))]  # Zipf-like
    out = []
    for _ in range(count):
        n = rng.randint(8, 90)
        out.append(" ".join(rng.choices(vocab, weights=weights, k=n)).capitalize() + ".")
    return out


def build(path: Path, rng: random.Random) -> dict[str, float]:
    """Bulk-insert the corpus in one transaction through the real schema (triggers keep the FTS index)."""
    h = History.open(path)
    texts = _texts(rng, MESSAGES)
    started = time.perf_counter()
    conn = h._conn
    now = time.time() - MESSAGES
    with h._lock:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
            [(i, f"Conversation {i}", now, now + i) for i in range(1, CONVERSATIONS + 1)],
        )
        rest = MESSAGES - BIG_CONVERSATION
        conv_of = [1] * BIG_CONVERSATION + [2 + (i % (CONVERSATIONS - 1)) for i in range(rest)]
        conn.executemany(
            "INSERT INTO messages (conversation_id, role, text, created_at, status) VALUES (?, ?, ?, ?, 'complete')",
            [
                (cid, "user" if i % 2 == 0 else "assistant", texts[i], now + i)
                for i, cid in enumerate(conv_of)
            ],
        )
        conn.execute("COMMIT")
    build_s = time.perf_counter() - started
    h.close()
    return {"build_s": round(build_s, 2), "db_mb": round(path.stat().st_size / 1e6, 1)}


def run() -> dict:
    rng = random.Random(20240601)
    with tempfile.TemporaryDirectory(prefix="parley-history-bench-") as tmp:
        path = Path(tmp) / "history.sqlite3"
        figures = build(path, rng)

        history_mod._checked.discard(str(path.resolve()))
        started = time.perf_counter()
        h = History.open(path)  # a first open in this process: quick_check, migrations check, recovery scan
        figures["first_open_ms"] = round((time.perf_counter() - started) * 1000, 1)
        try:
            open_times = []
            for _ in range(5):
                started = time.perf_counter()
                msgs = h.messages(1)
                open_times.append((time.perf_counter() - started) * 1000)
            assert len(msgs) == BIG_CONVERSATION, len(msgs)

            search_times, hits = [], []
            h.search("warm up")
            for q in QUERIES:
                started = time.perf_counter()
                found = h.search(q)
                search_times.append((time.perf_counter() - started) * 1000)
                hits.append(len(found))
        finally:
            h.close()

    open_ms, search_ms = statistics.median(open_times), statistics.median(search_times)
    figures.update(
        messages=MESSAGES,
        conversations=CONVERSATIONS,
        open_5000_median_ms=round(open_ms, 1),
        search_median_ms=round(search_ms, 2),
        search_max_ms=round(max(search_times), 2),
        search_queries=len(QUERIES),
        search_hits_min=min(hits),
    )
    return figures


TARGETS = {"open_5000_median_ms": TARGET_OPEN_MS, "search_median_ms": TARGET_SEARCH_MS}
CEILINGS = {name: limit * CEILING_FACTOR for name, limit in TARGETS.items()}


def main() -> int:
    return report("history_bench", run(), targets=TARGETS, ceilings=CEILINGS)


if __name__ == "__main__":
    sys.exit(main())
