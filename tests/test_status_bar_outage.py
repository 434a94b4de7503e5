"""Status bar after an outage (#17): the failure reads whole (elided with the full text in its tooltip, never run
into the connection label), the connection label stops saying Connected while Azure cannot be reached, and both
recover by themselves once Azure answers again."""

from __future__ import annotations

import pytest

from app.core import errors
from app.core.events import Failed
from app.ui.common.services import AppServices
from app.ui.main_window import MainWindow

OUTAGE = errors.Problem(
    errors.Kind.NETWORK,
    "Cannot reach Azure OpenAI",
    "The connection to contoso.openai.azure.com failed (name or service not known).",
    "Check your network connection and the endpoint in Settings, then try again.",
)


@pytest.fixture
def window(qtbot):
    services = AppServices(demo=True)
    win = MainWindow(services)
    qtbot.addWidget(win)
    win.resize(800, 500)
    with qtbot.waitSignal(win.settled, timeout=10000):
        win.show()
    with qtbot.waitSignal(services.connection_changed, timeout=30000):
        services.reconnect()
    qtbot.waitUntil(lambda: not win.indexer.running and not win.indexer._timer.isActive(), timeout=30000)
    qtbot.wait(200)
    qtbot.waitUntil(lambda: not win.indexer.running and not win.indexer._timer.isActive(), timeout=30000)
    yield win
    win.close()


def _index_status(win):
    from app.ui.chat.indexer import IndexStatus

    return win.statusBar().findChild(IndexStatus)


def test_an_outage_reads_whole_and_the_label_stops_saying_connected(qtbot, window):
    window.indexer.failure_pause_ms = 60_000
    window.indexer._on_event(Failed(OUTAGE))  # what the indexing job yields when Azure cannot be reached
    status = _index_status(window)
    qtbot.waitUntil(status.isVisible, timeout=5000)
    shown = status.shown_text()
    assert status.fontMetrics().horizontalAdvance(shown) <= status.contentsRect().width() + 1, "cut off"
    assert shown.endswith("…") or "Check your network" in shown
    assert "Cannot reach Azure OpenAI" in shown and "Check your network" in status.toolTip()
    # Never runs into the connection label: the two do not overlap.
    assert (
        status.geometry().right() < window.profile_label.geometry().left()
        or not status.geometry().intersects(window.profile_label.geometry())
    )
    assert not window.profile_label.text().startswith("Connected")
    assert "reach" in window.profile_label.text().lower()


def test_the_outage_message_goes_once_azure_answers_again(qtbot, window):
    window.indexer.failure_pause_ms = 1500  # the real pause is a minute
    window.indexer._on_event(Failed(OUTAGE))
    status = _index_status(window)
    assert window.profile_label.text() == "Azure not reachable"
    qtbot.waitUntil(status.isVisible, timeout=5000)
    # Nobody calls schedule() (no chat turn): the indexer tries again by itself, the emulator answers.
    qtbot.waitUntil(lambda: status.isHidden(), timeout=15000)
    assert window.indexer.problem is None
    assert window.profile_label.text() == "Connected"


def test_a_chat_turn_that_cannot_reach_azure_turns_the_label_at_once(qtbot, window):
    """The label went on saying Connected after a chat turn failed with 'connection refused', until the indexer
    happened to fail too (~2 s later): the turn's own outcome now counts, and an answer that gets through again
    restores it."""

    window.indexer.failure_pause_ms = 60_000
    window.indexer.shutdown()  # only the chat turn talks to Azure here
    chat = window.tab("chat")
    qtbot.waitUntil(lambda: chat.history is not None, timeout=10000)
    connection = window.services.connection
    connection.emulator.stop()
    chat.compose.set_text("Are you there?")
    chat.send()
    qtbot.waitUntil(lambda: chat.turns.job is None, timeout=60000)
    assert chat.view.widgets[-1].card.isVisible()  # the question shows why it got no answer
    assert window.profile_label.text() == "Azure not reachable"
    assert (
        "Cannot reach" in window.profile_label.toolTip()
        or "connect" in window.profile_label.toolTip().lower()
    )
    window.services.report_reach(None)  # what the next answer that gets through reports
    assert window.profile_label.text() == "Connected"
