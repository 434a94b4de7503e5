"""The window a user first sees: tabs by keyboard, the demo banner, the status bar, and remembered size and tab."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.ui.common.services import AppServices
from app.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot):
    services = AppServices(demo=True)
    win = MainWindow(services)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.settled, timeout=10000):  # the status bar's switcher is built then
        win.show()
    yield win
    win.close()


def test_demo_mode_shows_banner_and_status(qtbot, window):
    with qtbot.waitSignal(window.services.connection_changed, timeout=15000):
        window.services.reconnect()
    assert window.banner.isVisible()
    assert "Demo mode" in window.banner.label.text()
    assert window.profile_label.text() == "Connected" and "emulator" in window.profile_label.toolTip()
    assert window.profile_switcher.currentText() == "Demo (built-in emulator)"
    assert window.services.connection.profile.deployments.chat == "gpt-5-mini"  # today's lineup (#14)


def test_banner_button_opens_settings(qtbot, window):
    with qtbot.waitSignal(window.services.connection_changed, timeout=15000):
        window.services.reconnect()
    window.select_tab("chat")
    qtbot.mouseClick(window.banner.button, Qt.MouseButton.LeftButton)
    assert window.current_tab_name() == "settings"


def test_tabs_reachable_by_keyboard(qtbot, window):
    for i, name in enumerate(("chat", "voice", "images", "completions", "jobs", "settings"), start=1):
        qtbot.keyClick(window, Qt.Key.Key_0 + i, Qt.KeyboardModifier.ControlModifier)
        assert window.current_tab_name() == name
    assert window.tabs.accessibleName()


def test_connection_failure_is_shown_in_words(qtbot, window):
    # A saved key profile whose key is not in the keyring: the banner says so; nothing crashes or blocks.
    from app.core.profiles import Deployments, Profile, ProfileStore

    store = ProfileStore.load()
    store.upsert(
        Profile(
            name="work", endpoint="https://contoso.openai.azure.com", deployments=Deployments(chat="gpt-4o")
        )
    )
    store.save()
    window.services.demo_requested = False
    with qtbot.waitSignal(window.services.connection_failed, timeout=15000) as blocker:
        window.services.reconnect("work")
    problem = blocker.args[0]
    assert window.banner.isVisible() and window.banner.property("kind") == "problem"
    assert problem.title in window.banner.label.text()
    assert "Traceback" not in window.banner.label.text()
    assert window.profile_label.text() == "Not connected"


def work_profile_without_its_key() -> None:
    from app.core.profiles import Deployments, Profile, ProfileStore

    store = ProfileStore.load()
    store.upsert(
        Profile(
            name="work", endpoint="https://contoso.openai.azure.com", deployments=Deployments(chat="gpt-4o")
        )
    )
    store.save()


@pytest.mark.parametrize("questions", [1, 2])
def test_a_question_asked_from_outside_is_in_the_box_when_parley_cannot_connect(qtbot, window, questions):
    """`parley --send TEXT` (or a second launch handing TEXT over) while the connection fails: the question is in
    the chat box with why it was not sent, never waiting out of sight (it was lost when Parley was closed)."""
    work_profile_without_its_key()
    window.services.demo_requested = False
    asked = ["keep this question", "and this one"][:questions]
    for text in asked:
        window.ask(text)
    chat = window.tab("chat")
    with qtbot.waitSignal(window.services.connection_failed, timeout=15000) as blocker:
        window.services.reconnect("work")
    # All of them, in the order asked (one waiting out of sight would go out by itself once connected, first).
    qtbot.waitUntil(lambda: chat.compose.text() == "\n\n".join(asked), timeout=5000)
    assert window.current_tab_name() == "chat"
    assert chat.notice.isVisible() and blocker.args[0].title in chat.notice.plain_text()
    assert not chat.view.widgets  # nothing was sent


def test_a_question_asked_while_parley_tries_again_waits_for_that_attempt(qtbot, window):
    """After a failed connection the user retries (Settings, the status bar): a question asked meanwhile waits for
    that attempt instead of landing in the box beside the old failure."""
    work_profile_without_its_key()
    window.services.demo_requested = False
    chat = window.tab("chat")
    with qtbot.waitSignal(window.services.connection_failed, timeout=15000):
        window.services.reconnect("work")
    with qtbot.waitSignal(window.services.connection_changed, timeout=30000):
        window.services.reconnect(demo=True)
        window.ask("sent once connected")
        assert chat.compose.text() == ""
    qtbot.waitUntil(
        lambda: [w.text for w in chat.view.widgets if w.role == "user"] == ["sent once connected"]
    )
    assert chat.compose.text() == ""


def test_remembers_size_and_tab(qtbot, parley_home):
    services = AppServices(demo=True)
    win = MainWindow(services)
    qtbot.addWidget(win)
    win.show()
    win.resize(720, 540)  # the offscreen screen is 800x600
    win.select_tab("images")
    win.close()

    services2 = AppServices(demo=True)
    win2 = MainWindow(services2)
    qtbot.addWidget(win2)
    win2.show()
    assert win2.current_tab_name() == "images"
    assert (win2.width(), win2.height()) == (720, 540)
    win2.close()


def test_every_tab_keeps_the_tab_contract_and_hears_of_the_connection(qtbot, window):
    """Each tab is a `Tab` (public on_connection and shutdown); one built after connecting still learns of it."""
    from app.ui.common.tab import Tab
    from app.ui.main_window import TABS

    with qtbot.waitSignal(window.services.connection_changed, timeout=15000):
        window.services.reconnect()
    for name, *_ in TABS:
        assert isinstance(window.tab(name), Tab), name
    assert window.tab("completions").deployment.text() == "gpt-35-turbo-instruct"
