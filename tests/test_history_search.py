"""Semantic history search in the window: the search box's modes and results, and background indexing, against the
emulator's similarity-preserving embeddings with the real client and a history in the test's own PARLEY_HOME."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from app.core import profiles, semantic
from app.core.connection import Connection
from app.core.history import History
from app.ui.chat.indexer import IndexStatus, SemanticIndexer
from app.ui.chat.search import EMPTY_INDEX, NO_DEPLOYMENT, HistorySearch
from app.ui.chat.search_results import snippet_html
from app.ui.common.services import AppServices

MODEL = "text-embedding-3-large"


class TestConnection(Connection):
    """A connection to the test's emulator whose real client can add the emulator's x-parley-* headers per request
    (`hook(request_number) -> dict of headers`)."""

    __test__ = False

    def __init__(self, endpoint: str, *, embeddings: str = MODEL, hook=None):
        base = profiles.demo_profile(endpoint)
        profile = profiles.Profile(
            name="test",
            endpoint=endpoint,
            api_version=base.api_version,
            deployments=profiles.Deployments(chat="gpt-4o", embeddings=embeddings),
        )
        super().__init__(profile, api_key="test-key")
        self.hook = hook
        self.sent = 0

    def client(self):
        with self._lock:
            if self._client is None:
                from openai import AzureOpenAI, DefaultHttpxClient

                from app.core import netio

                http = DefaultHttpxClient(event_hooks={"request": [self._on_request]})
                self._client = AzureOpenAI(
                    azure_endpoint=self.profile.endpoint,
                    api_version=self.profile.api_version,
                    api_key="test-key",
                    max_retries=0,
                    http_client=netio.install(http),
                )
            return self._client

    def _on_request(self, request) -> None:
        self.sent += 1
        if self.hook is not None:
            for name, value in self.hook(self.sent).items():
                request.headers[name] = value


@pytest.fixture
def services(qtbot):
    services = AppServices()
    yield services
    services.shutdown()


def use(services: AppServices, connection: Connection) -> None:
    old, services.connection = services.connection, connection
    if old is not None:
        old.close()
    services.connection_changed.emit(connection)


def embedding_requests(emulator) -> list:
    return [r for r in emulator.requests if r.path.endswith("/embeddings")]


def seed(history: History) -> dict[str, tuple[int, int]]:
    """A few conversations; returns {text: (conversation_id, message_id)}."""
    ids = {}
    for title, texts in (
        ("Road trip", ["My car broke down", "Call roadside assistance and wait somewhere safe"]),
        ("Dinner ideas", ["What should I cook with garlic and basil?", "A simple pasta with tomato sauce"]),
        ("Shopping", ["I purchased a large automobile last week", "Congratulations on the new car!"]),
        ("Evening", ["Can you recommend a good movie?", "Quarterly revenue rose by eight percent"]),
    ):
        cid = history.create_conversation(title).id
        for i, text in enumerate(texts):
            ids[text] = (cid, history.add_message(cid, "user" if i % 2 == 0 else "assistant", text).id)
    return ids


def fill(history: History, n: int) -> None:
    words = (
        "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
        "quebec romeo sierra tango uniform victor whiskey xray yankee zulu"
    ).split()
    cid = history.create_conversation("Filler").id
    for i in range(n):
        history.add_message(
            cid, "user", f"Note {i}: " + " ".join(words[(i * 7 + k) % len(words)] for k in range(6))
        )


def wait_indexed(qtbot, indexer, timeout=30000) -> None:
    qtbot.waitUntil(
        lambda: not indexer.running and indexer.remaining == 0 and not indexer._timer.isActive(),
        timeout=timeout,
    )


def search_for(qtbot, search: HistorySearch, text: str) -> list[str]:
    search.query.setText(text)
    qtbot.waitUntil(lambda: not search.searching, timeout=15000)
    return [search.results.item(i).text() for i in range(search.results.count())]


@pytest.fixture
def indexed(qtbot, services, emulator):
    """Seeded history, fully indexed through the indexer, and a search box that knows it."""
    history = History.open()
    ids = seed(history)
    use(services, TestConnection(emulator.endpoint))
    indexer = SemanticIndexer(services, delay_ms=0)
    search = HistorySearch(services, indexer=indexer)
    qtbot.addWidget(search)
    search.resize(360, 520)
    search.show()
    qtbot.waitExposed(search)
    wait_indexed(qtbot, indexer)
    qtbot.waitUntil(lambda: search.meaning_reason is None, timeout=10000)
    yield search, ids, history
    search.shutdown()
    indexer.shutdown()


def test_meaning_finds_a_message_sharing_no_word_and_exact_does_not(qtbot, indexed):
    search, ids, _ = indexed
    search.set_mode("exact")
    assert search_for(qtbot, search, "automobile trouble") == []
    assert search.status.text() == "No results"

    search.set_mode("meaning")
    qtbot.waitUntil(lambda: not search.searching, timeout=15000)
    found = [search.results.item(i).text() for i in range(search.results.count())]
    assert (
        "Road trip — You (similar in meaning): My car broke down" in found[:2]
    )  # shares no word with the query
    assert not any("garlic" in t or "revenue" in t for t in found)
    assert search.status.text().endswith(f"{len(found)} result{'s' if len(found) != 1 else ''}")


def test_both_lists_exact_matches_first_then_meaning(qtbot, indexed, emulator):
    search, ids, _ = indexed
    search.set_mode("both")
    found = search_for(qtbot, search, "car")
    exact = [t for t in found if "(similar in meaning)" not in t]
    assert exact and found[: len(exact)] == exact  # every exact hit before every meaning hit
    assert any("My car broke down" in t for t in exact) and any("new car" in t for t in exact)
    assert any("purchased a large automobile" in t for t in found[len(exact) :])
    assert len(found) == len(set(found))
    sent = embedding_requests(emulator)[-1]
    assert sent.json["input"] == ["car"] and sent.json["dimensions"] == semantic.DEFAULT_DIMENSIONS


def test_matches_bold_and_the_rest_escaped():
    assert (
        snippet_html("a <b>tag</b> and [[car]] & [[cars]]", True)
        == "a &lt;b&gt;tag&lt;/b&gt; and <b>car</b> &amp; <b>cars</b>"
    )
    assert snippet_html("[[not markers]] <x>", False) == "[[not markers]] &lt;x&gt;"


def test_activating_a_result_opens_its_message(qtbot, indexed):
    search, ids, _ = indexed
    search.set_mode("exact")
    found = search_for(qtbot, search, "garlic")
    assert found == ["Dinner ideas — You: What should I cook with garlic and basil?"]
    expected = list(ids["What should I cook with garlic and basil?"])
    rect = search.results.visualItemRect(search.results.item(0))
    with qtbot.waitSignal(search.open_message, timeout=2000) as blocker:
        qtbot.mouseClick(search.results.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == expected

    search.set_mode("meaning")
    found = search_for(qtbot, search, "automobile trouble")
    row = next(i for i, text in enumerate(found) if text.endswith("My car broke down"))
    search.results.setFocus()
    search.results.setCurrentRow(row)
    with qtbot.waitSignal(search.open_message, timeout=2000) as blocker:
        qtbot.keyClick(search.results, Qt.Key.Key_Return)
    assert blocker.args == list(ids["My car broke down"])

    search.focus_search()
    assert search.query.hasFocus() and search.query.selectedText() == "automobile trouble"
    with qtbot.waitSignal(search.open_message, timeout=2000) as blocker:
        qtbot.keyClick(search.query, Qt.Key.Key_Return)  # Enter in the box opens the current result
    assert blocker.args == list(ids["My car broke down"])

    opened = []
    search.open_message.connect(lambda cid, mid: opened.append((cid, mid)))
    qtbot.keyClick(search.query, Qt.Key.Key_Down)  # from the box into the results
    assert search.results.hasFocus()
    at = search.results.visualItemRect(search.results.item(0)).center()
    viewport = search.results.viewport()
    # A real double-click: press, release, double-click, release: the result opens once, not two or three times.
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=at)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=at)
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=at)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=at)
    first = search.results.item(0).text()
    qtbot.wait(50)
    assert opened == [next(ids[t] for t in ids if first.endswith(t))]


def test_without_embeddings_deployment_meaning_is_off_and_says_why(qtbot, services, emulator):
    history = History.open()
    seed(history)
    use(services, TestConnection(emulator.endpoint, embeddings=""))
    indexer = SemanticIndexer(services, delay_ms=0)
    search = HistorySearch(services, indexer=indexer)
    qtbot.addWidget(search)
    for mode in ("meaning", "both"):
        assert not search.mode_buttons[mode].isEnabled()
        assert search.mode_buttons[mode].toolTip() == NO_DEPLOYMENT
    assert search.mode == "exact"
    assert "Meaning search needs an embeddings deployment — set it in" in search.status.text()
    assert search.status.isVisibleTo(search)
    with qtbot.waitSignal(services.open_settings, timeout=1000):
        search.status.linkActivated.emit("settings")
    assert search_for(qtbot, search, "car")  # exact search still works
    qtbot.wait(100)
    assert not indexer.running and embedding_requests(emulator) == []  # nothing to index with


def test_meaning_waits_for_the_index_then_turns_on(qtbot, services, emulator):
    history = History.open()
    seed(history)
    use(services, TestConnection(emulator.endpoint))
    search = HistorySearch(services)
    qtbot.addWidget(search)
    qtbot.waitUntil(lambda: search.meaning_reason == EMPTY_INDEX, timeout=5000)
    assert not search.mode_buttons["meaning"].isEnabled()
    assert search.mode_buttons["meaning"].toolTip() == EMPTY_INDEX
    indexer = SemanticIndexer(services, delay_ms=0)
    search.set_indexer(indexer)
    wait_indexed(qtbot, indexer)
    qtbot.waitUntil(lambda: search.meaning_reason is None, timeout=5000)
    assert search.mode_buttons["meaning"].isEnabled() and search.mode == "both"  # the remembered preference
    indexer.shutdown()
    search.shutdown()


def test_indexer_indexes_hundreds_with_progress_down_to_zero(qtbot, services, emulator):
    history = History.open()
    fill(history, 300)
    use(services, TestConnection(emulator.endpoint))
    indexer = SemanticIndexer(services, delay_ms=0, batch_size=32)
    status = IndexStatus(indexer)
    qtbot.addWidget(status)
    seen = []
    indexer.progress.connect(lambda indexed, remaining: seen.append((indexed, remaining)))
    texts = []
    indexer.status.connect(texts.append)
    wait_indexed(qtbot, indexer)
    assert seen[0] == (0, 300) and seen[-1] == (300, 0)
    assert [r for _, r in seen] == sorted((r for _, r in seen), reverse=True)
    assert "Indexing for meaning search: 268 left" in texts and texts[-1] == ""
    assert status.isHidden()
    key = semantic.model_key(MODEL, semantic.DEFAULT_DIMENSIONS)
    assert history.vector_count(key) == 300 and history.count_without_vectors(key) == 0
    sent = embedding_requests(emulator)
    assert len(sent) == 10 and all(len(r.json["input"]) <= 32 and r.json["dimensions"] == 256 for r in sent)

    # schedule() calls coalesce: a burst of saves gives one run and one request for the new messages.
    cid = history.create_conversation("More").id
    for i in range(3):
        history.add_message(cid, "user", f"Another thought number {i}")
        indexer.schedule()
        indexer.schedule()
    wait_indexed(qtbot, indexer)
    assert (
        len(embedding_requests(emulator)) == 11 and len(embedding_requests(emulator)[-1].json["input"]) == 3
    )
    indexer.shutdown()


def test_indexer_cancel_mid_request_then_resumes_where_it_stopped(qtbot, services, emulator):
    history = History.open()
    fill(history, 200)
    use(
        services,
        TestConnection(emulator.endpoint, hook=lambda n: {"x-parley-fault": "hang"} if n == 3 else {}),
    )
    indexer = SemanticIndexer(services, delay_ms=0, batch_size=25)
    qtbot.waitUntil(lambda: len(embedding_requests(emulator)) == 3, timeout=10000)
    started = time.monotonic()
    indexer.shutdown()  # the third request hangs: the cancel must close its socket
    assert time.monotonic() - started < 2.0
    qtbot.waitUntil(lambda: not indexer.running, timeout=1000)
    key = semantic.model_key(MODEL, semantic.DEFAULT_DIMENSIONS)
    assert history.count_without_vectors(key) == 150

    use(services, TestConnection(emulator.endpoint))  # e.g. the next start of the app
    again = SemanticIndexer(services, delay_ms=0, batch_size=25)
    wait_indexed(qtbot, again)
    assert history.count_without_vectors(key) == 0 and history.vector_count(key) == 200
    resumed = embedding_requests(emulator)[3:]
    assert sum(len(r.json["input"]) for r in resumed) == 150  # nothing embedded twice
    again.shutdown()


def test_indexer_survives_a_429(qtbot, services, emulator):
    history = History.open()
    fill(history, 100)
    use(services, TestConnection(emulator.endpoint, hook=lambda n: {"x-parley-fault": "429once"}))
    indexer = SemanticIndexer(services, delay_ms=0, batch_size=50)
    texts = []
    indexer.status.connect(texts.append)
    wait_indexed(qtbot, indexer)
    assert any("rate limited, retrying in" in t for t in texts)
    assert texts[-1] == "" and indexer.problem is None
    assert history.vector_count(semantic.model_key(MODEL, semantic.DEFAULT_DIMENSIONS)) == 100
    assert len(embedding_requests(emulator)) == 4  # each batch: a 429, then the retry
    indexer.shutdown()


def test_failure_is_one_status_and_rests_until_a_new_connection(qtbot, services, emulator):
    history = History.open()
    seed(history)
    use(services, TestConnection(emulator.endpoint, embeddings="no-such-deployment"))
    indexer = SemanticIndexer(services, delay_ms=0)
    status = IndexStatus(indexer)
    qtbot.addWidget(status)
    texts = []
    indexer.status.connect(texts.append)
    qtbot.waitUntil(lambda: indexer.problem is not None and not indexer.running, timeout=10000)
    assert texts[-1].startswith("Meaning search indexing stopped: Deployment not found")
    qtbot.waitUntil(lambda: not status.isHidden(), timeout=3000)
    assert status.text() == texts[-1]
    shown = len(texts)
    for _ in range(5):  # every saved message asks again
        indexer.schedule()
    qtbot.wait(300)
    assert len(embedding_requests(emulator)) == 1 and len(texts) == shown

    use(services, TestConnection(emulator.endpoint))  # fixed in Settings
    wait_indexed(qtbot, indexer)
    assert indexer.problem is None and texts[-1] == ""
    assert history.count_without_vectors(semantic.model_key(MODEL, semantic.DEFAULT_DIMENSIONS)) == 0
    indexer.shutdown()


def test_a_model_without_dimensions_is_indexed_at_full_size(qtbot, services, emulator):
    history = History.open()
    ids = seed(history)
    use(services, TestConnection(emulator.endpoint, embeddings="text-embedding-ada-002"))
    indexer = SemanticIndexer(services, delay_ms=0)
    search = HistorySearch(services, indexer=indexer)
    qtbot.addWidget(search)
    wait_indexed(qtbot, indexer)
    assert indexer.problem is None
    assert history.vector_count("text-embedding-ada-002:full") == len(ids)
    qtbot.waitUntil(lambda: search.meaning_reason is None, timeout=5000)
    search.set_mode("meaning")
    found = search_for(qtbot, search, "automobile trouble")
    assert found and ("car broke down" in found[0] or "automobile" in found[0])
    assert "dimensions" not in embedding_requests(emulator)[-1].json
    search.shutdown()
    indexer.shutdown()
