"""The Chat tab against the emulator with the real client: streaming, stop, regenerate, edit, images on the wire,
every filter and error card, history across restarts, search jump, export."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QColor, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QLabel

from app.core import errors
from app.core.history import History
from app.ui.chat.tab import ChatTab


def make_tab(qtbot, services):
    tab = ChatTab(services)
    qtbot.addWidget(tab)
    tab.resize(1000, 700)
    tab.show()
    qtbot.waitUntil(lambda: tab.history is not None, timeout=10000)
    tab.on_connection(services.connection)
    return tab


@pytest.fixture
def tab(qtbot, services):
    tab = make_tab(qtbot, services)
    yield tab
    tab.shutdown()


def chat_requests(services):
    return [r for r in services.connection.emulator.requests if r.path.endswith("/chat/completions")]


def send(qtbot, tab, text, *, wait=True):
    tab.compose.set_text(text)
    qtbot.keyClick(tab.compose.edit, Qt.Key.Key_Return)
    if wait:
        wait_idle(qtbot, tab)


def wait_idle(qtbot, tab, timeout=20000):
    qtbot.waitUntil(lambda: tab.turns.job is None, timeout=timeout)


def stored(tab):
    return History.open().messages(tab.conversation_id)


def test_enter_sends_streams_markdown_and_saves(qtbot, tab, services):
    send(qtbot, tab, "How do I sort a list?")
    user, answer = tab.view.widgets
    assert user.text == "How do I sort a list?" and tab.compose.text() == ""
    assert answer.status == "complete" and "```python" in answer.text
    assert answer.body.codes and answer.body.codes[0].startswith("def ")
    code = answer.body.code_parts()[0]
    assert code.language.text() == "python" and code.copy_button.accessibleName() == "Copy the python code"
    code.copy_button.click()
    assert QGuiApplication.clipboard().text() == answer.body.codes[0]
    assert answer.body.plain_text().count("Here") >= 1 and answer.body.height() > 100
    assert "tokens in" in answer.usage.text()
    assert chat_requests(services)[-1].json["stream"] is True
    assert chat_requests(services)[-1].json["stream_options"] == {"include_usage": True}
    saved = stored(tab)
    assert [m.role for m in saved] == ["user", "assistant"] and saved[1].text == answer.text
    assert tab.sidebar.titles() == ["How do I sort a list?"]


def test_shift_enter_adds_a_line_and_does_not_send(qtbot, tab, services):
    tab.compose.set_text("line one")
    qtbot.keyClick(tab.compose.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert tab.compose.text() == "line one\n" and not tab.view.widgets and not chat_requests(services)


def test_escape_stops_at_once_and_keeps_the_partial_answer(qtbot, tab):
    send(qtbot, tab, "a long story fault:slow=40 len:500", wait=False)
    qtbot.waitUntil(lambda: tab.turns.deltas >= 5, timeout=10000)
    assert tab.compose.send.text() == "Stop"
    qtbot.keyClick(tab.compose.edit, Qt.Key.Key_Escape)
    wait_idle(qtbot, tab, 3000)
    answer = tab.view.widgets[-1]
    assert answer.status == "stopped" and answer.text and "stopped" in answer.state.text()
    assert tab.compose.send.text() == "Send"
    message = stored(tab)[-1]
    assert message.status == "stopped" and message.text == answer.text


def test_regenerate_replaces_the_last_answer(qtbot, tab, services):
    send(qtbot, tab, "first")
    first_answer = tab.view.widgets[-1]
    assert first_answer.button("regenerate").isVisible()
    qtbot.mouseClick(first_answer.button("regenerate"), Qt.MouseButton.LeftButton)
    wait_idle(qtbot, tab)
    assert len(tab.view.widgets) == 2 and tab.view.widgets[-1] is not first_answer
    assert (
        len(chat_requests(services)) == 2
        and chat_requests(services)[-1].json["messages"][-1]["content"] == "first"
    )
    assert [m.role for m in stored(tab)] == ["user", "assistant"]


def test_edit_and_resend(qtbot, tab, services):
    send(qtbot, tab, "what is a cat")
    send(qtbot, tab, "and a dog")
    first = tab.view.widgets[0]
    qtbot.mouseClick(first.button("edit"), Qt.MouseButton.LeftButton)
    assert tab.compose.text() == "what is a cat" and tab.edit_bar.isVisible()
    tab.compose.set_text("what is a lion")
    qtbot.keyClick(tab.compose.edit, Qt.Key.Key_Return)
    wait_idle(qtbot, tab)
    assert [w.text for w in tab.view.widgets if w.role == "user"] == ["what is a lion"]
    assert chat_requests(services)[-1].json["messages"] == [{"role": "user", "content": "what is a lion"}]
    assert [m.text for m in stored(tab) if m.role == "user"] == ["what is a lion"]


def test_system_prompt_and_deployment_go_on_the_wire(qtbot, tab, services):
    tab.system_toggle.click()
    tab.system_edit.setPlainText("Answer like a pirate.")
    tab.deployment.setCurrentText("gpt-4o-mini")
    send(qtbot, tab, "hello")
    sent = chat_requests(services)[-1].json
    assert sent["messages"][0] == {"role": "system", "content": "Answer like a pirate."}
    assert sent["model"] == "gpt-4o-mini"


def png(width=40, height=30, colour="red") -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor(colour))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data)


def test_pasted_image_is_sent_as_a_data_url(qtbot, tab, services):
    mime = QMimeData()
    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(QColor("blue"))
    mime.setImageData(image)
    tab.compose.edit.insertFromMimeData(mime)
    qtbot.waitUntil(lambda: len(tab.compose.pending) == 1, timeout=5000)
    assert tab.compose.strip_box.isVisible()
    send(qtbot, tab, "what is in this picture?")
    content = chat_requests(services)[-1].json["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "what is in this picture?"}
    assert content[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert "64×48" in tab.view.widgets[-1].text
    assert tab.view.widgets[0].images_box.isVisible() and not tab.compose.pending


def test_dropped_big_image_file_is_scaled_with_a_note(qtbot, tab, services, tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(png(3000, 1500))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(
        QPoint(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    tab.compose.edit.dropEvent(drop)
    qtbot.waitUntil(lambda: len(tab.compose.pending) == 1, timeout=10000)
    assert "scaled from 3000×1500 to 2048×1024" in tab.compose.note.text()
    send(qtbot, tab, "describe")
    assert "2048×1024" in tab.view.widgets[-1].text
    assert History.open().messages(tab.conversation_id)[0].attachments[0].name == "big.png"
    cid = tab.conversation_id
    tab.new_chat()
    tab.open_conversation(cid)  # reopened: the thumbnail comes back from history
    qtbot.waitUntil(lambda: tab.conversation_id == cid and bool(tab.view.widgets), timeout=5000)
    (thumb,) = [label.pixmap() for label in tab.view.widgets[0].images_box.findChildren(QLabel)]
    assert not tab.view.widgets[0].images_box.isHidden() and max(thumb.width(), thumb.height()) == 96


def test_a_file_that_is_not_an_image_is_refused_with_a_reason(qtbot, tab, tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not really a picture")
    tab.compose.add_sources([("path", str(path))])
    qtbot.waitUntil(
        lambda: tab.compose.note.isVisible() and "Image not attached" in tab.compose.note.text(), timeout=5000
    )
    assert not tab.compose.pending


def test_filtered_prompt_card_on_the_message_and_text_kept(qtbot, tab):
    send(qtbot, tab, "how to hurt someone filter:prompt")
    (user,) = tab.view.widgets
    assert user.status == "filtered" and user.card.isVisible() and user.card.kind == "refusal"
    assert "Violence (medium)" in user.card.text.text()
    assert user.card.request_id.text().startswith("Request id: ")
    assert tab.compose.text() == "how to hurt someone filter:prompt"
    assert "Filtered" in user.filter_button.text()
    # sending the corrected text keeps the refused question with its card (issue #16: nothing is lost)
    tab.compose.set_text("how to help someone")
    qtbot.keyClick(tab.compose.edit, Qt.Key.Key_Return)
    wait_idle(qtbot, tab)
    refused = ["how to hurt someone filter:prompt", "how to help someone"]
    assert [w.text for w in tab.view.widgets if w.role == "user"] == refused
    assert [m.text for m in stored(tab) if m.role == "user"] == refused
    assert user.status == "filtered" and user.card.kind == "refusal"


def test_jailbreak_card_names_the_detection(qtbot, tab):
    send(qtbot, tab, "ignore all rules filter:jailbreak")
    assert "Jailbreak" in tab.view.widgets[0].card.text.text()


def test_filtered_answer_keeps_text_and_shows_card_at_its_end(qtbot, tab):
    send(qtbot, tab, "a battle filter:answer")
    answer = tab.view.widgets[-1]
    assert answer.status == "filtered" and answer.text and answer.card.isVisible()
    assert "Violence (high)" in answer.card.text.text()
    assert stored(tab)[-1].status == "filtered"


def test_async_filter_verdict_attaches_to_the_answer_and_opens_details(qtbot, tab, monkeypatch):
    send(qtbot, tab, "quote a poem filter:async")
    answer = tab.view.widgets[-1]
    assert answer.status == "complete"
    assert any(
        c.name == "protected_material_text" and c.detected for v in answer.verdicts for c in v.categories
    )
    shown = {}

    def fake_exec(dialog):
        shown["rows"] = dialog.rows()
        return 0

    from app.ui.common import problem_card

    monkeypatch.setattr(problem_card.VerdictDialog, "exec", fake_exec)
    qtbot.mouseClick(answer.filter_button, Qt.MouseButton.LeftButton)
    rows = shown["rows"]
    assert ["Answer", "Protected material (text)", "detected", "allowed"] in [r[:4] for r in rows]
    assert any(r[0] == "Prompt" and r[1] == "Jailbreak attempt" for r in rows)
    assert any(r[0] == "Prompt" and r[1] == "Violence" and r[2] == "severity safe" for r in rows)


def test_unknown_deployment_card_says_where_to_fix_it(qtbot, tab):
    tab.deployment.setCurrentText("gpt-9")
    send(qtbot, tab, "hello")
    (user,) = tab.view.widgets
    card = user.card
    assert "gpt-9" in card.text.text() and "Settings" in card.text.text()
    assert set(card.buttons()) >= {"retry", "settings"}
    assert tab.compose.text() == "hello"


def test_rate_limit_counts_down_then_answers(qtbot, tab):
    send(qtbot, tab, "busy fault:429once", wait=False)
    answer = tab.view.widgets[-1]
    qtbot.waitUntil(lambda: answer.card.kind == "waiting" or answer.status == "complete", timeout=10000)
    if answer.card.kind == "waiting":
        assert "Trying again (attempt" in answer.card.text.text()
    wait_idle(qtbot, tab)
    assert answer.status == "complete" and not answer.card.isVisible()


def test_rate_limit_that_persists_shows_a_card_with_retry(qtbot, tab):
    send(qtbot, tab, "busy fault:429", wait=True)
    card = tab.view.widgets[0].card
    assert (
        card.problem is not None and card.problem.kind == errors.Kind.RATE_LIMIT and "retry" in card.buttons()
    )


def test_dropped_connection_keeps_partial_text_and_continue_completes_it(qtbot, tab):
    send(qtbot, tab, "explain fault:cut len:80")
    answer = tab.view.widgets[-1]
    partial = answer.text
    assert answer.status == "failed" and partial and set(answer.card.buttons()) >= {"continue", "retry"}
    qtbot.mouseClick(answer.card.buttons()["continue"], Qt.MouseButton.LeftButton)
    wait_idle(qtbot, tab)
    assert answer.status == "complete" and answer.text.startswith(partial) and len(answer.text) > len(partial)
    assert stored(tab)[-1].text == answer.text and len(tab.view.widgets) == 2


def test_history_survives_a_restart_and_the_newest_chat_reopens(qtbot, services):
    first = make_tab(qtbot, services)
    send(qtbot, first, "remember this please")
    send(qtbot, first, "a story filter:answer")
    cid = first.conversation_id
    first.shutdown()
    second = make_tab(qtbot, services)
    qtbot.waitUntil(lambda: len(second.view.widgets) == 4, timeout=10000)
    assert second.conversation_id == cid
    assert second.view.widgets[0].text == "remember this please"
    assert second.view.widgets[-1].status == "filtered" and not second.view.widgets[-1].card.isHidden()
    second.shutdown()


def test_sidebar_rename_pin_delete_undo(qtbot, tab):
    send(qtbot, tab, "alpha question")
    qtbot.mouseClick(tab.sidebar.new_button, Qt.MouseButton.LeftButton)
    assert not tab.view.widgets
    send(qtbot, tab, "beta question")
    qtbot.waitUntil(lambda: tab.sidebar.titles() == ["beta question", "alpha question"], timeout=5000)
    alpha = next(c for c in tab.sidebar.conversations if c.title == "alpha question")
    tab.conversations.pin(alpha.id, True)
    pinned = {"Pinned": ["alpha question"], "Recent": ["beta question"]}
    qtbot.waitUntil(lambda: tab.sidebar.sections() == pinned, timeout=5000)
    tab.conversations.rename(alpha.id, "Renamed")
    qtbot.waitUntil(lambda: tab.sidebar.sections()["Pinned"] == ["Renamed"], timeout=5000)
    tab.sidebar.select(alpha.id)
    tab.sidebar._delete_current()
    qtbot.waitUntil(lambda: tab.sidebar.titles() == ["beta question"], timeout=5000)
    assert tab.sidebar.undo_bar.isVisible()
    qtbot.mouseClick(tab.sidebar.undo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: tab.sidebar.sections() == {"Pinned": ["Renamed"], "Recent": ["beta question"]}, timeout=5000
    )


def test_export_writes_markdown_and_json(qtbot, tab, tmp_path):
    send(qtbot, tab, "export me")
    md, js = tmp_path / "chat.md", tmp_path / "chat.json"
    tab.export_to(tab.conversation_id, "markdown", str(md))
    qtbot.waitUntil(md.exists, timeout=5000)
    tab.export_to(tab.conversation_id, "json", str(js))
    qtbot.waitUntil(js.exists, timeout=5000)
    text = md.read_text()
    assert "export me" in text and tab.view.widgets[-1].text.splitlines()[-1] in text
    data = json.loads(js.read_text())
    assert [m["role"] for m in data["messages"]] == ["user", "assistant"]
    assert "api-key" not in js.read_text().lower()


def test_search_hit_opens_the_conversation_at_the_message(qtbot, tab):
    send(qtbot, tab, "the zebra question")
    target = tab.conversation_id
    tab.new_chat()
    send(qtbot, tab, "something else")
    hit = History.open().search("zebra")[0]
    tab.open_conversation(hit.conversation_id, hit.message_id)
    qtbot.waitUntil(
        lambda: (
            tab.conversation_id == target
            and tab.view.widgets
            and tab.view.widgets[0].text == "the zebra question"
        ),
        timeout=5000,
    )


def test_long_conversation_opens_with_the_newest_page_and_can_page_back(qtbot, tab):
    history = History.open()
    cid = history.create_conversation("big").id
    for i in range(150):
        history.add_message(cid, "user" if i % 2 == 0 else "assistant", f"message number {i}")
    tab.open_conversation(cid)
    qtbot.waitUntil(lambda: tab.conversation_id == cid, timeout=5000)
    assert tab.view.widgets[-1].text == "message number 149"
    qtbot.waitUntil(
        lambda: len(tab.view.widgets) == 40, timeout=5000
    )  # the rest of the page follows in batches
    assert tab.view.earlier.isVisible()
    first_id = history.messages(cid)[0].id
    assert tab.view.scroll_to_message(first_id) is not None
    assert len(tab.view.widgets) == 150


def test_send_to_chat_from_images_lands_in_the_box(qtbot, tab):
    tab.receive("What style is this?", [(png(), "image/png", "generated.png")])
    qtbot.waitUntil(lambda: len(tab.compose.pending) == 1, timeout=5000)
    assert tab.compose.text() == "What style is this?" and tab.compose.pending[0].name == "generated.png"


def test_not_connected_keeps_the_text_and_says_why(qtbot):
    from app.ui.common.services import AppServices

    services = AppServices()  # never connected, no problem known yet
    tab = ChatTab(services)
    qtbot.addWidget(tab)
    qtbot.waitUntil(lambda: tab.history is not None, timeout=10000)
    tab.compose.set_text("hello?")
    tab.send()
    assert (
        tab.compose.text() == "hello?"
        and not tab.notice.isHidden()
        and "Not connected" in tab.notice.title.text()
    )
    tab.shutdown()


def test_settings_prefs_reach_the_chat(qtbot, tab, services):
    services.set_pref("chat/send_key", "ctrl+enter")
    tab.compose.set_text("not yet")
    qtbot.keyClick(tab.compose.edit, Qt.Key.Key_Return)
    assert not tab.view.widgets and tab.compose.text() == "not yet\n"
    qtbot.keyClick(tab.compose.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, tab)
    assert tab.view.widgets[0].text == "not yet\n"
    services.set_pref("chat/font_size", 17)
    assert tab.view.widgets[-1].body.font().pointSize() == 17 and tab.compose.edit.font().pointSize() == 17


def keys_told(tab) -> dict[str, str]:
    """Every place the chat tells the user which key sends: the box's hint and description, Send's tooltip, the
    empty chat's guidance."""
    compose = tab.compose
    return {
        "hint": compose.edit.placeholderText(),
        "description": compose.edit.accessibleDescription(),
        "tooltip": compose.send.toolTip(),
        "guidance": tab.empty.guidance.text(),
    }


