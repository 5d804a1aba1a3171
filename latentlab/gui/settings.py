"""Where the app keeps things: QSettings, the recent-files list and the folder for training runs.

QSettings is always the INI format under one organisation/application name, so a test can move
every read and write into a temporary folder with `QSettings.setPath` (see tests/gui/conftest.py)
and never touch the user's real settings.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import QSettings

ORGANIZATION = "latentlab"
APPLICATION = "latentlab"
RUNS_ENV_VAR = "LATENTLAB_RUNS"   # overrides where runs started from the app are autosaved
MAX_RECENT = 8


def app_settings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def runs_dir() -> Path:
    """Folder of the runs trained from the app: $LATENTLAB_RUNS, else the user data folder."""
    from_env = os.environ.get(RUNS_ENV_VAR)
    if from_env:
        return Path(from_env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("latentlab")) / "runs"


def new_run_folder(dataset: str, latent_dim: int) -> Path:
    """A fresh folder for one run, named so a person can tell runs apart in a file browser."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = runs_dir() / f"{dataset}-{latent_dim}d-{stamp}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def is_inside(path: Path, folder: Path) -> bool:
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
        return True
    except ValueError:
        return False


class RecentFiles:
    """The File > Open Recent list, most recent first, stored in QSettings."""

    KEY = "recentFiles"

    def __init__(self, settings: QSettings):
        self._settings = settings

    def paths(self) -> list[str]:
        value = self._settings.value(self.KEY, [])
        if isinstance(value, str):  # QSettings returns a bare string for a one-item list
            value = [value]
        return [str(p) for p in (value or [])]

    def add(self, path) -> None:
        path = str(Path(path).resolve())
        paths = [path] + [p for p in self.paths() if p != path]
        self._settings.setValue(self.KEY, paths[:MAX_RECENT])

    def remove(self, path) -> None:
        self._settings.setValue(self.KEY, [p for p in self.paths() if p != str(path)])

    def clear(self) -> None:
        self._settings.setValue(self.KEY, [])
