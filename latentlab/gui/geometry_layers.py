"""The geometry layers on the latent canvas (issue 11): the magnification map and the aggregate posterior.

A view of `GeometryLayers` (app/geometry_layers.py), and the canvas' side of its requests: the
region the canvas shows is sent to the state once the view settles (a pan or zoom ends), and the
work (app/geometry_work.py) computes maps for it on a thread of its own. Drawing a map that
arrived is one `setImage` on the GUI thread.

* magnification: log sqrt(det(J^T J)) through viridis, partly transparent so the test set reads
  on top, with a colour bar ("log magnification", its finite min..max) in the canvas' lower right;
* q(z): log q(z) over the DENSITY_RANGE nats below its peak, its transparency rising with the
  density (the canvas' dark background where the data puts nothing), the holes (the prior high,
  q(z) below a tenth of it) outlined in red along their cells' edges (traced off the GUI thread), and a key in the lower left with the ELBO surgery
  numbers. The prior's 1σ and 2σ circles are the canvas' own (dashed, always drawn).

Both images sit under everything else: below the scatter (z 1), the true posterior (3) and the
prior's circles (5). The keys float over the plot like the legend, so the canvas' exports carry them.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QTimer
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from latentlab.app.explorer_state import ExplorerState
from latentlab.app.geometry_layers import AggregateMap, GeometryLayers, MagnificationMap, fits_plane
from latentlab.core.map_figures import DENSITY_RANGE, VIRIDIS

from .canvas import LatentCanvas
from .colour_bar import ColourBar

MAGNIFICATION_Z, AGGREGATE_Z, HOLES_Z = 0.4, 0.5, 0.6     # under the scatter (1)
MAGNIFICATION_ALPHA = 150          # of 255: the map shows, the test set's points still read on it
AGGREGATE_ALPHA = 215              # at q(z)'s peak; falling to 0 DENSITY_RANGE nats below it
HOLE_COLOUR = "#ff4040"            # core/map_figures.HOLE_RGB
SETTLE_MS = 120                    # the view is sent this long after it last moved


def magnification_rgba(log_magnification: np.ndarray, lut: np.ndarray, alpha: int = MAGNIFICATION_ALPHA
                       ) -> tuple[np.ndarray, tuple[float, float] | None]:
    """(n1, n2) log magnification -> ((n1, n2, 4) uint8 through `lut` over its finite min..max, the
    range). -inf (a singular J^T J: the decoder does not move at all) is the darkest colour."""
    values = np.asarray(log_magnification, dtype=np.float64)
    finite = values[np.isfinite(values)]
    levels = (float(finite.min()), float(finite.max())) if finite.size else None
    if levels is None or levels[1] <= levels[0]:
        t = np.zeros_like(values)
    else:
        t = np.nan_to_num((values - levels[0]) / (levels[1] - levels[0]), nan=0.0, posinf=1.0, neginf=0.0)
    index = (np.clip(t, 0.0, 1.0) * (len(lut) - 1)).round().astype(np.intp)
    rgba = np.empty(values.shape + (4,), np.uint8)
    rgba[..., :3] = lut[index, :3]
    rgba[..., 3] = alpha
    return rgba, levels


def density_rgba(log_density: np.ndarray, lut: np.ndarray, span: float = DENSITY_RANGE,
                 alpha: int = AGGREGATE_ALPHA) -> np.ndarray:
    """(n1, n2) log q(z) -> (n1, n2, 4) uint8: the colour map over the `span` nats below the peak,
    opaque at the peak and fading to transparent at `span` below it (and below)."""
    values = np.asarray(log_density, dtype=np.float64)
    finite = values[np.isfinite(values)]
    peak = float(finite.max()) if finite.size else 0.0
    t = np.clip(np.nan_to_num((values - (peak - span)) / span, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    rgba = np.empty(values.shape + (4,), np.uint8)
    rgba[..., :3] = lut[(t * (len(lut) - 1)).round().astype(np.intp), :3]
    rgba[..., 3] = (alpha * np.sqrt(t)).astype(np.uint8)       # the tails show, the empty stays dark
    return rgba


def _rect(extent) -> QRectF:
    return QRectF(extent[0], extent[2], extent[1] - extent[0], extent[3] - extent[2])


class GeometryLayer:
    """The canvas items: two images, the holes' outline and the two keys."""

    def __init__(self, canvas: LatentCanvas):
        plot = canvas.plot_item
        self.magnification_image = pg.ImageItem(axisOrder="col-major")
        self.aggregate_image = pg.ImageItem(axisOrder="col-major")
        for item, z in ((self.magnification_image, MAGNIFICATION_Z), (self.aggregate_image, AGGREGATE_Z)):
            item.setZValue(z)
            plot.addItem(item, ignoreBounds=True)
        self.holes = QGraphicsPathItem()
        pen = QPen(QColor(HOLE_COLOUR), 1.6)
        pen.setCosmetic(True)                  # its width in screen pixels, at any zoom
        self.holes.setPen(pen)
        self.holes.setZValue(HOLES_Z)
        plot.addItem(self.holes, ignoreBounds=True)
        self.magnification_lut = VIRIDIS
        self.aggregate_lut = pg.colormap.get("CET-L6").getLookupTable(0.0, 1.0, 256, alpha=False)   # black-blue-cyan: unlike the red holes
        self.magnification_bar = ColourBar("log magnification", self.magnification_lut, plot.vb, corner=(1, 1))
        self.aggregate_bar = ColourBar("log q(z), nats", self.aggregate_lut, plot.vb, corner=(0, 1), offset=(6, -6))
        self.magnification: MagnificationMap | None = None
        self.aggregate: AggregateMap | None = None
        self.show_magnification(None)
        self.show_aggregate(None)

    def show_magnification(self, picture: MagnificationMap | None) -> None:
        """Draw `picture` (None hides the layer and its colour bar); one setImage per new picture."""
        if picture is not None and picture is not self.magnification:
            rgba, levels = magnification_rgba(picture.log_magnification, self.magnification_lut)
            self.magnification_image.setImage(rgba, autoLevels=False)
            self.magnification_image.setRect(_rect(picture.extent))
            if levels is not None:
                self.magnification_bar.set_levels(*levels)
        self.magnification = picture
        self.magnification_image.setVisible(picture is not None)
        self.magnification_bar.setVisible(picture is not None and picture.finite_range() is not None)

    def show_aggregate(self, picture: AggregateMap | None, numbers: list[str] | None = None) -> None:
        """Draw q(z), its holes and its key with `numbers` (lines of text); None hides them."""
        if picture is not None and picture is not self.aggregate:
            self.aggregate_image.setImage(density_rgba(picture.log_density, self.aggregate_lut), autoLevels=False)
            self.aggregate_image.setRect(_rect(picture.extent))
            edges = picture.outline()
            self.holes.setPath(pg.arrayToQPath(edges[:, :, 0].ravel(), edges[:, :, 1].ravel(), connect="pairs"))
            self.aggregate_bar.set_levels(picture.peak - DENSITY_RANGE, picture.peak)
        self.aggregate = picture
        if numbers is not None:
            self.aggregate_bar.set_notes(numbers)
        for item in (self.aggregate_image, self.holes, self.aggregate_bar):
            item.setVisible(picture is not None)

    def set_ui_scale(self, factor: float) -> None:
        for bar in (self.magnification_bar, self.aggregate_bar):
            bar.set_ui_scale(factor)


