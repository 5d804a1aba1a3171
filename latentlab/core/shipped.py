"""What ships with latentlab besides its code: the trained models (trained/ in the source tree,
share/latentlab/trained when installed from a wheel), so the app opens on a real model with no
download, the app's icon (resources/icons/, share/latentlab/icons) and 100 sample test images of
each built-in data set (resources/samples/, share/latentlab/samples), the app's examples when the
data set itself is not on this computer."""

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


def samples_dir() -> Path:
    """The folder holding <data set>/<label>_<index>.png (see resources/samples/README.md)."""
    candidates = [_SOURCE_TREE / "resources" / "samples"]
    for prefix in (sys.prefix, site.getuserbase()):
        candidates.append(Path(prefix) / "share" / "latentlab" / "samples")
    return next((path for path in candidates if path.is_dir()), candidates[0])


def icon_path() -> Path | None:
    """latentlab's SVG icon, from the source tree or where a wheel put it; None if it is missing."""
    candidates = [_SOURCE_TREE / "resources" / "icons" / ICON]
    for prefix in (sys.prefix, site.getuserbase()):    # pip install, pip install --user
        candidates.append(Path(prefix) / "share" / "latentlab" / "icons" / ICON)
    return next((path for path in candidates if path.is_file()), None)
