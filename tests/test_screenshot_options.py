"""`parley --theme` and `--size` (what devtools/screenshots.py renders with): the window opens that size, in that
theme for this run only, and a bad value is a usage error."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage
from test_theme import mean_luminance


def parley(home, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PARLEY_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, timeout=90
    )


@pytest.mark.e2e
def test_theme_and_size_apply_to_this_run_only(qapp, parley_home, tmp_path):
    shots = {}
    for theme in ("light", "dark"):
        out = tmp_path / f"{theme}.png"
        proc = parley(parley_home, "--demo", "--theme", theme, "--size", "800x500", "--screenshot", str(out))
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout.strip().splitlines()[-1])["ok"]
        image = QImage(str(out))
        assert (image.width(), image.height()) == (800, 500)
        shots[theme] = mean_luminance(image)
    assert shots["light"] > 180 > 90 > shots["dark"], shots
    settings = QSettings(str(parley_home / "config" / "ui.ini"), QSettings.Format.IniFormat)
    assert settings.value("ui/theme") in (None, "system")  # Settings' own choice is untouched


def test_a_bad_theme_or_size_is_a_usage_error(parley_home):
    for args in (("--theme", "purple"), ("--size", "big"), ("--size", "10x10")):
        proc = parley(parley_home, *args, "--screenshot", "x.png")
        assert proc.returncode == 2 and ("--theme" in proc.stderr or "size" in proc.stderr), proc.stderr
