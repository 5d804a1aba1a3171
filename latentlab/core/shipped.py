"""What ships with latentlab besides its code: the trained models (trained/ in the source tree,
share/latentlab/trained when installed from a wheel), so the app opens on a real model with no
download, and the app's icon (resources/icons/, share/latentlab/icons)."""

from __future__ import annotations

import site
import sys
from pathlib import Path

DEFAULT_MODEL = "mnist-2d.pt"
ICON = "latentlab.svg"
_SOURCE_TREE = Path(__file__).resolve().parents[2]


def shipped_models_dir() -> Path:
    candidates = [
        _SOURCE_TREE / "trained",                                  # source checkout / editable install
        Path(sys.prefix) / "share" / "latentlab" / "trained",      # wheel install (data-files)
    ]
    for folder in candidates:
        if (folder / DEFAULT_MODEL).exists():
            return folder
    return candidates[0]


def shipped_models() -> list[Path]:
    return sorted(shipped_models_dir().glob("*.pt"))


def default_checkpoint() -> Path:
    return shipped_models_dir() / DEFAULT_MODEL


def icon_path() -> Path | None:
    """latentlab's SVG icon, from the source tree or where a wheel put it; None if it is missing."""
    candidates = [_SOURCE_TREE / "resources" / "icons" / ICON]
    for prefix in (sys.prefix, site.getuserbase()):    # pip install, pip install --user
        candidates.append(Path(prefix) / "share" / "latentlab" / "icons" / ICON)
    return next((path for path in candidates if path.is_file()), None)
