"""Where Parley keeps its settings, data and logs: the platform's folders, or one root under PARLEY_HOME (tests)."""

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


def ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
