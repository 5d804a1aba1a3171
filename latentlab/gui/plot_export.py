"""A pyqtgraph scene as a file: SVG and PDF as vectors (lines, points, text stay sharp at any
size), PNG as pixels at a chosen scale. Each is made in memory and written whole or not at all.

SVG goes through pyqtgraph's SVGExporter, which repairs what Qt's SVG generator gets wrong for
plots (cosmetic pens, clipping). Its coordinate rewriting in pyqtgraph 0.14 cannot read the
"Z" (close path) that Qt >= 6.10 writes for every rectangle, and so fails on any plot
(pyqtgraph issue #3495); `_tolerate_closed_paths` takes the Zs out around that step and puts them
back. PDF is the scene painted onto a QPdfWriter page of exactly the
scene's size; its resolution is the screen's 96 dpi, so the 1-pixel cosmetic pens of pyqtgraph
are 1/96 inch wide, as on screen, not hairlines of the printer's resolution.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, QSizeF
from PySide6.QtGui import QColor, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter
from PySide6.QtWidgets import QGraphicsItem

from latentlab.core.atomic_write import replace_file

SCREEN_DPI = 96
POINTS_PER_PIXEL = 72 / SCREEN_DPI


def svg_bytes(item: QGraphicsItem) -> bytes:
    """The item (and its children: a whole GraphicsLayout) as an SVG document."""
    from pyqtgraph.exporters import SVGExporter

    _tolerate_closed_paths()
    data = SVGExporter(item).export(toBytes=True)
    return bytes(data)


def _tolerate_closed_paths() -> None:
    """Wrap pyqtgraph's SVG coordinate rewriting so that it never sees a "Z" token (once)."""
    module = importlib.import_module("pyqtgraph.exporters.SVGExporter")
    correct = getattr(module, "correctCoordinates", None)
    if correct is None or getattr(correct, "tolerates_closed_paths", False):
        return

    def correct_coordinates(node, *args, **kwargs):
        closes = {}
        for path in node.getElementsByTagName("path"):
            tokens = path.getAttribute("d").split()
            if any(t in _CLOSE for t in tokens):
                coords = [t for t in tokens if t not in _CLOSE]
                # after how many coordinate tokens each Z came
                closes[path] = [sum(1 for u in tokens[:i] if u not in _CLOSE) for i, t in enumerate(tokens)
                                if t in _CLOSE]
                path.setAttribute("d", " ".join(coords))
        result = correct(node, *args, **kwargs)
        for path, after in closes.items():
            tokens = path.getAttribute("d").split()
            for n in reversed(after):
                tokens.insert(n, "Z")
            path.setAttribute("d", " ".join(tokens))
        return result

    correct_coordinates.tolerates_closed_paths = True
    module.correctCoordinates = correct_coordinates


_CLOSE = ("Z", "z")


def pdf_bytes(item: QGraphicsItem, background: QColor) -> bytes:
    """A one-page PDF of the item's rectangle; the page is the item's size in points (1 px = 0.75 pt)."""
    rect = item.sceneBoundingRect()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setResolution(SCREEN_DPI)
    writer.setCreator("latentlab")
    page = QPageSize(QSizeF(rect.width() * POINTS_PER_PIXEL, rect.height() * POINTS_PER_PIXEL),
                     QPageSize.Unit.Point, "figure", QPageSize.SizeMatchPolicy.ExactMatch)
    writer.setPageLayout(QPageLayout(page, QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError("could not start a PDF page")
    try:
        _paint(painter, item, rect, QRectF(0, 0, rect.width(), rect.height()), background)
    finally:
        painter.end()
    buffer.close()
    return bytes(data.data())


def png_bytes(item: QGraphicsItem, background: QColor, scale: float = 2.0) -> bytes:
    """The item painted at `scale` pixels per screen pixel (text and lines drawn at that size, not
    magnified). The image keeps the screen's dots per inch: pyqtgraph's axes replay recorded
    QPictures, whose text Qt would enlarge a second time for an image of a higher resolution."""
    rect = item.sceneBoundingRect()
    image = QImage(max(1, round(rect.width() * scale)), max(1, round(rect.height() * scale)),
                   QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _paint(painter, item, rect, QRectF(0, 0, image.width(), image.height()), background, scale)
    finally:
        painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError("could not encode the PNG")
    buffer.close()
    return bytes(data.data())


def write_figure(item: QGraphicsItem, path, background: QColor, scale: float = 2.0, kind: str | None = None) -> Path:
    """Write the item as "svg", "pdf" or "png" (`kind`; by default the suffix of `path`).
    Any failure is an OSError naming the file; the file is then left as it was."""
    path = Path(path)
    kind = (kind or path.suffix.lstrip(".")).lower()
    makers = {"svg": lambda: svg_bytes(item), "pdf": lambda: pdf_bytes(item, background),
              "png": lambda: png_bytes(item, background, scale)}
    if kind not in makers:
        raise OSError(f"cannot write {path}: the file name must end in .svg, .pdf or .png")
    try:
        data = makers[kind]()
    except (ValueError, TypeError, RuntimeError) as e:   # a drawing the exporter cannot handle
        raise OSError(f"cannot write {path}: the {kind.upper()} export failed ({e})") from e
    return replace_file(path, data)


def _paint(painter: QPainter, item: QGraphicsItem, source: QRectF, target: QRectF, background: QColor,
           scale: float = 1.0) -> None:
    """Paint the scene's `source` onto `target` with pyqtgraph's export mode on (as its own
    ImageExporter does): points are then drawn one by one at `scale` (as vector paths in a PDF)
    instead of being copied from a screen-sized pixmap cache."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    painter.fillRect(target, background)
    items = [item, *_descendants(item)]
    options = {"antialias": True, "background": background, "painter": painter, "resolutionScale": scale}
    try:
        for each in items:
            if hasattr(each, "setExportMode"):
                each.setExportMode(True, options)
        item.scene().render(painter, target, source)
    finally:
        for each in items:
            if hasattr(each, "setExportMode"):
                each.setExportMode(False)


def _descendants(item: QGraphicsItem):
    for child in item.childItems():
        yield child
        yield from _descendants(child)
