"""The latent canvas as a picture for print: PNG at a scale, SVG and PDF as vectors.

All three draw the canvas' scene as it is on screen (same view, items and colours), with the
items in pyqtgraph's export mode: the scatter's points are drawn one by one as shapes instead of
being stamped from a cached 1x pixmap, and no item uses its screen cache, so nothing is an
enlarged bitmap.

* PNG: painted on an image with a device pixel ratio of `scale`, exactly as on a screen that much
  denser: lines, markers and text are drawn at the higher resolution (crisp), the layout stays.
* PDF: painted on a QPdfWriter page of the canvas' size (1 screen pixel = 1/96 inch).
* SVG: painted with QSvgGenerator in two layers, what lies inside the plot area and the axes
  around it, then repaired and stacked by app/portable_svg.py (Qt's SVG clipping is stale and its
  cosmetic strokes rely on a feature librsvg lacks; see there).

Painting must happen on the GUI thread, in a few hundred milliseconds for 10,000 points; the
encoding and writing of the file is the caller's to run elsewhere (app/figure_work.py).
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import partial
from typing import Callable

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice, QMarginsF, QRectF, QSize, QSizeF
from PySide6.QtGui import QColor, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem

from latentlab.app.portable_svg import combine_layers
from latentlab.core.figure_files import figure_bytes, scaled_size

from .canvas import LatentCanvas

SCREEN_DPI = 96          # CSS pixels: a canvas 600 px wide is 6.25 in (15.9 cm) in the PDF and SVG
TITLE = "latentlab canvas"


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
    width, height = _size(canvas)
    scaled_size((height, width), scale)          # refuses a scale out of range, or too many pixels
    image = QImage(width * scale, height * scale, QImage.Format.Format_RGB888)
    image.setDevicePixelRatio(scale)
    image.fill(_background(canvas))
    _paint(canvas, image)
    pixels = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    return pixels.reshape(image.height(), image.bytesPerLine())[:, :image.width() * 3] \
        .reshape(image.height(), image.width(), 3).copy()


def render_pdf(canvas: LatentCanvas, title: str = TITLE) -> bytes:
    """The canvas as a one-page vector PDF of its size."""
    width, height = _size(canvas)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    pdf = QPdfWriter(buffer)
    pdf.setResolution(SCREEN_DPI)
    pdf.setPageLayout(QPageLayout(QPageSize(QSizeF(width * 72 / SCREEN_DPI, height * 72 / SCREEN_DPI),
                                            QPageSize.Unit.Point, TITLE),
                                  QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
    pdf.setCreator("latentlab")
    pdf.setTitle(title)
    _paint(canvas, pdf, fill=True)
    buffer.close()
    return bytes(buffer.data())


def render_svg(canvas: LatentCanvas) -> bytes:
    """The canvas as a vector SVG of its size in px (painting and encoding at once)."""
    return combine_layers(*svg_layers(canvas))


def svg_layers(canvas: LatentCanvas, title: str = TITLE):
    """The arguments of app.portable_svg.combine_layers for the canvas: the SVG of what lies in
    the plot area, clipped to it, and of the axes around it, on the canvas' colour."""
    vb = canvas.plot_item.vb
    inside = [item for item in canvas.scene().items() if item is vb or vb.isAncestorOf(item)]
    outside = [item for item in canvas.scene().items()
               if item not in inside and not item.isAncestorOf(vb)]
    area = canvas.mapFromScene(vb.sceneBoundingRect()).boundingRect()
    layers = []
    for hidden in (outside, [vb]):
        with _hidden(hidden):
            layers.append(_svg_layer(canvas, title))
    clip = (float(area.x()), float(area.y()), float(area.width()), float(area.height()))
    return layers, [clip, None], _background(canvas).name()


def _svg_layer(canvas: LatentCanvas, title: str) -> bytes:
    width, height = _size(canvas)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator(QSvgGenerator.SvgVersion.Svg11)
    generator.setOutputDevice(buffer)
    generator.setSize(QSize(width, height))
    generator.setViewBox(QRectF(0, 0, width, height))
    generator.setResolution(SCREEN_DPI)
    generator.setTitle(title)
    generator.setDescription("The latent canvas of latentlab")
    _paint(canvas, generator)
    buffer.close()
    return bytes(buffer.data())


# -- painting ---------------------------------------------------------------------------------------
def _size(canvas: LatentCanvas) -> tuple[int, int]:
    viewport = canvas.viewport()
    return viewport.width(), viewport.height()


def _background(canvas: LatentCanvas) -> QColor:
    return canvas.backgroundBrush().color()


def _paint(canvas: LatentCanvas, device, fill: bool = False) -> None:
    width, height = _size(canvas)
    target = QRectF(0, 0, width, height)
    source = canvas.viewportTransform().inverted()[0].mapRect(QRectF(canvas.viewport().rect()))
    canvas.layout_labels_now()          # a layout still due would otherwise be missed
    painter = QPainter(device)
    try:
        if fill:
            painter.fillRect(target, _background(canvas))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        with _export_mode(canvas):
            canvas.scene().render(painter, target, source)
    finally:
        painter.end()


@contextmanager
def _export_mode(canvas: LatentCanvas):
    """pyqtgraph's export mode on every item (shapes, not cached stamps), and no screen caches."""
    items = canvas.scene().items()
    caches = [(item, item.cacheMode()) for item in items]
    for item in items:
        item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
        if hasattr(item, "setExportMode"):
            item.setExportMode(True, {"antialias": True})
    try:
        yield
    finally:
        for item, cache in caches:
            if hasattr(item, "setExportMode"):
                item.setExportMode(False)
            item.setCacheMode(cache)


@contextmanager
def _hidden(items):
    """Leave `items` out of a paint without touching the layout (an item of opacity 0 is skipped;
    hiding an axis would move the plot)."""
    opacities = [(item, item.opacity()) for item in items]
    for item in items:
        item.setOpacity(0.0)
    try:
        yield
    finally:
        for item, opacity in opacities:
            item.setOpacity(opacity)
