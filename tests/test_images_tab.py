"""The Images tab against the emulator with the real client, on the seed's DALL-E 3 deployment (demo mode's own
default is gpt-image-1: test_images_tab_gpt.py and test_demo_lineup.py): options on the wire, files on disk, revised
prompt, refusal card, gallery persistence, delete/undo, send to chat, cancel."""

from __future__ import annotations

import struct

import pytest
from PySide6.QtCore import Qt

from app.ui.images.tab import ImagesTab


@pytest.fixture
def tab(qtbot, services):
    tab = ImagesTab(services)
    qtbot.addWidget(tab)
    with qtbot.waitSignal(tab.gallery.loaded, timeout=10000):
        tab.show()
    choose_dalle(tab)
    yield tab
    tab.shutdown()


def choose_dalle(tab):
    """The seed's DALL-E 3 deployment, which the emulator still serves (demo mode defaults to gpt-image-1)."""
    tab.options.deployment_combo.setCurrentText("dall-e-3")
    assert tab.options.family_combo.currentText() == "DALL-E 3"


def generate(qtbot, tab, prompt, **options):
    tab.prompt.setPlainText(prompt)
    for name, value in options.items():
        combo = getattr(tab, f"{name}_combo")
        index = combo.findText(value)
        index = index if index >= 0 else combo.findData(value)  # items showing words carry data
        assert index >= 0, (
            f"{name} {value!r} is not offered: {[combo.itemText(i) for i in range(combo.count())]}"
        )
        combo.setCurrentIndex(index)
    previous = tab._job.job
    qtbot.mouseClick(tab.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab._job.job is not previous and tab._job.job.result is not None, timeout=30000)
    qtbot.waitUntil(
        lambda: not tab.progress.isVisible() and tab.generate_button.text() == "&Generate", timeout=5000
    )


def png_size(path):
    data = open(path, "rb").read(32)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_every_option_reaches_the_wire_and_the_file_is_saved(qtbot, tab, services, parley_home):
    generate(
        qtbot,
        tab,
        "A rabbit eating pancakes",
        size="1792x1024",
        quality="hd",
        style="natural",
        format="b64_json",
    )
    sent = [r for r in services.connection.emulator.requests if r.path.endswith("/images/generations")][
        -1
    ].json
    assert sent["model"] == "dall-e-3" and sent["prompt"] == "A rabbit eating pancakes"
    assert (sent["size"], sent["quality"], sent["style"], sent["response_format"], sent["n"]) == (
        "1792x1024",
        "hd",
        "natural",
        "b64_json",
        1,
    )
    records = tab.gallery.records()
    assert len(records) == 1
    assert png_size(records[0].path) == (1792, 1024)
    assert str(parley_home) in records[0].path
    assert tab.revised.text() and "Revised prompt" in tab.revised.text()
    assert tab.view.image() is not None and not tab.view.image().isNull()


def test_url_format_also_ends_as_a_file(qtbot, tab, services):
    generate(qtbot, tab, "A lighthouse at dusk", format="url", size="1024x1792")
    sent = [r for r in services.connection.emulator.requests if r.path.endswith("/images/generations")][
        -1
    ].json
    assert sent["response_format"] == "url"
    assert png_size(tab.gallery.records()[0].path) == (1024, 1792)


def test_use_revised_prompt(qtbot, tab):
    generate(qtbot, tab, "a cat")
    qtbot.mouseClick(tab.use_revised, Qt.MouseButton.LeftButton)
    assert tab.prompt.toPlainText() == tab.current.revised_prompt != "a cat"


def test_refusal_shows_card_and_keeps_prompt(qtbot, tab):
    generate(qtbot, tab, "filter:image something not allowed")
    assert tab.card.isVisible() and tab.card.kind == "refusal"
    text = tab.card.plain_text()
    assert "content filter" in text.lower() and "Request id" in text
    assert tab.prompt.toPlainText() == "filter:image something not allowed"
    assert tab.gallery.records() == []


def test_gallery_survives_restart_and_delete_undo(qtbot, tab, services):
    generate(qtbot, tab, "first picture")
    generate(qtbot, tab, "second picture")
    assert [r.prompt for r in tab.gallery.records()] == ["second picture", "first picture"]

    again = ImagesTab(services)
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.gallery.loaded, timeout=10000):
        again.show()
    assert [r.prompt for r in again.gallery.records()] == ["second picture", "first picture"]

    from app.core.history import History

    victim = again.gallery.records()[0]
    again.delete_record(victim)
    assert again.undo_bar.isVisible()
    qtbot.waitUntil(lambda: len(History.open().list_images()) == 1, timeout=5000)
    qtbot.mouseClick(again.undo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(History.open().list_images()) == 2, timeout=5000)
    assert {r.prompt for r in again.gallery.records()} == {"first picture", "second picture"}
    again.shutdown()