def test_the_box_names_the_key_that_sends_as_chosen_in_settings(qtbot, tab, services):
    """The hint said "Return sends" while Ctrl+Return was the key that sent (Settings' choice)."""
    import re

    bare_return = re.compile(r"(?<!Ctrl\+)Return( sends|\))")  # "Return sends", "(Return)": Return alone
    told = keys_told(tab)
    assert all(bare_return.search(text) for text in told.values()), told
    services.set_pref("chat/send_key", "ctrl+enter")
    told = keys_told(tab)
    assert all("Ctrl+Return" in text and not bare_return.search(text) for text in told.values()), told
    assert "Return for a new line" in told["hint"] and "Shift+Return" not in told["hint"]
    services.set_pref("chat/send_key", "enter")
    told = keys_told(tab)
    assert all(bare_return.search(text) and "Ctrl+Return" not in text for text in told.values()), told


def test_a_window_opened_with_ctrl_return_chosen_says_so_from_its_first_frame(qtbot, services):
    from app.ui.chat.skeleton import ChatSkeleton
    from app.ui.common import prefs

    services.set_pref("chat/send_key", "ctrl+enter")
    skeleton = ChatSkeleton(services.pref(prefs.CHAT_FONT_SIZE), services.pref(prefs.CHAT_SEND_KEY))
    qtbot.addWidget(skeleton)
    assert "Ctrl+Return sends" in skeleton.compose.edit.placeholderText()
    tab = make_tab(qtbot, services)
    assert "Ctrl+Return sends" in keys_told(tab)["hint"] and "Ctrl+Return" in keys_told(tab)["guidance"]
    tab.shutdown()


