"""CSV exports of what the explorer shows: the pinned points and the encoded test set. No Qt here."""

from __future__ import annotations

import csv
import os

import numpy as np

from .plane import LatentPlane
from .scatter import Scatter


def write_pins_csv(path: str | os.PathLike, pins: list[np.ndarray], plane: LatentPlane) -> None:
    """One row per pin: its number, canvas coordinates (u, v) on `plane` and full latent vector."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["pin", "u", "v", *[f"z{i + 1}" for i in range(plane.latent_dim)]])
        for i, z in enumerate(pins):
            u, v = plane.project(z)
            writer.writerow([i + 1, f"{u:.6g}", f"{v:.6g}", *[f"{x:.6g}" for x in z]])


def write_scatter_csv(path: str | os.PathLike, scatter: Scatter | None) -> None:
    """The encoded test set: label, label name and the posterior mean, one row per image."""
    if scatter is None:
        raise ValueError("there is no encoded test set to export")
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["label", "label_name", *[f"z{i + 1}" for i in range(scatter.latent_dim)]])
        for i, z in enumerate(scatter.means):
            label = "" if scatter.labels is None else int(scatter.labels[i])
            writer.writerow([label, scatter.label_name(i), *[f"{x:.6g}" for x in z]])
