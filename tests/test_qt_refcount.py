"""Guards the PySide6 pin: static calls must not drop references to None (6.12.0 does, and the app then aborts)."""

from __future__ import annotations

import subprocess
import sys

PROBE = r"""
import sys
from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
def nothing(): pass
before = sys.getrefcount(None)
for _ in range(2000):
    QTimer.singleShot(0, nothing)
    QCoreApplication.processEvents()
print(sys.getrefcount(None) - before)
"""


def test_static_qt_calls_keep_none_alive(tmp_path):
    # In a subprocess: if the bug is back, the probe itself aborts ("deallocating None"), not the test run.
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, f"PySide6 refcount bug: {proc.stderr[-500:]}"
    assert abs(int(proc.stdout.strip().splitlines()[-1])) < 100
