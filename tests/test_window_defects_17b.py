"""Window defects of #17 (second part): the chat's scaling note, Help > Open log folder without a file manager."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication, QImage

from app.ui.chat.attachments import prepare


def test_scaling_note_names_the_size_actually_sent(qtbot):
    # 2049×1234 was scaled to 2047×1233 (Qt fitted the rounded box again), and the note said so.
    image = QImage(2049, 1234, QImage.Format.Format_RGB32)
    image.fill(0)
    pending = prepare(image=image, name="wide.png")
    sent = QImage.fromData(pending.data)
    assert (sent.width(), sent.height()) == (2048, 1233)
    assert "to 2048×1233" in pending.note and "2047" not in pending.note


def test_open_log_folder_without_a_file_manager_says_where_it_is(qtbot, monkeypatch):
    from PySide6.QtGui import QDesktopServices

    from app.core import paths
    from app.ui.common.services import AppServices
    from app.ui.main_window import MainWindow

    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: False))
    win = MainWindow(AppServices(demo=True))
    qtbot.addWidget(win)
    win.show()
    win.open_log_folder()
    folder = str(paths.log_dir())
    assert win.notes.isVisible() and folder in win.notes.label.text()
    assert "copied" in win.notes.label.text()
    assert QGuiApplication.clipboard().text() == folder
    win.close()
