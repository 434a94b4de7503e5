"""Runs mypy and fails only on errors that mypy-baseline.txt does not already list (line numbers ignored).

Usage (from the repository root, with the venv's python):
    python scripts/lib/mypy_check.py                 # the paths in [tool.mypy] files (app/)
    python scripts/lib/mypy_check.py app/core app/cli.py   # only errors in these paths
    python scripts/lib/mypy_check.py --update        # rewrite the baseline to today's errors (after fixing some)
    python scripts/lib/mypy_check.py --list app/voice     # print the errors in these paths, baseline or not

An error is compared as "path: [code] message", so moving code inside a file does not break the check; the same
error twice in one file needs two baseline lines. The packages in STRICT must have none at all: a baseline entry
there is printed as a debt still to pay (the UI is the only place the baseline is meant for).
Exit code: 0 when nothing is new, 1 when mypy found new errors, 2 when mypy itself could not run.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "mypy-baseline.txt"
# Qt-free packages: zero errors is the rule, not a baseline.
STRICT = ("app/core/", "app/audio/", "app/voice/", "app/emulator/", "app/cli")
_ERROR = re.compile(
    r"^(?P<path>[^:\s]+\.pyi?):(?P<line>\d+)(?::\d+)?: error: (?P<msg>.*?)(?:\s+\[(?P<code>[\w-]+)\])?$"
)
_LINE_REF = re.compile(r"\bline \d+\b")


def normalise(path: str, msg: str, code: str | None) -> str:
    """One error as the baseline stores it: no line numbers, also none inside the message ("defined on line 12")."""
    return f"{path}: [{code or 'misc'}] {_LINE_REF.sub('line N', msg.strip())}"


def run_mypy(paths: list[str]) -> tuple[list[str], list[str]]:
    """(normalised errors, the raw error lines) of `mypy PATHS`, or of the configured files when none are given."""
    cmd = [sys.executable, "-m", "mypy", "--no-error-summary", "--no-pretty", "--show-error-codes", *paths]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode not in (0, 1):  # 2: bad config, crash, missing module to check
        sys.stderr.write(proc.stdout + proc.stderr)
        sys.exit(2)
    found: list[str] = []
    raw: list[str] = []
    for line in proc.stdout.splitlines():
        m = _ERROR.match(line)
        if m is None:
            continue
        path = m["path"].replace("\\", "/")
        # mypy also reports modules it followed from the given ones: only the asked-for paths count.
        if paths and not any(path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/") for p in paths):
            continue
        found.append(normalise(path, m["msg"], m["code"]))
        raw.append(line)
    return found, raw


def read_baseline() -> Counter[str]:
    if not BASELINE.exists():
        return Counter()
    lines = BASELINE.read_text(encoding="utf-8").splitlines()
    return Counter(x for x in lines if x.strip() and not x.startswith("#"))


def write_baseline(errors: list[str]) -> None:
    header = (
        "# mypy errors known today, one a line, line numbers left out (scripts/lib/mypy_check.py compares).\n"
        "# Only app/ui belongs here; fix errors rather than adding them: `python scripts/lib/mypy_check.py --update`\n"
        "# after a fix drops the fixed ones.\n"
    )
    BASELINE.write_text(header + "".join(f"{e}\n" for e in sorted(errors)), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", help="files or folders to check (default: [tool.mypy] files)")
    ap.add_argument("--update", action="store_true", help="rewrite mypy-baseline.txt to today's errors")
    ap.add_argument("--list", action="store_true", help="print every error in the paths and exit 1 if any")
    args = ap.parse_args(argv)
    errors, raw = run_mypy(args.paths)

    if args.list:
        print("\n".join(raw) if raw else "no mypy errors")
        return 1 if raw else 0
    if args.update:
        if args.paths:
            ap.error("--update checks the whole tree: give no paths")
        write_baseline(errors)
        strict = [e for e in errors if e.startswith(STRICT)]
        print(
            f"mypy-baseline.txt: {len(errors)} errors ({len(strict)} in Qt-free packages, which should have none)"
        )
        return 0

    known = read_baseline()
    if args.paths:
        known = Counter(
            {k: n for k, n in known.items() if any(k.startswith(p.rstrip("/")) for p in args.paths)}
        )
    now = Counter(errors)
    new = now - known
    fixed = known - now
    debt = sorted(e for e in now if e.startswith(STRICT) and e in known)
    if debt:
        print(f"mypy: {sum(now[e] for e in debt)} known errors in Qt-free packages still to fix:")
        print("".join(f"  {e}\n" for e in debt), end="")
    if fixed:
        print(
            f"mypy: {sum(fixed.values())} baseline errors are gone: run `python scripts/lib/mypy_check.py --update`"
        )
    if new:
        # The raw lines, with line numbers, for each new error (a repeated one: all its lines).
        print(f"mypy: {sum(new.values())} new errors (not in mypy-baseline.txt):", file=sys.stderr)
        for line, err in zip(raw, errors, strict=True):
            if err in new:
                print(f"  {line}", file=sys.stderr)
        return 1
    print(f"mypy: no new errors ({sum(now.values())} known, all in the baseline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