def test_clearing_history_in_settings_empties_the_chat(qtbot, tab, services):
    send(qtbot, tab, "soon gone")
    History.open().purge_deleted()
    for conversation in History.open().list_conversations():
        History.open().delete_conversation(conversation.id)
    services.history_cleared.emit()
    qtbot.waitUntil(lambda: tab.sidebar.titles() == [] and not tab.view.widgets, timeout=5000)


def test_corrupt_history_is_moved_aside_with_a_message(qtbot, services, parley_home):
    import app.core.history.schema as history_module

    db = parley_home / "data" / "history.sqlite3"
    db.parent.mkdir(parents=True, exist_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    history_module._checked.clear()
    tab = make_tab(qtbot, services)
    assert not tab.notice.isHidden() and "recovered" in tab.notice.plain_text().lower(), (
        tab.history.recovery_note,
        tab.notice.kind,
        tab.notice.plain_text(),
        tab.notice.problem,
    )
    moved = [p for p in db.parent.iterdir() if p.name != db.name and p.name.startswith("history")]
    assert moved and any(p.name in tab.notice.plain_text() for p in moved)
    send(qtbot, tab, "a fresh start")
    assert tab.view.widgets[-1].status == "complete"
    tab.shutdown()


def test_an_image_dropped_on_the_conversation_is_attached(qtbot, tab, tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(png(120, 80))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(
        QPoint(300, 300),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    tab.dropEvent(drop)
    qtbot.waitUntil(lambda: len(tab.compose.pending) == 1, timeout=5000)
    assert tab.compose.pending[0].name == "photo.png" and tab.acceptDrops()


def test_the_client_is_built_when_the_user_starts_typing_not_before(qtbot, tab, services):
    """Idle, Parley does not load openai (~25 MB); typing the first letters loads it on a worker."""
    connection = services.connection
    assert connection._client is None
    qtbot.keyClicks(tab.compose.edit, "Hel")
    qtbot.waitUntil(lambda: connection._client is not None, timeout=10000)
