"""A pyqtgraph scene (a plot, a GraphicsLayout of plots, a plot widget's view) as a picture for
print: PNG at a scale, SVG and PDF as vectors. The one way latentlab paints a plot into a file; the
training curves (gui/curves.py) and the latent canvas (gui/canvas_export.py) both use it.

What is painted is a `SceneArea`: a rectangle of a scene, drawn at a size in screen pixels on a
background colour. Every item is in pyqtgraph's export mode while it is painted: a scatter's
points are drawn one by one as shapes instead of being stamped from a cached 1x pixmap, and no item
uses its screen cache, so nothing is an enlarged bitmap.

* PNG: painted on an image with a device pixel ratio of `scale`, exactly as on a screen that much
  denser: lines, markers and text are drawn at the higher resolution (crisp), the layout stays.
  Encoded by core/figure_files.py, like every pixel figure.
* PDF: one page of the area's size, at the screen's 96 dpi (1 px = 0.75 pt), so pyqtgraph's
  1-pixel cosmetic pens are 1/96 inch wide, as on screen, not hairlines of a printer's resolution.
* SVG: QSvgGenerator, then app/portable_svg.py so that librsvg and Inkscape draw it as browsers do
  (Qt's cosmetic strokes rely on a feature librsvg lacks, and its clipping is stale). Since Qt's
  clips are dropped there, the scene is painted in layers: one for what each ViewBox holds,
  clipped to it (a zoomed plot's curves run past its edges), and one for the rest (axes, titles,
  keys) on top, unclipped; each layer has the others' items at opacity 0.
  (pyqtgraph's own SVGExporter is not used: librsvg left the zoomed panel's curves out of its SVG
  of the curves and drew the KL many pixels wide, and under Qt >= 6.10 it fails outright unless
  patched, pyqtgraph issue #3495.)

Painting must happen on the GUI thread (the scene lives there); combining SVG layers and encoding
a PNG may run anywhere.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QIODevice, QMarginsF, QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import QColor, QImage, QPageLayout, QPageSize, QPainter, QPaintDevice, QPdfWriter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QFileDialog, QGraphicsItem, QGraphicsScene, QGraphicsView, QGraphicsWidget

from latentlab.app.portable_svg import Rect, combine_layers
from latentlab.core.atomic_write import replace_file
from latentlab.core.figure_files import MAX_PIXELS, figure_bytes

SCREEN_DPI = 96          # CSS pixels: a figure 760 px wide is 7.9 in (20 cm) in the PDF and SVG
POINTS_PER_PIXEL = 72 / SCREEN_DPI
KINDS = ("svg", "pdf", "png")


def settle_layout(item) -> None:
    """Lay out `item` and everything in it now. Qt lays out graphics widgets when the event loop
    next runs; an export renders before that, so it activates the layouts itself, top down."""
    own = QGraphicsWidget.layout(item) if isinstance(item, QGraphicsWidget) else None   # pyqtgraph shadows .layout
    if own is not None:
        own.activate()
    for child in item.childItems():
        settle_layout(child)
    if isinstance(item, pg.ViewBox):
        item.updateAutoRange()


@dataclass(frozen=True)
class SceneArea:
    """What a picture shows: `source` (scene coordinates) of `scene`, drawn `width` x `height`
    screen pixels on `background`."""
    scene: QGraphicsScene
    source: QRectF
    width: int
    height: int
    background: QColor

    @classmethod
    def of_item(cls, item: QGraphicsItem, background) -> SceneArea:
        """The item's rectangle (with its children: a whole GraphicsLayout) at its size."""
        rect = item.sceneBoundingRect()
        return cls(item.scene(), rect, max(1, round(rect.width())), max(1, round(rect.height())), QColor(background))

    @classmethod
    def of_view(cls, view: QGraphicsView) -> SceneArea:
        """What the view shows, at the view's size, on its background."""
        viewport = view.viewport()
        source = view.viewportTransform().inverted()[0].mapRect(QRectF(viewport.rect()))
        return cls(view.scene(), source, viewport.width(), viewport.height(), view.backgroundBrush().color())

    def to_picture(self, rect: QRectF) -> Rect:
        """A rectangle of the scene in the picture's pixels."""
        sx, sy = self.width / self.source.width(), self.height / self.source.height()
        return ((rect.x() - self.source.x()) * sx, (rect.y() - self.source.y()) * sy,
                rect.width() * sx, rect.height() * sy)