def key_lines(layers: GeometryLayers, picture: AggregateMap | None) -> list[str]:
    """The lines under q(z)'s key: the surgery numbers and what the red outline is."""
    lines = []
    surgery = layers.surgery
    if surgery is not None:
        se = f" ± {surgery.stderr:.2f}" if surgery.stderr is not None else ""
        lines += [f"I(x;z) = {surgery.mutual_information:.2f}{se} nats",
                  f"KL(q(z)||p(z)) = {surgery.marginal_kl:.2f}{se} nats",
                  f"({surgery.n_images:,} test images)"]
    if picture is not None:
        lines.append("red: holes (q(z) < p(z)/10)" if picture.hole_cells else "no holes in the prior's 2σ disc")
    return lines


class GeometryPresenter(QObject):
    """Draws the layers' state on the canvas, and sends the canvas' view to it once it settles."""

    def __init__(self, layers: GeometryLayers, state: ExplorerState, canvas: LatentCanvas):
        super().__init__(canvas)
        self.layers, self.state, self.canvas = layers, state, canvas
        self.layer = GeometryLayer(canvas)
        events = layers.events
        for event in (events.shown, events.magnification, events.aggregate, events.numbers):
            event.connect(self.draw)
        state.events.plane.connect(self.draw)
        # Sent when the view settles: a pan sends one view, not one per mouse move. The maps have
        # a margin, so what is uncovered meanwhile is an edge, and the work decides what is new.
        self._settle = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._settle.timeout.connect(self.send_view)
        canvas.plot_item.vb.sigRangeChanged.connect(lambda *_: self._settle.start())
        self.send_view()
        self.draw()

    def send_view(self) -> None:
        self._settle.stop()
        (u0, u1), (v0, v1) = self.canvas.plot_item.vb.viewRange()
        self.layers.set_view((u0, u1, v0, v1))

    def view_pending(self) -> bool:
        """The view moved and is not sent yet."""
        return self._settle.isActive()

    def draw(self) -> None:
        layers, plane = self.layers, self.state.plane
        magnification, aggregate = layers.magnification, layers.aggregate
        if not layers.shown.magnification or magnification is None or not fits_plane(magnification.plane, plane):
            magnification = None
        if not layers.shown.aggregate or aggregate is None or not fits_plane(aggregate.plane, plane):
            aggregate = None
        self.layer.show_magnification(magnification)
        self.layer.show_aggregate(aggregate, key_lines(layers, aggregate))

    def set_ui_scale(self, factor: float) -> None:
        self.layer.set_ui_scale(factor)
