"""The hover crosshair of the curve plots: a dashed vertical line through both panels at the step
nearest the mouse, rings on the lines there, and their values in the readout's "cursor" column.

The values are those of the lines as drawn. In a long run the steps that share a pixel column are
averaged into one point of the smoothed line (app/curve_data.mean_decimate); the ring and the
number then show that average, so they sit on the line instead of on one noisy step beside it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt

from latentlab.app.curve_data import TRAIN_SERIES

if TYPE_CHECKING:
    from .curves import CurvePanel


class CurveCrosshair(QObject):
    """Follows the mouse over `panel.figure`; `index` is the step under it (None: not hovering)."""

    def __init__(self, panel: CurvePanel, panels_of: dict[str, str]):
        super().__init__(panel)
        self.panel = panel
        self.index: int | None = None
        self.lines: dict[str, pg.InfiniteLine] = {}
        self.dots: dict[str, pg.PlotDataItem] = {}
        self._names = {key: [n for n in TRAIN_SERIES if panels_of[n] == key] for key in panel.plots}
        for key, plot in panel.plots.items():
            line = pg.InfiniteLine(angle=90, movable=False,
                                   pen=pg.mkPen("#e0e0e0", width=1, style=Qt.PenStyle.DashLine))
            dots = pg.PlotDataItem(pen=None, symbol="o", symbolSize=8, symbolPen=pg.mkPen("#ffffff", width=1.5),
                                   symbolBrush=None)
            for z, item in ((30, line), (31, dots)):
                item.setZValue(z)
                item.hide()
                plot.addItem(item, ignoreBounds=True)   # never widens the range it marks
            self.lines[key], self.dots[key] = line, dots
        panel.figure.viewport().installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        """Every mouse move over the plots (pyqtgraph's scene drops moves closer than 10 ms apart,
        which would leave the crosshair behind a mouse that stopped) and the mouse leaving them."""
        kind = event.type()
        if kind == QEvent.Type.MouseMove:
            self.at_scene(self.panel.figure.mapToScene(event.position().toPoint()))
        elif kind == QEvent.Type.Leave:
            self.at_scene(None)
        return False

    def at_scene(self, pos: QPointF | None) -> None:
        """The mouse at scene position `pos` (None: it left): the crosshair at the nearest step."""
        view_x = None
        if pos is not None:
            for plot in self.panel.plots.values():
                if plot.vb.sceneBoundingRect().contains(pos):
                    view_x = plot.vb.mapSceneToView(pos).x()
                    break
        self.at(view_x)

    def at(self, x: float | None) -> None:
        """The crosshair at the step nearest to `x` (in the x axis's unit); None hides it."""
        panel = self.panel
        self.index = None if x is None else panel.data.index_near(x, panel.epoch_axis.isChecked())
        self.refresh()

    def refresh(self) -> None:
        """Show the crosshair at `index` again (after a redraw, or a change of smoothing or axis)."""
        panel = self.panel
        if self.index is not None and self.index >= len(panel.data):
            self.index = None
        if self.index is None:
            for key in self.lines:
                self.lines[key].hide()
                self.dots[key].hide()
            panel.readout.show_cursor(None)
            return
        x = float(panel.x_values()[0][self.index])
        values = replace(panel.data.values_at(self.index), **self._drawn_values(x))
        log = panel.log_y.isChecked() and panel.log_y.isEnabled()
        # An M2 run: a ring on its labelled bound -L too; an IWAE run: on its -L_K.
        more = ["labelled"] * panel.class_curves.active + ["neg_iw_bound"] * panel.iwae_curves.active
        for key, names in self._names.items():
            names = [*names, *more] if key == "loss" else names
            ys = panel.shown(np.array([getattr(values, n) for n in names]), log)
            self.lines[key].setPos(x)
            self.lines[key].show()
            self.dots[key].setData([x] * len(ys), ys)
            self.dots[key].show()
        panel.readout.show_cursor(values)

    def _drawn_values(self, x: float) -> dict[str, float]:
        out = {}
        for name in TRAIN_SERIES:
            item = self.panel.smooth_items[name]
            xs, ys = item.xData, item.yData     # as given (getData() would be log10 on a log axis)
            if xs is not None and 0 < len(xs) < len(self.panel.data):
                out[name] = float(np.interp(x, xs, ys))
        for name, curves, at in (("labelled", self.panel.class_curves, self.panel.class_curves.labelled_at),
                                 ("neg_iw_bound", self.panel.iwae_curves, self.panel.iwae_curves.bound_at)):
            value = at(x)
            if value is not None and len(curves.smooth.xData) < len(self.panel.data):
                out[name] = value
        return out
