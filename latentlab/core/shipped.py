"""The models that ship with latentlab (trained/ in the source tree, share/latentlab/trained when
installed from a wheel), so the app opens on a real model with no download."""

from __future__ import annotations

import sys
from pathlib import Path

DEFAULT_MODEL = "mnist-2d.pt"


def shipped_models_dir() -> Path:
    candidates = [
        Path(__file__).resolve().parents[2] / "trained",           # source checkout / editable install
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
