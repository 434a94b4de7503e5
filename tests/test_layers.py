"""The layers stay in order: core below audio below voice below ui and cli, and the emulator on its own.

An AST scan of every import (also the lazy ones inside functions), plus a real import of every core module.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# package folder -> the app packages its modules must never import
FORBIDDEN = {
    "app/core": ("app.audio", "app.voice", "app.emulator", "app.ui", "app.cli"),
    "app/audio": ("app.voice", "app.ui", "app.cli"),
    "app/voice": ("app.ui", "app.cli"),
    # the emulator stands alone, as a stand-in for Azure must: it shares no code with the client it is testing
    "app/emulator": ("app.core", "app.audio", "app.voice", "app.ui", "app.cli"),
}


def imported_names(path: Path) -> list[tuple[int, list[str]]]:
    """(line, dotted names) for each import in the file: `from app import x` names both `app` and `app.x`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, [a.name]) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, [node.module] + [f"{node.module}.{a.name}" for a in node.names]))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module",
            "__import__",
        ):
            found += [
                (node.lineno, [a.value])
                for a in node.args[:1]
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
    return sorted(found)


def violations(path: Path, forbidden: tuple[str, ...]) -> list[str]:
    """One line per import statement that reaches into a forbidden package."""
    hits = []
    for line, names in imported_names(path):
        bad = [n for n in names if any(n == f or n.startswith(f + ".") for f in forbidden)]
        if bad:
            hits.append(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{line}: {bad[0]}")
    return hits


def test_every_layer_has_files_to_scan():
    for folder in FORBIDDEN:
        assert list((ROOT / folder).rglob("*.py")), folder


def test_no_layer_imports_one_above_it():
    offenders = [
        hit
        for folder, forbidden in FORBIDDEN.items()
        for path in sorted((ROOT / folder).rglob("*.py"))
        for hit in violations(path, forbidden)
    ]
    assert not offenders, "an import across the layers:\n" + "\n".join(offenders)


def test_scanner_catches_every_form_of_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import app.emulator\n"
        "from app import audio\n"
        "def f():\n"
        "    from app.voice.session import run\n"
        "    import importlib\n"
        "    importlib.import_module('app.ui.app')\n"
        "from app.core import errors\n"
        "import app.audiobook\n"
    )
    hits = [h.split(": ")[-1] for h in violations(bad, FORBIDDEN["app/core"])]
    assert hits == ["app.emulator", "app.audio", "app.voice.session", "app.ui.app"]


def test_importing_all_of_core_loads_no_higher_layer():
    modules = sorted(f"app.core.{p.stem}" for p in (ROOT / "app/core").glob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[:2] in "
        "(['app', 'audio'], ['app', 'voice'], ['app', 'emulator'], ['app', 'ui'], ['app', 'cli']))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"importing app.core loaded: {out.stdout.strip()}"