# -- the three formats ----------------------------------------------------------------------------
def render_image(area: SceneArea, scale: float) -> QImage:
    """The area painted at `scale` pixels per screen pixel (drawn at that resolution, not enlarged)."""
    width, height = round(area.width * scale), round(area.height * scale)
    if not scale > 0 or width * height > MAX_PIXELS:
        raise ValueError(f"cannot paint a {area.width} x {area.height} px picture at scale {scale!r} "
                         f"(at most {MAX_PIXELS / 1e6:.0f} megapixels)")
    image = QImage(max(1, width), max(1, height), QImage.Format.Format_RGB888)
    image.setDevicePixelRatio(scale)
    _paint(area, image, fill=True)
    return image


def image_pixels(image: QImage) -> np.ndarray:
    """An RGB888 image as uint8 (H, W, 3), a copy (QImage rows are padded to 4 bytes)."""
    pixels = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    return pixels.reshape(image.height(), image.bytesPerLine())[:, :image.width() * 3] \
        .reshape(image.height(), image.width(), 3).copy()


def png_bytes(area: SceneArea, scale: float) -> bytes:
    return figure_bytes(image_pixels(render_image(area, scale)), 1, "png")


def pdf_bytes(area: SceneArea, title: str = "") -> bytes:
    """A one-page vector PDF; the page is the area's size in points."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    pdf = QPdfWriter(buffer)
    pdf.setResolution(SCREEN_DPI)
    pdf.setCreator("latentlab")
    pdf.setTitle(title)
    page = QPageSize(QSizeF(area.width * POINTS_PER_PIXEL, area.height * POINTS_PER_PIXEL),
                     QPageSize.Unit.Point, "figure", QPageSize.SizeMatchPolicy.ExactMatch)
    pdf.setPageLayout(QPageLayout(page, QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
    _paint(area, pdf, fill=True)
    buffer.close()
    return bytes(buffer.data())


def svg_layers(area: SceneArea, title: str = "", description: str = ""):
    """The arguments of app.portable_svg.combine_layers for the area (painting now, combining
    later, perhaps on another thread): a layer for each ViewBox shown, clipped to it, then one of
    everything else, on the area's background."""
    boxes = _view_boxes(area)
    items = area.scene.items()
    layers, clips = [], []
    for box in boxes:
        with _hidden([item for item in items
                      if item is not box and not box.isAncestorOf(item) and not item.isAncestorOf(box)]):
            layers.append(_svg_layer(area, title, description))
        clips.append(area.to_picture(box.sceneBoundingRect()))
    with _hidden(boxes):
        layers.append(_svg_layer(area, title, description))
    clips.append(None)
    return layers, clips, area.background.name()


def svg_bytes(area: SceneArea, title: str = "", description: str = "") -> bytes:
    """The area as a portable vector SVG of its size in px (painting and combining at once)."""
    return combine_layers(*svg_layers(area, title, description))


def write_figure(item: QGraphicsItem, path, background: QColor, scale: float = 2.0, kind: str | None = None,
                 title: str = "") -> Path:
    """Write the item as "svg", "pdf" or "png" at `scale` (`kind`; by default the suffix of
    `path`). Any failure is an OSError naming the file; the file is then left as it was."""
    path = Path(path)
    kind = (kind or path.suffix.lstrip(".")).lower()
    if kind not in KINDS:
        raise OSError(f"cannot write {path}: the file name must end in .svg, .pdf or .png")
    area = SceneArea.of_item(item, background)
    makers = {"svg": lambda: svg_bytes(area, title), "pdf": lambda: pdf_bytes(area, title),
              "png": lambda: png_bytes(area, scale)}
    try:
        data = makers[kind]()
    except (ValueError, TypeError, RuntimeError) as e:   # a drawing that cannot be made
        raise OSError(f"cannot write {path}: the {kind.upper()} export failed ({e})") from e
    return replace_file(path, data)


