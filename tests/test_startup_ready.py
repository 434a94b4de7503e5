"""`PARLEY_REPORT_FIRST_PAINT` (benchmarks/startup.py, #17): the app says when its first frame is painted and then
when the chat input is on screen and takes typing, then when a key typed at that moment shows in it, in that order,
and quits on its own when asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def reports(parley_home) -> list[dict]:
    """One `parley --demo` start with the benchmark's probe: what it printed, as JSON lines."""
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        PARLEY_HOME=str(parley_home),
        PARLEY_REPORT_FIRST_PAINT="1",
        PARLEY_QUIT_AFTER_PAINT="100",
    )
    out = subprocess.run(
        [sys.executable, "-m", "app", "--demo"], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return [json.loads(x) for x in out.stdout.splitlines() if x.startswith("{")]


def test_the_app_reports_when_the_chat_input_takes_typing(parley_home):
    lines = reports(parley_home)
    painted = next(x["first_paint"] for x in lines if "first_paint" in x)
    ready = next(x["ready_to_type"] for x in lines if "ready_to_type" in x)
    echoed = next(x["typed_echo"] for x in lines if "typed_echo" in x)
    assert painted <= ready <= echoed


def test_the_first_frame_does_not_build_pysides_qt_namespace(parley_home):
    # Its ~70 enums cost ~23 ms, a tenth of the time until the chat box takes typing (theme.py). The first start
    # asks the desktop's scheme before the frame (that needs it); later starts use the scheme seen last time.
    built = [
        next(x["qt_namespace_built"] for x in reports(parley_home) if "ready_to_type" in x) for _ in range(2)
    ]
    assert built == [True, False], "what the first frame imports or calls touched `Qt` (see app/ui/theme.py)"


def test_the_window_has_parleys_icon_once_it_is_on_screen(parley_home, tmp_path):
    # The icon is set after the first frame (Qt's SVG icon engine cost that frame ~3 ms): it must still be set.
    script = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from app.ui.app import run_gui\n"
        f"code = run_gui(demo=True, screenshot={str(tmp_path / 'shot.png')!r})\n"
        "icon = QApplication.windowIcon()\n"
        "print('icon', code, not icon.isNull(), icon.pixmap(64, 64).width())\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PARLEY_HOME=str(parley_home))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "icon 0 True 64" in out.stdout, out.stdout + out.stderr
