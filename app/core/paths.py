"""Where Parley keeps its settings, data and logs: the platform's folders, or one root under PARLEY_HOME (tests).

Chats, logs and settings are the user's alone: Parley's folders are 0700 and the files in them 0600 (on POSIX),
made so when created and fixed on start (`make_private`) for folders an older version left world-readable.
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "parley"


def _home_override() -> Path | None:
    home = os.environ.get("PARLEY_HOME")
    return Path(home) if home else None


def config_dir() -> Path:
    root = _home_override()
    if root:
        return root / "config"
    import platformdirs

    return Path(platformdirs.user_config_dir(APP, appauthor=False))


def data_dir() -> Path:
    root = _home_override()
    if root:
        return root / "data"
    import platformdirs

    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def log_dir() -> Path:
    root = _home_override()
    if root:
        return root / "logs"
    import platformdirs

    return Path(platformdirs.user_log_dir(APP, appauthor=False))


def wire_name(name: str) -> str:
    """A file name as text that can go on the wire (a multipart filename, a log line): a name in another encoding
    than UTF-8 (which Python keeps as surrogate escapes) with its undecodable bytes replaced by U+FFFD."""
    if os.name == "posix":
        return os.fsencode(name).decode("utf-8", "replace")
    return name.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate in a Windows name becomes "?"


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def ensure(path: Path) -> Path:
    """`path` as a folder only the user can open, and every missing folder above it that Parley makes too (a new
    PARLEY_HOME, ~/.config on a fresh account): mkdir's parents would be 0755 under the usual umask."""
    missing: list[Path] = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # made meanwhile by another thread or process: its maker made it private
            continue
        _chmod(folder, PRIVATE_DIR)
    path.mkdir(
        mode=PRIVATE_DIR, parents=True, exist_ok=True
    )  # raises as before when `path` cannot be a folder
    _chmod(path, PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """`path` as an existing file only the user can read, created empty (in a private folder) when missing: for
    files another library writes, such as Qt's ui.ini (QSettings keeps an existing file's mode when it rewrites it,
    but creates a new one, and its folder, by the umask)."""
    ensure(path.parent)
    os.close(private_open(path, os.O_WRONLY | os.O_CREAT))
    return path


def private_open(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_TRUNC) -> int:
    """A file descriptor for `path`, created (or made) readable by the user alone."""
    fd = os.open(path, flags, PRIVATE_FILE)
    if os.name == "posix":
        os.fchmod(fd, PRIVATE_FILE)
    return fd


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a 0600 temporary file renamed over it (never half a file, never 0644)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = private_open(tmp)
    try:
        with open(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def make_private(roots: tuple[Path, ...] | None = None) -> int:
    """Make Parley's existing folders 0700 and every file in them 0600; returns how many modes changed.

    Run once at start, off the GUI thread (the gallery may hold thousands of images)."""
    changed = 0
    for root in roots if roots is not None else (config_dir(), data_dir(), log_dir()):
        if not root.is_dir():
            continue
        for folder, dirs, files in os.walk(root):
            changed += _chmod(Path(folder), PRIVATE_DIR)
            for name in files:
                changed += _chmod(Path(folder) / name, PRIVATE_FILE)
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
    return changed


def _chmod(path: Path, mode: int) -> int:
    if os.name != "posix":
        return 0
    try:
        st = path.lstat()
        if (st.st_mode & 0o777) == mode or path.is_symlink():
            return 0
        path.chmod(mode)
        return 1
    except OSError:
        return 0