@contextmanager
def laid_out_at(item, size: tuple[float, float]):
    """Lay `item` out at an export's fixed `size` (px) for the time of the block, then back at the
    size it has on screen: a figure is the same whatever the size of its dock."""
    shown = item.geometry()
    try:
        item.setGeometry(QRectF(0, 0, *size))
        settle_layout(item)
        yield item
    finally:
        item.setGeometry(shown)
        settle_layout(item)


class FigureExportActions:
    """The "Export … as a figure" pair of a plot view: a save dialog (a person's click) and an
    export that says in the status bar what it wrote, or why not. The view defines
    `export_figure(path)` (raising OSError naming the file) and a `statusMessage` signal, and
    names what it shows in `FIGURE_NAME` ("the collapse view") and `FIGURE_FILE` ("collapse")."""

    FIGURE_NAME = "the figure"
    FIGURE_FILE = "figure"

    def export_dialog(self, folder: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Export {self.FIGURE_NAME.removeprefix('the ')}",
                                              str(Path(folder) / f"{self.FIGURE_FILE}.png"),
                                              "Figures (*.png *.svg *.pdf)")
        if path:
            self.export(path)

    def export(self, path) -> bool:
        try:
            self.export_figure(path)
        except OSError as e:
            self.statusMessage.emit(str(e))
            return False
        self.statusMessage.emit(f"Exported {self.FIGURE_NAME} to {path}")
        return True


# -- painting -------------------------------------------------------------------------------------
def _svg_layer(area: SceneArea, title: str, description: str) -> bytes:
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator(QSvgGenerator.SvgVersion.Svg11)
    generator.setOutputDevice(buffer)
    generator.setSize(QSize(area.width, area.height))
    generator.setViewBox(QRectF(0, 0, area.width, area.height))
    generator.setResolution(SCREEN_DPI)
    generator.setTitle(title)
    generator.setDescription(description)
    _paint(area, generator)
    buffer.close()
    return bytes(buffer.data())


def _paint(area: SceneArea, device: QPaintDevice, fill: bool = False) -> None:
    target = QRectF(0, 0, area.width, area.height)
    painter = QPainter()
    if not painter.begin(device):
        raise RuntimeError("could not start painting the picture")
    try:
        if fill:
            painter.fillRect(target, area.background)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        with _export_mode(area.scene):
            area.scene.render(painter, target, area.source)
    finally:
        painter.end()


@contextmanager
def _export_mode(scene: QGraphicsScene):
    """pyqtgraph's export mode on every item (shapes, not cached stamps), and no screen caches."""
    items = scene.items()
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


def _view_boxes(area: SceneArea) -> list:
    """The ViewBoxes shown in the area, bottom first, outermost only (a box in a box is in its layer)."""
    boxes = [item for item in area.scene.items(Qt.SortOrder.AscendingOrder)
             if isinstance(item, pg.ViewBox) and item.isVisible()
             and item.sceneBoundingRect().intersects(area.source)]
    return [box for box in boxes if not any(other is not box and other.isAncestorOf(box) for other in boxes)]


@contextmanager
def _hidden(items):
    """Leave `items` out of a paint without touching the layout (an item of opacity 0 is skipped,
    with its children; hiding an axis would move the plot)."""
    opacities = [(item, item.opacity()) for item in items]
    for item in items:
        item.setOpacity(0.0)
    try:
        yield
    finally:
        for item, opacity in opacities:
            item.setOpacity(opacity)
