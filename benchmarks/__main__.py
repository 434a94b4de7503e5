"""Runs every benchmark as its own process (fresh interpreter, no shared warm-up) and fails if any is past its ceiling."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))
    failed = []
    for name in names:
        print(f"-- benchmark {name}", flush=True)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", f"benchmarks.{name}"], cwd=HERE.parent, timeout=900)
        print(f"-- {name}: exit {proc.returncode} in {time.perf_counter() - started:.1f} s", flush=True)
        if proc.returncode != 0:
            failed.append(name)
    if failed:
        print(f"benchmarks past their ceilings: {', '.join(failed)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
