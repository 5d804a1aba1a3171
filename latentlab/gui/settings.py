"""Where the app keeps things: QSettings, the recent-files list, the UI scale, the window layout's
version and the folder for training runs.

QSettings is always the INI format under one organisation/application name, so a test can move
every read and write into a temporary folder with `QSettings.setPath` (see tests/gui/conftest.py)
and never touch the user's real settings.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

from PySide6.QtCore import QSettings

ORGANIZATION = "latentlab"
APPLICATION = "latentlab"
RUNS_ENV_VAR = "LATENTLAB_RUNS"   # overrides where runs started from the app are autosaved
MAX_RECENT = 8
UI_SCALE_KEY = "view/uiScale"    # View > Zoom In / Zoom Out / Reset Zoom (gui/ui_zoom.py)
UI_SCALE_RANGE = (0.5, 4.0)
LAYOUT_VERSION_KEY = "window/layoutVersion"
LAYOUT_VERSION = 4               # 4: a Rate–Distortion dock beside the Collapse dock; 3: a Collapse dock tabbed
                                 # with the curves; 2: the curves beside the
                                 # training panel (1: under the explorer)


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


def ui_scale(settings: QSettings) -> float:
    """The remembered UI scale; 1.0 when there is none or it is not a number in UI_SCALE_RANGE
    (a hand-edited settings file must not open a window with 0-point or 500-point text)."""
    try:
        value = float(settings.value(UI_SCALE_KEY, 1.0))
    except (TypeError, ValueError):
        return 1.0
    lo, hi = UI_SCALE_RANGE
    return value if math.isfinite(value) and lo <= value <= hi else 1.0


def set_ui_scale(settings: QSettings, factor: float) -> None:
    settings.setValue(UI_SCALE_KEY, float(factor))


def saved_layout_is_current(settings: QSettings) -> bool:
    """Whether the saved window layout (docks) was saved by this version of the layout; from now
    on it will be (the window saves its layout when it closes). An older one is not restored:
    the default layout changed, and restoring the old one would hide the new arrangement."""
    try:
        current = int(settings.value(LAYOUT_VERSION_KEY, 0)) == LAYOUT_VERSION
    except (TypeError, ValueError):
        current = False
    settings.setValue(LAYOUT_VERSION_KEY, LAYOUT_VERSION)
    return current