def test_a_deleted_image_leaves_the_disk_when_the_gallery_next_opens(qtbot, tab, services, monkeypatch):
    from pathlib import Path

    from app.core import images
    from app.core.history import History
    from app.ui.images.gallery import thumbnail_path

    generate(qtbot, tab, "short-lived picture")
    victim = tab.gallery.records()[0]
    assert Path(victim.path).exists()
    tab.delete_record(victim)
    qtbot.waitUntil(lambda: History.open().list_images() == [], timeout=5000)
    qtbot.waitUntil(lambda: thumbnail_path(victim.path).exists(), timeout=5000)

    again = ImagesTab(services)  # within the undo's reach the file stays
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.gallery.loaded, timeout=10000):
        again.show()
    assert Path(victim.path).exists()
    again.shutdown()

    monkeypatch.setattr(images, "PURGE_AFTER_S", 0.0)  # as if the deletion were long past
    later = ImagesTab(services)
    qtbot.addWidget(later)
    with qtbot.waitSignal(later.gallery.loaded, timeout=10000):
        later.show()
    assert later.gallery.records() == []
    assert not Path(victim.path).exists() and not thumbnail_path(victim.path).exists()
    assert History.open().list_images(include_deleted=True) == []
    later.shutdown()


def test_send_to_chat_hands_over_the_png(qtbot, tab, services):
    generate(qtbot, tab, "a sketch for chat")
    with qtbot.waitSignal(services.send_to_chat, timeout=5000) as blocker:
        qtbot.mouseClick(tab.chat_button, Qt.MouseButton.LeftButton)
    text, attachments = blocker.args
    data, mime, _name = attachments[0]
    assert mime == "image/png" and data[:8] == b"\x89PNG\r\n\x1a\n"


def test_empty_prompt_is_explained_not_sent(qtbot, tab, services):
    before = len(services.connection.emulator.requests)
    qtbot.mouseClick(tab.generate_button, Qt.MouseButton.LeftButton)
    assert tab.card.isVisible() and "Nothing to draw" in tab.card.plain_text()
    assert len(services.connection.emulator.requests) == before


def test_slow_generation_shows_progress_after_600_ms_and_cancel_works(qtbot, tab):
    import time

    tab.prompt.setPlainText("fault:hang a very slow cat")
    qtbot.mouseClick(tab.generate_button, Qt.MouseButton.LeftButton)
    assert not tab.progress.isVisible()  # fast answers never flicker a progress bar
    qtbot.waitUntil(tab.progress.isVisible, timeout=3000)
    assert tab.generate_button.text() == "&Cancel"
    started = time.perf_counter()
    qtbot.mouseClick(tab.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab._job.job.result is not None, timeout=5000)
    assert time.perf_counter() - started < 1.0
    assert tab._job.job.result.cancelled
    assert tab.card.isVisible() and "Cancelled" in tab.card.plain_text()
    assert tab.prompt.toPlainText() == "fault:hang a very slow cat"
    assert not tab.progress.isVisible()


def test_dragging_a_thumbnail_out_hands_over_the_png_file(qtbot, tab):
    generate(qtbot, tab, "a red kite")
    model = tab.gallery.model()
    mime = model.mimeData([model.index(0, 0)])
    (url,) = mime.urls()
    assert url.isLocalFile() and url.toLocalFile() == tab.gallery.records()[0].path
    assert open(url.toLocalFile(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert tab.gallery.dragEnabled()


def test_send_to_chat_opens_chat_with_the_image_attached(qtbot, services):
    from app.ui.main_window import MainWindow

    window = MainWindow(services)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.settled, timeout=10000):
        window.show()
    window.select_tab("images")
    images = window.tab("images")
    generate(qtbot, images, "a blue whale")
    qtbot.mouseClick(images.chat_button, Qt.MouseButton.LeftButton)
    chat = window.tab("chat")
    qtbot.waitUntil(lambda: len(chat.compose.pending) == 1, timeout=10000)
    assert window.current_tab_name() == "chat"
    assert chat.compose.pending[0].mime == "image/png" and chat.compose.strip_box.isVisible()
    chat.compose.set_text("What is in this picture?")
    chat.send()
    qtbot.waitUntil(lambda: chat.turns.job is None and len(chat.view.widgets) == 2, timeout=20000)
    wire = [r for r in services.connection.emulator.requests if r.path.endswith("/chat/completions")][-1].json
    assert wire["messages"][-1]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert "1024×1024" in chat.view.widgets[-1].text
    chat.shutdown()
    images.shutdown()
    window.indexer.shutdown()


def test_opening_and_copying_a_gallery_image(qtbot, tab):
    from PySide6.QtGui import QGuiApplication

    generate(qtbot, tab, "first", size="1792x1024")
    generate(qtbot, tab, "second", size="1024x1024")
    first = next(r for r in tab.gallery.records() if r.prompt == "first")
    tab.open_record(first)
    qtbot.waitUntil(lambda: tab.view.image() is not None and tab.view.image().width() == 1792, timeout=5000)
    tab._copy_record(first)
    assert QGuiApplication.clipboard().image().size().toTuple() == (1792, 1024)
    second = next(r for r in tab.gallery.records() if r.prompt == "second")
    tab._copy_record(second)  # not the one on show: read on a worker first
    qtbot.waitUntil(lambda: QGuiApplication.clipboard().image().width() == 1024, timeout=5000)
