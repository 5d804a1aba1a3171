"""The latent canvas as a picture for print: PNG at a scale, SVG and PDF as vectors.

All three show the canvas as it is on screen (same view, items and colours), painted by
gui/plot_export.py (the one way a plot becomes a file; see there for how each format is made). What
is the canvas' own: the area is what its view shows, at its size on screen; its labels are laid out
first (a layout still due would otherwise be missed); the PNG's scale is a whole multiple checked
as every figure's is (core/figure_files.py); and its SVG has two layers, the plot area clipped to
it and the axes around it.

Painting must happen on the GUI thread, in a few hundred milliseconds for 10,000 points; the
encoding and writing of the file is the caller's to run elsewhere (app/figure_work.py).
"""

from __future__ import annotations

from functools import partial
from typing import Callable

import numpy as np

from latentlab.app.portable_svg import combine_layers
from latentlab.core.figure_files import figure_bytes, scaled_size

from . import plot_export
from .canvas import LatentCanvas
from .plot_export import SceneArea

TITLE = "latentlab canvas"
DESCRIPTION = "The latent canvas of latentlab"


def canvas_picture(canvas: LatentCanvas, format: str, scale: int = 1) -> Callable[[], bytes]:
    """Paint the canvas now, on the GUI thread, as `format` ("png" at `scale`, "svg", "pdf");
    returns the call that encodes the file's bytes, which may run on any thread."""
    if format == "png":
        pixels = render_png(canvas, scale)
        return partial(figure_bytes, pixels, 1, "png")
    if format == "svg":
        return partial(combine_layers, *svg_layers(canvas))
    if format == "pdf":
        data = render_pdf(canvas)
        return lambda: data
    raise ValueError(f"the canvas is exported as png, svg or pdf, not {format!r}")


def render_png(canvas: LatentCanvas, scale: int) -> np.ndarray:
    """The canvas at `scale` times its size on screen, as uint8 (H, W, 3) RGB."""
    area = _area(canvas)
    scaled_size((area.height, area.width), scale)          # refuses a scale out of range, or too many pixels
    return plot_export.image_pixels(plot_export.render_image(area, scale))


def render_pdf(canvas: LatentCanvas, title: str = TITLE) -> bytes:
    """The canvas as a one-page vector PDF of its size."""
    return plot_export.pdf_bytes(_area(canvas), title)


def render_svg(canvas: LatentCanvas) -> bytes:
    """The canvas as a vector SVG of its size in px (painting and encoding at once)."""
    return combine_layers(*svg_layers(canvas))


def svg_layers(canvas: LatentCanvas, title: str = TITLE):
    """The arguments of app.portable_svg.combine_layers for the canvas: the SVG of what lies in
    the plot area, clipped to it, and of the axes around it, on the canvas' colour."""
    return plot_export.svg_layers(_area(canvas), title, DESCRIPTION)


def _area(canvas: LatentCanvas) -> SceneArea:
    canvas.layout_labels_now()
    return SceneArea.of_view(canvas)
