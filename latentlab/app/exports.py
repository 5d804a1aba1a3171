"""Exports of what the explorer shows: the pinned points and the encoded test set as CSV, and the
choices of format and scale a picture can be exported in (the file dialog's filters). No Qt here."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latentlab.core.figure_files import FORMATS, MAX_PIXELS

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


# -- pictures: format and scale ---------------------------------------------------------------------
FIGURE_SCALES = (4, 8, 2, 1)        # pixel images: the first is the default (a 28 px digit -> 112 px)
CANVAS_SCALES = (4, 2, 1)           # the canvas: times its size on screen


@dataclass(frozen=True)
class ExportOption:
    """One way to export a picture: a file dialog filter, e.g. 'PNG, 4x: 2240 x 2240 px (*.png)'."""

    label: str
    format: str                     # "png", "svg" or "pdf"
    scale: int                      # pixels per image pixel (figures) or per screen pixel (the canvas)


def figure_options(height: int, width: int) -> list[ExportOption]:
    """Exports of a pixel image of (height, width) at scale 1: PNG at each scale that stays under
    figure_files.MAX_PIXELS, and SVG and PDF holding the pixels at the default scale."""
    options = [ExportOption(f"PNG, {s}x: {width * s} x {height * s} px"
                            f"{', the model’s own pixels' if s == 1 else ''} (*.png)", "png", s)
               for s in FIGURE_SCALES if width * height * s * s <= MAX_PIXELS]
    s = FIGURE_SCALES[0]
    return options + [
        ExportOption(f"SVG, {s}x: {width * s} x {height * s} px, crisp when enlarged (*.svg)", "svg", s),
        ExportOption(f"PDF, {s}x: {width * s} x {height * s} px at 300 dpi (*.pdf)", "pdf", s)]


def canvas_options(width: int, height: int) -> list[ExportOption]:
    """Exports of the canvas (width x height on screen): PNG at each scale, SVG and PDF as vectors."""
    return [*(ExportOption(f"PNG, {s}x the canvas: {width * s} x {height * s} px"
                           f"{', as on screen' if s == 1 else ''} (*.png)", "png", s) for s in CANVAS_SCALES),
            ExportOption("SVG, vector: points, ellipses, paths, axes (*.svg)", "svg", 1),
            ExportOption("PDF, vector: points, ellipses, paths, axes (*.pdf)", "pdf", 1)]


def resolve_export(path: str | os.PathLike, option: ExportOption) -> tuple[Path, str]:
    """The file and format to write: a name typed without a suffix gets the option's; a name that
    ends in .png, .svg or .pdf is written in that format (what the user typed wins over the filter)."""
    path = Path(path)
    suffix = path.suffix.lower()[1:]
    if suffix in FORMATS:
        return path, suffix
    return path.with_name(path.name + "." + option.format), option.format
