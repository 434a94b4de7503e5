"""app/core, app/audio, app/voice, app/emulator and app/cli never import Qt: an AST scan plus a real import check."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT_FREE_DIRS = ("app/core", "app/audio", "app/voice", "app/emulator", "app/cli")
QT_FREE_FILES = ("app/__init__.py", "app/__main__.py")
FORBIDDEN = ("PySide6", "PySide2", "PyQt5", "PyQt6", "shiboken6", "shiboken2", "qtpy")


def _qt_free_files() -> list[Path]:
    files = [p for d in QT_FREE_DIRS for p in sorted((ROOT / d).rglob("*.py"))]
    files += [ROOT / f for f in QT_FREE_FILES if (ROOT / f).exists()]
    return files


def _qt_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module",
            "__import__",
        ):
            names = [
                a.value for a in node.args[:1] if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
        for name in names:
            if name.split(".")[0] in FORBIDDEN:
                found.append(f"{path}:{node.lineno}: {name}")
    return found


def test_scan_finds_files():
    files = _qt_free_files()
    assert any(p.name == "chat.py" for p in files)
    assert any("app/core" in str(p) for p in files)
    assert any(p.parent.name == "cli" and p.name == "ask.py" for p in files)


def test_no_qt_import_in_qt_free_packages():
    offenders = [hit for path in _qt_free_files() for hit in _qt_imports(path)]
    assert not offenders, "Qt imported where it must not be:\n" + "\n".join(offenders)


def test_scanner_catches_qt(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from PySide6.QtCore import QObject\n    import shiboken6\n")
    hits = [h.split(": ")[-1] for h in _qt_imports(bad)]
    assert hits == ["PySide6.QtCore", "shiboken6"]


def test_importing_core_loads_no_qt_and_no_heavy_sdk():
    code = (
        "import sys\n"
        "import app.core.chat, app.core.connection, app.core.completions, app.core.secrets, app.core.client, app.core.netio\n"
        "bad = [m for m in ('PySide6', 'shiboken6', 'openai', 'azure.identity', 'keyring') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"imported at module load: {out.stdout.strip()}"
