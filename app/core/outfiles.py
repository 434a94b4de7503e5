"""Output files the user names (`speak -o`, `image -o`, `talk -o`): written whole or not at all, and into what the
name points at. A symlink is followed (its target is written, through a `.part` beside the target, and the link
stays); a FIFO, a device, a folder or a socket is refused, never replaced by a regular file."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class NotARegularFile(OSError):
    """The output names something that is not a regular file: writing would replace it (or block on it)."""


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


def target(path: str | os.PathLike[str]) -> Path:
    """The file `path` writes to: itself, or what its symlinks point at (the target need not exist yet). Raises
    `NotARegularFile` when that is not a regular file, naming what it is."""
    real = Path(os.path.realpath(path))
    try:
        mode = real.stat().st_mode
    except FileNotFoundError:
        return real
    if stat.S_ISREG(mode):
        return real
    what = next((words for test, words in _KINDS if test(mode)), "not a regular file")
    where = "it" if real == Path(path).absolute() else f"it points to {real}, which"
    raise NotARegularFile(0, f"{where} is {what}, not a regular file")


def part_of(final: Path) -> Path:
    """The temporary file `final` is written through: beside it, so the rename is atomic."""
    return final.with_name(final.name + ".part")


def commit(part: Path, final: Path) -> None:
    """Move the finished `part` into place; a file that was there keeps its permissions."""
    try:
        os.chmod(part, stat.S_IMODE(final.stat().st_mode))
    except OSError:
        pass
    os.replace(part, final)
