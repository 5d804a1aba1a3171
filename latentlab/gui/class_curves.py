"""An M2 run's curves beside the VAE's (Kingma et al. 2014): the labelled bound -L on the loss
panel with the unlabelled bound -U (the "-ELBO" line of an M2 run, named so), and the validation
error in percent in a small panel of its own under the KL, one point per epoch.

Why its own panel: the error is a percentage falling from ~90 to a few, the bounds are nats
around 100; on one axis either would be a flat line. It shares the x axis (steps or epochs) with
the curves above, its y axis starts at 0 %, so an error of 12 % reads as the paper's table does.

Nothing here costs a VAE run anything: the lines exist but hold no data and are hidden, and the
error panel is not in the layout until a run reports M2's numbers (CurveData.extras); a VAE's
panel is drawn exactly as before. While an M2 run trains, a redraw sets two more lines and one
short series of points, from at most MAX_POINTS points each, like the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg

from latentlab.app.curve_data import mean_decimate, peak_decimate

from .curve_style import COLOURS, RAW_ALPHA, VAL_SIZE, WIDTHS, style, tinted

if TYPE_CHECKING:
    from .curves import CurvePanel

LABELLED, ERROR = "labelled", "val_error"
ROW_STRETCH = {"loss": 3, "kl": 2, "error": 2}
ERROR_HEADROOM = 1.1      # the error axis reaches 10 % above the highest error shown
ERROR_PADDING = 0.04


class ClassCurves:
    """-L on the loss panel and the validation-error panel of `panel`, shown for M2 runs."""

    def __init__(self, panel: CurvePanel, max_points: int):
        self.panel = panel
        self.max_points = max_points
        self.active = False
        colour = COLOURS[LABELLED]
        self.raw = panel.loss_plot.plot(pen=pg.mkPen(tinted(colour, RAW_ALPHA), width=1))
        self.smooth = panel.loss_plot.plot(pen=pg.mkPen(colour, width=WIDTHS["neg_elbo"]))
        self.raw.setZValue(0)
        self.smooth.setZValue(10)
        self.error_plot = pg.PlotItem()
        self.error_plot.setObjectName("errorPlot")
        style(self.error_plot)
        self.error_plot.setLabel("left", "val. error %")
        self.error_plot.setXLink(panel.loss_plot)
        self.error_plot.setMouseEnabled(x=True, y=False)   # 0 ... the highest error: nothing to zoom
        self.error_plot.hideButtons()
        error = COLOURS[ERROR]
        self.error_points = self.error_plot.plot(pen=pg.mkPen(error, width=1.5), symbol="o",
                                                 symbolSize=VAL_SIZE + 2, symbolPen=None, symbolBrush=pg.mkBrush(error))
        for item in (self.raw, self.smooth):
            item.hide()
        panel.epoch_axis.toggled.connect(self._label_x)
        panel.show_raw.toggled.connect(lambda show: self.raw.setVisible(show and self.active))

    @property
    def plots(self) -> tuple[pg.PlotItem, ...]:
        """The plots of an M2 run beyond the panel's own (for the axis widths and the UI scale)."""
        return (self.error_plot,)

    def sync(self) -> bool:
        """Show M2's curves when the data have them, a VAE's panel otherwise; True if that changed
        (the panel then arranges its plots again)."""
        active = LABELLED in self.panel.data.extras.steps or ERROR in self.panel.data.extras.epochs
        if active == self.active:
            return False
        self.active = active
        self.smooth.setVisible(active)
        self.raw.setVisible(active and self.panel.show_raw.isChecked())
        if not active:
            for item in (self.raw, self.smooth, self.error_points):
                item.setData([], [])
        self.panel.readout.set_semi(active)
        self._label_x(self.panel.epoch_axis.isChecked())
        return True

    def arrange(self, grid, narrow: bool) -> int:
        """Put the error panel (row 3) in `grid` for an M2 run, or take it out; returns the rows the
        curves take (2 or 3), for where the KL-per-dimension bars go."""
        if self.error_plot in grid.items:
            grid.removeItem(self.error_plot)
        if not self.active:
            return 2
        grid.addItem(self.error_plot, row=3, col=0)
        grid.layout.setRowStretchFactor(3, ROW_STRETCH["error"])
        return 3

    def _label_x(self, epochs: bool) -> None:
        """The lowest panel carries the x axis's numbers and name."""
        kl_axis = self.panel.kl_curve_plot.getAxis("bottom")
        kl_axis.setStyle(showValues=not self.active)
        kl_axis.showLabel(not self.active)
        self.error_plot.setLabel("bottom", "epoch" if epochs else "step")

    def draw(self, x: np.ndarray, val_x: np.ndarray, log: bool) -> None:
        if not self.active:
            return
        extras = self.panel.data.extras
        series = extras.steps.get(LABELLED)
        if series is not None and len(series.raw) == len(x):
            shown = self.panel.shown
            self.raw.setData(*peak_decimate(x, shown(series.raw.values, log), self.max_points))
            self.smooth.setData(*mean_decimate(x, shown(series.smooth.values, log), self.max_points))
        errors = extras.epochs.get(ERROR)
        if errors is not None and len(errors) == len(val_x):
            ys = errors.values
            keep = np.isfinite(ys)
            self.error_points.setData(val_x[keep], ys[keep])
            top = float(np.max(ys[keep])) if keep.any() else 100.0
            # From 0 % (a little padding, so that the axis writes its 0) to just above the highest.
            self.error_plot.setYRange(0.0, max(1.0, top * ERROR_HEADROOM), padding=ERROR_PADDING)

    def labelled_at(self, x: float) -> float | None:
        """-L as drawn at x (the crosshair's value), None when it is not drawn."""
        xs, ys = self.smooth.xData, self.smooth.yData
        if not self.active or xs is None or not len(xs):
            return None
        return float(np.interp(x, xs, ys))
