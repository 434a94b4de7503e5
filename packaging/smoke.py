"""Smoke test of the frozen build: --version, a demo-mode screenshot that is not blank, bundle size, cold start.

Usage: python packaging/smoke.py dist/parley/parley. Prints one JSON line; exits non-zero if the bundle is broken
or its cold start is past the generous ceiling (target: at most 1.5x the unfrozen `parley`).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATIO, CEILING_RATIO = 1.5, 3.0


def folder_size_mb(path: Path) -> float:
    # PyInstaller links libraries under two names: count each file once, as du does.
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def png_is_blank(path: Path) -> bool:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication, QImage

    QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    img = QImage(str(path))
    if img.isNull() or img.width() < 100:
        return True
    colours = {img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}
    return len(colours) < 8


def first_paint_seconds(cmd: list[str], env: dict[str, str]) -> float:
    start = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if '"first_paint"' in line:
                return json.loads(line)["first_paint"] - start
        raise SystemExit(f"{cmd[0]} never painted (exit {proc.wait()})")
    finally:
        proc.terminate()
        proc.wait(10)


def main(binary: str) -> int:
    exe = Path(binary).resolve()
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PARLEY_HOME=home)
        env.pop("AZURE_OPENAI_ENDPOINT", None)
        version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60, env=env)
        assert version.returncode == 0 and version.stdout.startswith("parley "), version
        shot = Path(home) / "frozen.png"
        run = subprocess.run(
            [str(exe), "--demo", "--screenshot", str(shot)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        assert shot.exists() and not png_is_blank(shot), "the frozen build's screenshot is blank"
        paint_env = dict(env, PARLEY_REPORT_FIRST_PAINT="1", PARLEY_QUIT_AFTER_PAINT="200")
        venv_parley = Path(sys.executable).with_name("parley")
        frozen, unfrozen = [], []
        for _ in range(3):
            frozen.append(first_paint_seconds([str(exe), "--demo"], paint_env))
            unfrozen.append(first_paint_seconds([str(venv_parley), "--demo"], paint_env))
    result = {
        "benchmark": "frozen_bundle",
        "version": version.stdout.strip(),
        "bundle_mb": round(folder_size_mb(exe.parent), 1),
        "frozen_first_paint_ms": round(statistics.median(frozen) * 1000),
        "unfrozen_first_paint_ms": round(statistics.median(unfrozen) * 1000),
        "ratio": round(statistics.median(frozen) / statistics.median(unfrozen), 2),
        "target_ratio": TARGET_RATIO,
    }
    print(json.dumps(result), flush=True)
    return 0 if result["ratio"] <= CEILING_RATIO else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
