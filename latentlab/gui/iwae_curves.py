"""The curve of a run trained on the IWAE bound (Burda et al. 2016): -L_K on the loss panel beside
-ELBO, per step (raw and smoothed, like the others) and per validation (dots), and its rows in the
readout, named "−L_K (IWAE, K=5)" with the run's K.

The trainer reports -L_K and K as a step's extras (core/events.py STEP_BOUND, STEP_K) and the
validation's -L_K as an epoch's (VAL_BOUND), so the same path serves a live run and a checkpoint's
history, as M2's curves do (gui/class_curves.py). -L_K lies at or below the first sample's
-ELBO on average (L_K >= ELBO), so the two lines show how much tighter the bound being optimised is.
Nothing here costs an ELBO run anything: its lines hold no data and are hidden.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg

from latentlab.app.curve_data import mean_decimate, peak_decimate
from latentlab.core.events import STEP_BOUND, VAL_BOUND

from .curve_style import COLOURS, RAW_ALPHA, VAL_LIGHTER, VAL_SIZE, WIDTHS, tinted

if TYPE_CHECKING:
    from .curves import CurvePanel


class IwaeCurves:
    """-L_K's lines and validation dots on `panel`'s loss plot, shown for IWAE runs."""

    def __init__(self, panel: CurvePanel, max_points: int):
        self.panel = panel
        self.max_points = max_points
        self.k: int | None = None       # the K of the run shown; None: not an IWAE run
        colour = COLOURS[STEP_BOUND]
        plot = panel.loss_plot
        self.raw = plot.plot(pen=pg.mkPen(tinted(colour, RAW_ALPHA), width=1))
        self.smooth = plot.plot(pen=pg.mkPen(colour, width=WIDTHS["neg_elbo"]))
        self.val = plot.plot(pen=None, symbol="o", symbolSize=VAL_SIZE, symbolPen=None,
                             symbolBrush=pg.mkBrush(pg.mkColor(colour).lighter(VAL_LIGHTER)))
        self.raw.setZValue(0)
        self.smooth.setZValue(11)        # above -ELBO's line, which it runs close to
        self.val.setZValue(21)
        for item in (self.raw, self.smooth, self.val):
            item.hide()
        panel.show_raw.toggled.connect(lambda show: self.raw.setVisible(show and self.active))

    @property
    def active(self) -> bool:
        return self.k is not None

    def sync(self) -> bool:
        """Show -L_K when the data are an IWAE run's (named with its K); True if that changed."""
        k = self.panel.data.iw_k()
        if k == self.k:
            return False
        self.k = k
        self.smooth.setVisible(self.active)
        self.val.setVisible(self.active)
        self.raw.setVisible(self.active and self.panel.show_raw.isChecked())
        if not self.active:
            for item in (self.raw, self.smooth, self.val):
                item.setData([], [])
        self.panel.readout.set_iwae(k)
        return True

    def draw(self, x: np.ndarray, val_x: np.ndarray, log: bool) -> None:
        if not self.active:
            return
        extras, shown = self.panel.data.extras, self.panel.shown
        series = extras.steps.get(STEP_BOUND)
        if series is not None and len(series.raw) == len(x):
            self.raw.setData(*peak_decimate(x, shown(series.raw.values, log), self.max_points))
            self.smooth.setData(*mean_decimate(x, shown(series.smooth.values, log), self.max_points))
        val = extras.epochs.get(VAL_BOUND)
        if val is not None and len(val) == len(val_x):
            self.val.setData(val_x, shown(val.values, log))

    def bound_at(self, x: float) -> float | None:
        """-L_K as drawn at x (the crosshair's value), None when it is not drawn."""
        xs, ys = self.smooth.xData, self.smooth.yData
        if not self.active or xs is None or not len(xs):
            return None
        return float(np.interp(x, xs, ys))
