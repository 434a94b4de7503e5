"""The chat sidebar: each conversation with its title and a muted date in words, a "Pinned" section on top that
survives a restart (pinned from the keyboard too), and long titles elided instead of a horizontal scroll bar."""

from __future__ import annotations

from datetime import datetime

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMenu

from app.core.history import Conversation, History
from app.ui.chat.conversation_rows import when
from app.ui.chat.sidebar import ChatSidebar
from app.ui.chat.tab import ChatTab

# Wednesday 11 March 2026, 14:02 local time: every expectation below is in the machine's own time zone.
NOW = datetime(2026, 3, 11, 14, 2).timestamp()


def at(*parts: int) -> float:
    return datetime(*parts).timestamp()  # type: ignore[arg-type]


def test_dates_read_as_words_in_local_time():
    assert when(at(2026, 3, 11, 9, 5), NOW) == "09:05"
    assert when(at(2026, 3, 11, 0, 0), NOW) == "00:00"
    assert when(at(2026, 3, 10, 23, 59), NOW) == "Yesterday"
    assert when(at(2026, 3, 9, 8, 0), NOW) == "Mon"
    assert when(at(2026, 3, 5, 8, 0), NOW) == "Thu"  # six days ago: still "this week"
    assert when(at(2026, 3, 4, 8, 0), NOW) == "4 Mar"
    assert when(at(2026, 1, 1, 8, 0), NOW) == "1 Jan"
    assert when(at(2025, 11, 12, 8, 0), NOW) == "12 Nov 2025"


def conversation(cid: int, title: str, updated: float, pinned: bool = False) -> Conversation:
    return Conversation(cid, title, updated, updated, pinned, "", "", None)


def test_the_sidebar_shows_each_title_with_its_date_and_pinned_ones_first(qtbot):
    sidebar = ChatSidebar()
    qtbot.addWidget(sidebar)
    sidebar.now = lambda: NOW
    sidebar.show_conversations(
        [
            conversation(3, "Packing list", at(2026, 3, 2, 10, 0), pinned=True),
            conversation(2, "Today's question", at(2026, 3, 11, 13, 30)),
            conversation(1, "Old one", at(2024, 12, 24, 9, 0)),
        ],
        2,
    )
    assert sidebar.sections() == {"Pinned": ["Packing list"], "Recent": ["Today's question", "Old one"]}
    assert sidebar.dates() == ["2 Mar", "13:30", "24 Dec 2024"]
    row = sidebar.list.currentItem()
    assert row.text() == "Today's question" and "Last message 13:30" in row.toolTip()
    assert row.data(Qt.ItemDataRole.AccessibleTextRole) == "Today's question, 13:30"
    # Section headers are not conversations: the arrows skip them.
    sidebar.list.setFocus()
    qtbot.keyClick(sidebar.list, Qt.Key.Key_Up)
    assert sidebar.list.currentItem().text() == "Packing list"
    qtbot.keyClick(sidebar.list, Qt.Key.Key_Up)
    assert sidebar.list.currentItem().text() == "Packing list"
    qtbot.keyClick(sidebar.list, Qt.Key.Key_Down)
    assert sidebar.list.currentItem().text() == "Today's question"
    sidebar.show_conversations([conversation(2, "Only", NOW)], None)
    assert (
        sidebar.sections() == {"Pinned": [], "Recent": ["Only"]} and sidebar.list.count() == 1
    )  # no headers


def make_tab(qtbot, services, size=(1000, 700)) -> ChatTab:
    tab = ChatTab(services)
    qtbot.addWidget(tab)
    tab.resize(*size)
    tab.show()
    qtbot.waitUntil(lambda: tab.history is not None and len(tab.sidebar.conversations) >= 2, timeout=10000)
    return tab


# A popup menu grabs the keyboard and raises itself: the offscreen platform says it cannot.
@pytest.mark.qt_log_ignore("This plugin does not support (grabbing the keyboard|raise)")
def test_pinning_from_the_keyboard_moves_a_chat_into_pinned_and_survives_a_restart(qtbot, services):
    history = History.open()
    older = history.create_conversation("Trip to Lisbon")
    history.create_conversation("Groceries")
    first = make_tab(qtbot, services)
    assert first.sidebar.sections() == {"Pinned": [], "Recent": ["Groceries", "Trip to Lisbon"]}
    first.sidebar.select(older.id)
    first.sidebar.list.setFocus()
    qtbot.keyClick(first.sidebar.list, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    pinned = {"Pinned": ["Trip to Lisbon"], "Recent": ["Groceries"]}
    qtbot.waitUntil(lambda: first.sidebar.sections() == pinned, timeout=5000)
    first.shutdown()
    second = make_tab(qtbot, services)  # history opened again, as after a restart
    assert second.sidebar.sections() == pinned
    # The menu key opens the selected conversation's menu, which offers Unpin.
    second.sidebar.select(older.id)
    second.sidebar.list.setFocus()
    qtbot.keyClick(second.sidebar.list, Qt.Key.Key_Menu)
    qtbot.waitUntil(
        lambda: any(isinstance(w, QMenu) and w.isVisible() for w in QApplication.topLevelWidgets())
    )
    menu = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu) and w.isVisible())
    unpin = next(a for a in menu.actions() if a.text() == "Unpin")
    menu.close()
    unpin.trigger()
    qtbot.waitUntil(
        lambda: second.sidebar.sections() == {"Pinned": [], "Recent": ["Groceries", "Trip to Lisbon"]},
        timeout=5000,
    )
    second.shutdown()


def test_a_long_title_is_elided_without_a_horizontal_scroll_bar_at_800_px(qtbot, services):
    history = History.open()
    history.create_conversation("A very long conversation title " * 6)
    history.create_conversation("Short")
    tab = make_tab(qtbot, services, size=(800, 500))
    qtbot.wait(50)
    bar = tab.sidebar.list.horizontalScrollBar()
    assert not bar.isVisible() and bar.maximum() == 0
    viewport = tab.sidebar.list.viewport().width()
    for row in range(tab.sidebar.list.count()):
        assert tab.sidebar.list.visualItemRect(tab.sidebar.list.item(row)).right() <= viewport
    tab.shutdown()


def test_an_empty_list_says_what_will_be_listed_and_only_while_empty(qtbot, monkeypatch):
    from app.ui.chat.sidebar import ConversationList

    sidebar = ChatSidebar()
    qtbot.addWidget(sidebar)
    sidebar.now = lambda: NOW
    sidebar.resize(260, 400)
    sidebar.show()
    qtbot.waitExposed(sidebar)

    def shot(conversations: list[Conversation], empty_text: str):
        monkeypatch.setattr(ConversationList, "EMPTY", empty_text)
        sidebar.show_conversations(conversations, None)
        return sidebar.list.viewport().grab().toImage()

    assert shot([], ConversationList.EMPTY) != shot([], "")  # the guidance is drawn in the empty list
    one = [conversation(1, "First question", at(2026, 3, 11, 9, 5))]
    assert shot(one, "No chats yet.") == shot(one, "")  # and not under a conversation
    assert sidebar.list.focusPolicy() & Qt.FocusPolicy.TabFocus  # still reached with Tab while empty


def test_the_search_status_takes_no_room_while_it_has_nothing_to_say(qtbot, services):
    from app.ui.chat.search import HistorySearch

    search = HistorySearch(services)
    qtbot.addWidget(search)
    search.show()
    qtbot.waitExposed(search)
    assert search.status.text() == "" and not search.status.isVisible()  # no blank line above the list
    # (shown once it says something: test_history_search's "meaning is off and says why")
