"""Issue #16, the window's files stay private: the history file and its -wal/-shm are 0600 when created, crash
reports too, existing files are fixed when the window starts, and a profiles.json that had to be set aside is told
to the user in the window, once."""

from __future__ import annotations

import os
import stat
import sys

import pytest
from PySide6.QtCore import Qt

from app.ui.common.services import AppServices
from app.ui.main_window import MainWindow

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask():
    old = os.umask(0o022)  # what most desktops have: new files 0644 unless made private
    yield
    os.umask(old)


def test_a_new_history_file_and_its_wal_and_shm_are_private(parley_home, open_umask):
    from app.core.history import History

    history = History.open()
    try:
        history.create_conversation(system_prompt="", deployment="gpt-4o")
        db = history.path
        for suffix in ("", "-wal", "-shm"):
            path = db.with_name(db.name + suffix)
            assert path.exists(), path
            assert mode(path) == 0o600, (path, oct(mode(path)))
        assert mode(db.parent) == 0o700
    finally:
        history.close()


def test_crash_reports_are_private(parley_home, open_umask):
    from app.ui.common.crash import write_report

    path = write_report("Parley crash report")
    assert path is not None and mode(path) == 0o600


def make_window(qtbot):
    services = AppServices(demo=True)
    win = MainWindow(services)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.settled, timeout=10000):
        win.show()
    return win


def test_the_window_makes_existing_files_private_when_it_starts(qtbot, parley_home):
    config = parley_home / "config"
    config.mkdir(parents=True)
    config.chmod(0o755)
    loose = config / "ui-old.ini"
    loose.write_text("[x]\n")
    loose.chmod(0o644)
    win = make_window(qtbot)
    try:
        qtbot.waitUntil(lambda: mode(loose) == 0o600 and mode(config) == 0o700, timeout=10000)
    finally:
        win.close()


def test_profiles_set_aside_are_told_in_the_window_once(qtbot, parley_home):
    from app.core import profiles

    profiles.take_load_notes()  # nothing left over from another test
    config = parley_home / "config"
    config.mkdir(parents=True)
    (config / "profiles.json").write_text('{"profiles": "oops"}')
    win = make_window(qtbot)
    try:
        with qtbot.waitSignal(win.services.connection_changed, timeout=15000):
            win.services.reconnect()
        qtbot.waitUntil(lambda: win.notes.isVisible(), timeout=5000)
        assert "profiles.unreadable-" in win.notes.label.text()
        qtbot.mouseClick(win.notes.button, Qt.MouseButton.LeftButton)
        assert not win.notes.isVisible()
        with qtbot.waitSignal(win.services.connection_changed, timeout=15000):
            win.services.reconnect()
        assert not win.notes.isVisible()  # told once
    finally:
        win.close()


@pytest.mark.e2e
def test_a_window_run_creates_parley_home_config_and_ui_ini_private(tmp_path):
    """A screenshot run (the window, then quit) under a 022 umask: the PARLEY_HOME it creates, its folders and the
    ui.ini QSettings writes are private from creation, not only after the next command fixes them."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    home = tmp_path / "new" / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "OPENAI_", "PARLEY_"))}
    env.update(PARLEY_HOME=str(home), QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(root))
    shot = tmp_path / "shot.png"
    r = subprocess.run(
        [sys.executable, "-m", "app", "--demo", "--screenshot", str(shot)],
        env=env,
        cwd=root,
        capture_output=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert shot.exists() and (home / "config" / "ui.ini").exists()
    assert mode(home) == 0o700 and mode(home.parent) == 0o700
    for folder, _dirs, files in os.walk(home):
        assert mode(folder) == 0o700, folder
        for name in files:
            assert mode(os.path.join(folder, name)) == 0o600, name


def test_gallery_images_and_thumbnails_are_private_from_creation(parley_home, open_umask):
    from app.core import paths
    from app.core.image_options import ImageRequest
    from app.core.images import GeneratedImage, save_image
    from app.emulator import imaging
    from app.ui.images.gallery import make_thumbnail, thumbnail_path

    folder = paths.ensure(paths.data_dir() / "images")
    request = ImageRequest("gpt-image-1", "a cat")
    image = GeneratedImage(imaging.png(64, 64, "cat"), None, None, None, None, request)
    saved = save_image(image, folder)
    assert mode(saved) == 0o600
    assert make_thumbnail(str(saved)) is not None
    assert mode(thumbnail_path(str(saved))) == 0o600
    assert mode(folder) == 0o700 and mode(thumbnail_path(str(saved)).parent) == 0o700
