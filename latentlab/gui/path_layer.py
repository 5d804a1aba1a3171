"""The straight line, slerp and the geodesic between the interpolation's ends, on the latent canvas.

A view of the explorer state's `path_comparison` (app/paths.py): three curves in their own colours
and a small legend in the canvas' upper left corner (the lower corners hold the layers' colour keys) with each path's decoded length (the sum of
the changes of the decoded image along it; the geodesic is the shortest). The path the strip
follows is drawn thicker, and its steps (the canvas' own path markers, canvas.set_path) take its colour. The curves
are shown while the interpolation path is (once its strip was computed) and belong to the ends
drawn: until the paths of new ends are found, none are drawn.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from latentlab.app.explorer_state import ExplorerState
from latentlab.app.paths import MODES

from .canvas import LatentCanvas

PATH_Z = 27                  # under the strip's own path markers (28) and the pins (30)
STYLES = {                   # colour, pen style; the strip's path (canvas.py) is yellow with dots
    "linear": ("#ffe14d", Qt.PenStyle.SolidLine),
    "spherical": ("#5ad1ff", Qt.PenStyle.DashLine),
    "geodesic": ("#ff6fb5", Qt.PenStyle.SolidLine),
}
THIN, THICK = 1.5, 3.0


def legend_text(mode: str, length: float, line: float) -> str:
    """'geodesic: 35.1 (-15 %)': a path's decoded length, and the geodesic's against the line's."""
    text = f"{mode}: {length:.1f}"
    if mode == "geodesic" and line > 0:
        text += f" ({100.0 * (length / line - 1.0):+.0f} %)"
    return text


class PathComparisonLayer:
    """The three curves and their legend."""

    def __init__(self, canvas: LatentCanvas):
        plot = canvas.plot_item
        self.canvas = canvas
        self.curves: dict[str, pg.PlotCurveItem] = {}
        for mode in MODES:
            curve = pg.PlotCurveItem(antialias=True)
            curve.setZValue(PATH_Z)
            plot.addItem(curve, ignoreBounds=True)
            self.curves[mode] = curve
        self.legend = pg.LegendItem(offset=(6, 6), labelTextSize="8pt", verSpacing=-6,
                                    brush=pg.mkBrush(22, 24, 29, 210))
        self.legend.setParentItem(plot.vb)
        self.legend.setVisible(False)
        self._key = None

    def show(self, points: dict[str, np.ndarray] | None, lengths: dict[str, float] | None = None,
             chosen: str = "linear") -> None:
        """`points[mode]` (S, 2) in canvas coordinates for each mode, or None to hide them all."""
        if points is None:
            for curve in self.curves.values():
                curve.setData([], [])
            self.legend.setVisible(False)
            self._key = None
            return
        scale = getattr(self.canvas.plot_item, "ui_scale", 1.0)      # View > Zoom (gui/plot_scale.py)
        for mode, curve in self.curves.items():
            colour, style = STYLES[mode]
            curve.setPen(pg.mkPen(colour, width=(THICK if mode == chosen else THIN) * scale, style=style))
            curve.setData(points[mode][:, 0], points[mode][:, 1])
        key = (tuple(sorted(lengths.items())), chosen)
        if key != self._key:            # the legend is rebuilt only when its text changes
            self._key = key
            self.legend.clear()
            for mode in MODES:
                self.legend.addItem(self.curves[mode], legend_text(mode, lengths[mode], lengths["linear"]))
        self.legend.setVisible(True)

    def colour_steps(self, mode: str) -> None:
        """The strip's own path (its steps, canvas.path) in the colour of the path it follows."""
        colour = QColor(STYLES.get(mode, STYLES["linear"])[0])
        path = self.canvas.path
        pen = pg.mkPen(path.opts["pen"])
        if pen.color() != colour:
            pen.setColor(colour)
            path.setPen(pen)
            path.setSymbolBrush(colour)

    def texts(self) -> list[str]:
        """The legend's rows as shown (for tests and the screenshots' checks)."""
        return [label.text for _, label in self.legend.items] if self.legend.isVisible() else []


class PathComparisonPresenter:
    """Draws the state's three paths whenever they, the ends, the mode or the plane change."""

    def __init__(self, state: ExplorerState, canvas: LatentCanvas):
        self.state = state
        self.layer = PathComparisonLayer(canvas)
        for event in (state.events.path, state.events.plane, state.events.figure_settings):
            event.connect(self.draw)

    def draw(self) -> None:
        state = self.state
        self.layer.colour_steps(state.figure_settings.mode)
        comparison = state.shown_comparison()
        if comparison is None or not state.path_shown:
            self.layer.show(None)
            return
        plane = state.plane
        points = {mode: plane.project(path) for mode, path in comparison.paths.items()}
        self.layer.show(points, comparison.lengths, state.figure_settings.mode)
