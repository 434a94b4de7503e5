"""Render every tab of the window in light and dark, at 800×500 and 1280×800, into docs/screens/ (and list them in
docs/screens/README.md).

    python -m devtools.screenshots            # offscreen (no display needed)
    python -m devtools.screenshots --xvfb     # under xvfb-run, closer to a real X11 desktop

Each shot is `parley --demo --theme T --size WxH --screenshot FILE --tab NAME` in a fresh PARLEY_HOME, so nothing of
the user's (chats, images, profiles) ever ends up in a picture. PNGs are re-saved at Qt's strongest compression.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screens"
TABS = (
    "chat",
    "voice",
    "images",
    "completions",
    "jobs",
    "settings",
)  # app.ui.main_window.TAB_NAMES, without Qt
# Shots beyond the tabs' first look: (name, tab, extra `parley` arguments).
EXTRA = (
    ("chat-answer", "chat", ("--send", "How do I sort a list?")),
)  # an answer with prose, a list and code
THEMES = ("light", "dark")
SIZES = ((800, 500), (1280, 800))


def name(tab: str, theme: str, size: tuple[int, int]) -> str:
    return f"{tab}-{theme}-{size[0]}x{size[1]}.png"


def shoot(
    tab: str, theme: str, size: tuple[int, int], out: Path, *, xvfb: bool, extra: tuple[str, ...] = ()
) -> bool:
    with tempfile.TemporaryDirectory(prefix="parley-shot-") as home:
        env = dict(os.environ, PARLEY_HOME=home)
        command = [sys.executable, "-m", "app", "--demo", "--theme", theme, "--size", f"{size[0]}x{size[1]}"]
        command += ["--screenshot", str(out), "--tab", tab, *extra]
        if xvfb:
            env.pop("QT_QPA_PLATFORM", None)
            command = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", *command]
        else:
            env["QT_QPA_PLATFORM"] = "offscreen"
        proc = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    lines = proc.stdout.strip().splitlines()
    ok = proc.returncode == 0 and bool(lines) and json.loads(lines[-1]).get("ok") is True
    if not ok:
        print(f"  {out.name}: failed (exit {proc.returncode})\n{proc.stderr[-2000:]}", file=sys.stderr)
    return ok


def compress(path: Path) -> None:
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    if not image.isNull():
        image.save(str(path), "PNG", 0)  # for PNG, quality 0 is the strongest (lossless) compression


def write_readme(shots: list[str]) -> None:
    rows = []
    for tab in (*TABS, *(label for label, _, _ in EXTRA)):
        cells = [f"[{theme} {w}×{h}]({name(tab, theme, (w, h))})" for theme in THEMES for w, h in SIZES]
        rows.append(f"| {tab} | " + " | ".join(cells) + " |")
    header = " | ".join(f"{theme} {w}×{h}" for theme in THEMES for w, h in SIZES)
    text = (
        "# Screenshots\n\n"
        "Every tab of the window in the light and dark theme, at 800×500 and 1280×800, in demo mode (the built-in "
        "emulator, a fresh profile: no chats or images yet, so the empty states show), and `chat-answer`: the chat after "
        "one question, its answer with a list and a code block. Regenerate them with\n"
        "`python -m devtools.screenshots` (add `--xvfb` to render under Xvfb), after any visible change.\n\n"
        f"| tab | {header} |\n|---|" + "---|" * (len(THEMES) * len(SIZES)) + "\n" + "\n".join(rows) + "\n\n"
        f"{len(shots)} files.\n"
    )
    (OUT / "README.md").write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xvfb", action="store_true", help="render under xvfb-run instead of offscreen")
    parser.add_argument("--tab", action="append", choices=TABS, help="only this tab (repeatable)")
    args = parser.parse_args(argv)
    if args.xvfb and shutil.which("xvfb-run") is None:
        print("xvfb-run is not installed; run without --xvfb for offscreen rendering", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    shots, failed = [], []
    wanted = [(tab, tab, ()) for tab in args.tab or TABS]
    wanted += [shot for shot in EXTRA if not args.tab or shot[1] in args.tab]
    for label, tab, extra in wanted:
        for theme in THEMES:
            for size in SIZES:
                out = OUT / name(label, theme, size)
                if shoot(tab, theme, size, out, xvfb=args.xvfb, extra=extra):
                    compress(out)
                    shots.append(out.name)
                    print(f"  {out.relative_to(ROOT)}  {out.stat().st_size // 1024} KB")
                else:
                    failed.append(out.name)
    write_readme(sorted(p.name for p in OUT.glob("*.png")))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
