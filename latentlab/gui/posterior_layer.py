"""The true posterior p(z|x) of the selected image on the latent canvas, and the optimised q*.

A view of `GroundTruthState` (app/ground_truth.py): a heat map (an ImageItem, transparent where
the density is negligible) or filled contours of the highest-density regions holding 39 % and
86 % of the mass (what the 1σ and 2σ ellipses of a Gaussian hold, so the q ellipses drawn on top
compare directly), and q* (the q optimised for this image alone, from the gaps) as dashed
ellipses when asked for. The layer sits above the scatter and below the prior's circles, the
ellipses, the draws and the pins, so everything drawn on top of it stays readable.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen, QTransform
from PySide6.QtWidgets import QGraphicsPathItem

from latentlab.app.explorer_state import ExplorerState
from latentlab.app.ground_truth import GroundTruthState, TruePosterior
from latentlab.app.plane import Ellipse

from .canvas import LatentCanvas

LAYER_Z = 3                  # above the scatter (1), below the prior circles (5) and the ellipses (20)
Q_STAR_Z = 21
CONTOUR_COLOUR = "#ff8c42"   # unlike the ellipses' bright colours and the scatter's label colours
Q_STAR_COLOUR = "#9cff57"
NEGLIGIBLE = 1e-3            # densities below this share of the peak are fully transparent


def heat_rgba(density: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """(n1, n2) densities -> (n1, n2, 4) uint8: a colour map over density / peak, its alpha rising
    with the density (a square-root ramp, so the tails show) and 0 where it is negligible."""
    peak = float(density.max()) if density.size else 0.0
    t = np.clip(density / peak, 0.0, 1.0) if peak > 0 else np.zeros_like(density)
    rgba = lut[np.minimum((t * (len(lut) - 1)).astype(np.int64), len(lut) - 1)].copy()
    alpha = 235.0 * np.sqrt(t)
    alpha[t < NEGLIGIBLE] = 0
    rgba[..., 3] = alpha.astype(np.uint8)
    return rgba


def region_path(density: np.ndarray, level: float, extent) -> QPainterPath:
    """The outline of {density >= level} in canvas coordinates (odd-even filled: holes stay holes)."""
    padded = np.pad(density, 1)          # closed curves even where the region touches the grid's edge
    path = pg.isocurve(padded, level, connected=True, path=True)
    n1, n2 = density.shape
    h1, h2 = (extent[1] - extent[0]) / n1, (extent[3] - extent[2]) / n2
    # isocurve works in cell-edge units of the padded grid: cell i spans [i, i + 1], i = 1 is ours 0
    transform = QTransform(h1, 0, 0, h2, extent[0] - h1, extent[2] - h2)
    path = transform.map(path)
    path.setFillRule(Qt.FillRule.OddEvenFill)
    return path


class TruePosteriorLayer:
    """The canvas items: heat map, two filled regions with outlines, and the q* ellipses."""

    def __init__(self, canvas: LatentCanvas):
        plot = canvas.plot_item
        self.heat = pg.ImageItem(axisOrder="col-major")
        self.heat.setZValue(LAYER_Z)
        plot.addItem(self.heat, ignoreBounds=True)
        self._lut = pg.colormap.get("inferno").getLookupTable(0.0, 1.0, 256, alpha=True)
        self.regions = []
        for alpha, width in ((70, 1.2), (120, 2.0)):        # the 86 % region, then the 39 % one
            item = QGraphicsPathItem()
            pen = QPen(QColor(CONTOUR_COLOUR), width)
            pen.setCosmetic(True)              # the outline's width in screen pixels, at any zoom
            item.setPen(pen)
            colour = QColor(CONTOUR_COLOUR)
            colour.setAlpha(alpha)
            item.setBrush(QBrush(colour))
            item.setZValue(LAYER_Z)
            plot.addItem(item, ignoreBounds=True)
            self.regions.append(item)
        self.q_star = []
        for k, style in ((1.0, Qt.PenStyle.DashLine), (2.0, Qt.PenStyle.DotLine)):
            curve = pg.PlotCurveItem(pen=pg.mkPen(Q_STAR_COLOUR, width=2, style=style), antialias=True)
            curve.setZValue(Q_STAR_Z)
            plot.addItem(curve, ignoreBounds=True)
            self.q_star.append((k, curve))
        self.q_star_label = pg.TextItem("q*", color=Q_STAR_COLOUR, anchor=(0, 0))
        self.q_star_label.setZValue(Q_STAR_Z)
        plot.addItem(self.q_star_label, ignoreBounds=True)
        self.picture: TruePosterior | None = None
        self._built: set[str] = set()        # the styles drawn for self.picture
        self.show_picture(None, "heat map")
        self.show_q_star(None)

    def show_picture(self, picture: TruePosterior | None, style: str) -> None:
        """Draw `picture` in `style` ("heat map" or "contours"); None hides it. Only the style shown
        is built (while drawing, ten pictures a second arrive on the GUI thread)."""
        if picture is not self.picture:
            self.picture, self._built = picture, set()
        if picture is not None and style not in self._built:
            self._built.add(style)
            e = picture.extent
            if style == "heat map":
                self.heat.setImage(heat_rgba(picture.density, self._lut), autoLevels=False)
                self.heat.setRect(QRectF(e[0], e[2], e[1] - e[0], e[3] - e[2]))
            else:
                for item, level in zip(self.regions, picture.levels[::-1]):
                    item.setPath(region_path(picture.density, level, e))
        self.heat.setVisible(picture is not None and style == "heat map")
        for item in self.regions:
            item.setVisible(picture is not None and style == "contours")

    def show_q_star(self, ellipse: Ellipse | None) -> None:
        for k, curve in self.q_star:
            if ellipse is None:
                curve.setData([], [])
            else:
                outline = ellipse.outline(k)
                curve.setData(outline[:, 0], outline[:, 1])
        self.q_star_label.setVisible(ellipse is not None)
        if ellipse is not None:
            outline = ellipse.outline(1.0)
            i = int(np.argmax(outline[:, 0] + outline[:, 1]))      # the upper right of the 1σ ellipse
            self.q_star_label.setPos(float(outline[i, 0]), float(outline[i, 1]))


class TruePosteriorPresenter:
    """Draws the ground truth state on the canvas whenever it, or the plane, changes."""

    def __init__(self, truth: GroundTruthState, state: ExplorerState, canvas: LatentCanvas):
        self.truth, self.state = truth, state
        self.layer = TruePosteriorLayer(canvas)
        for event in (truth.events.picture, truth.events.display, truth.events.selection):
            event.connect(self.draw)
        truth.events.gaps.connect(self._draw_q_star)
        state.events.plane.connect(self._draw_q_star)

    def draw(self) -> None:
        truth = self.truth
        display = truth.display
        picture = truth.picture if display.shown and truth.exact_available else None
        self.layer.show_picture(picture, display.style)
        self._draw_q_star()

    def _draw_q_star(self) -> None:
        gaps, plane = self.truth.gaps, self.state.plane
        if not self.truth.display.q_star or gaps is None or len(gaps.mu_star) != plane.latent_dim:
            self.layer.show_q_star(None)
            return
        centre, cov = plane.project_gaussian(np.array(gaps.mu_star), np.exp(np.array(gaps.logvar_star)))
        self.layer.show_q_star(Ellipse.from_covariance(centre, cov))
