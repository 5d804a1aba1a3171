"""Live training curves: -ELBO and reconstruction per step, KL per step below them, validation
per epoch, KL per dimension, and the numbers beside them (for an M2 run also its labelled bound
and validation error: gui/class_curves.py; for a run trained on the IWAE bound its -L_K:
gui/iwae_curves.py).

Why two panels. -ELBO = reconstruction + KL, and the KL is small beside the reconstruction
(MNIST 2-D: ~7 of ~137 nats). On one log axis spanning 0.01 to 500 nats the two large curves are
2 % of a decade apart and draw as one line. So the upper panel holds only -ELBO and the
reconstruction, on a linear axis zoomed to where they are (the range covers 98 % of the drawn
points, so the first steps' 500 nats are left off the top), and the band between them is filled
in the KL's colour: the gap *is* the KL, which shows the identity at a glance. The KL gets its
own panel below, sharing the x axis, from 0, where its growth is visible at its own scale. The
stacked alternative (reconstruction and KL as bands from 0) was rejected: on an axis from 0 the
KL band is 5 % of the height and its change invisible, and cut to the data's range the bands
lose their meaning as areas. A log axis is still a click away (both panels).

The readout beside the plots (gui/curve_readout.py) has the latest values as numbers and, while
the mouse is over the curves, the values under the crosshair; its coloured row names are the
legend, so no legend covers a curve (an exported figure gets a key above the plots instead).
Validation points are small dots in a light tint of their line's colour, without a rim.

Data arrive in batches (app/curve_data.py keeps them); drawing happens from a single-shot
timer, at most ~30 times a second however fast the steps come. While a run trains, a pacer
(app/pacing.py) spaces redraws further, by what they really cost, so that drawing never slows
the training down noticeably; each series is drawn from at most ~1,000 points: the faint raw
steps by their extremes (spikes survive), the smoothed lines by bucket means (a smoothed line
shows the trend; the extremes of its leftover noise drew a band as wide as the raw points).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, QTimer
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from latentlab.app.curve_data import TRAIN_SERIES, CurveData, mean_decimate, peak_decimate

from .class_curves import ClassCurves
from .curve_crosshair import CurveCrosshair
from .curve_readout import CurveReadout
from .curve_style import (AXIS_PEN, BACKGROUND, COLOURS, FOREGROUND, GAP_ALPHA, LABELS,  # noqa: F401 (public here)
                          RAW_ALPHA, VAL_LIGHTER, VAL_SIZE, WIDTHS, key_html, style, tinted)
from .iwae_curves import IwaeCurves
from .plot_export import settle_layout, write_figure
from .plot_scale import scale_plot

NARROW_MIN_WIDTH = 240          # the panel fits a side dock this narrow (one column)
WIDE_MIN_PLOT = 420             # plots beside the numbers only when they get at least this much
NARROW_MIN_HEIGHT = 450         # ...or when the panel is too low to stack them
REDRAW_INTERVAL_MS = 33          # at most ~30 redraws a second
MAX_POINTS = 1000                # per drawn series: about one per pixel of a wide plot
LOG_FLOOR = 1e-3                 # a KL of 0 cannot be drawn on a log axis
# The share of the drawn points the y range shows: the loss panel leaves the first steps' 500 nats
# off the top; the KL panel shows all, from 0.
Y_FRACTION = {"loss": 0.98, "kl": 1.0}
PANEL = {"neg_elbo": "loss", "recon": "loss", "kl": "kl"}
EXPORT_SIZE = (760, 420)         # logical pixels of an exported figure (about matplotlib's 6.4 x 4.8 in)


class CurvePanel(QWidget):
    """The curve plots (objectName curvePlot), the readout, and the controls under them."""

    def __init__(self, parent=None, smoothing: float = 0.6):
        super().__init__(parent)
        self.data = CurveData(smoothing)
        self.redraw_count = 0          # for tests and benchmarks: how often we really drew
        self.pacer = None              # an app.pacing.UpdatePacer, set by the window while a run trains
        self._dirty = False
        self._kl_ticks = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_INTERVAL_MS)
        self._timer.timeout.connect(self.redraw)
        self._build()

    # -- building ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.figure = pg.GraphicsLayoutWidget()
        self.figure.setObjectName("curvePlot")
        self.figure.setBackground(BACKGROUND)
        self.figure.setMinimumSize(200, 100)
        layout = self.figure.ci
        layout.setContentsMargins(2, 2, 2, 2)
        # Row 0 is left empty for the key of an exported figure.
        self.loss_plot = layout.addPlot(row=1, col=0)
        self.kl_curve_plot = layout.addPlot(row=2, col=0)
        self.kl_plot = layout.addPlot(row=1, col=1, rowspan=2)
        layout.layout.setRowStretchFactor(1, 3)
        layout.layout.setRowStretchFactor(2, 2)
        layout.layout.setColumnStretchFactor(0, 6)
        layout.layout.setColumnStretchFactor(1, 1)
        self.kl_plot.setPreferredWidth(110)   # a few bars need little room; the curves take the rest
        self.plots = {"loss": self.loss_plot, "kl": self.kl_curve_plot}
        for plot in (*self.plots.values(), self.kl_plot):
            style(plot)
        self.loss_plot.setLabel("left", "nats / image")
        self.loss_plot.getAxis("bottom").setStyle(showValues=False)   # the KL panel's x axis is theirs
        self.kl_curve_plot.setLabel("left", "KL")
        self.kl_curve_plot.setLabel("bottom", "step")
        self.kl_curve_plot.setXLink(self.loss_plot)
        for key, plot in self.plots.items():
            plot.enableAutoRange(y=Y_FRACTION[key])
            plot.setAutoVisible(y=True)    # zoomed in x, y fits what is shown
            plot.autoBtn.clicked.disconnect()
            plot.autoBtn.clicked.connect(lambda _=False, k=key: self._auto_range(k))

        self.raw_items, self.smooth_items, self.val_items, self.val_recon_items = {}, {}, {}, {}
        for name in TRAIN_SERIES:
            plot = self.plots[PANEL[name]]
            raw = plot.plot(pen=pg.mkPen(tinted(COLOURS[name], RAW_ALPHA), width=1))
            smooth = plot.plot(pen=pg.mkPen(COLOURS[name], width=WIDTHS[name]))
            # A PlotDataItem (not a bare ScatterPlotItem), so the log-y mode applies to it too.
            val = plot.plot(pen=None, symbol="o", symbolSize=VAL_SIZE, symbolPen=None,
                            symbolBrush=pg.mkBrush(pg.mkColor(COLOURS[name]).lighter(VAL_LIGHTER)))
            raw.setZValue(0)
            smooth.setZValue(10)
            val.setZValue(20)
            self.raw_items[name], self.smooth_items[name], self.val_items[name] = raw, smooth, val
        # The KL band: one closed outline (-ELBO forth, reconstruction back), filled. A PlotDataItem,
        # so a log axis maps it like the lines; pyqtgraph's FillBetweenItem rebuilt its path in Python
        # twice per redraw (20 ms for a long run, more than all the rest of the drawing).
        self.kl_gap = pg.PlotDataItem(pen=None, fillLevel="enclosed",
                                      fillBrush=pg.mkBrush(tinted(COLOURS["kl"], GAP_ALPHA)))
        self.kl_gap.setZValue(-5)
        self.loss_plot.addItem(self.kl_gap, ignoreBounds=True)

        self.kl_plot.setTitle("KL per dimension", color=FOREGROUND, size="9pt")
        self.kl_plot.setLabel("bottom", "dimension")
        self.kl_plot.setMouseEnabled(x=False, y=False)
        # No outline: in an SVG the bars are scaled rectangles, and a viewer without
        # non-scaling strokes (rsvg, older Inkscape) would draw an outline as wide as the bars.
        self.kl_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=pg.mkBrush(COLOURS["kl"]), pen=None)
        self.kl_plot.addItem(self.kl_bars)

        self.readout = CurveReadout(COLOURS)
        self.active_units = self.readout.active_units
        self.crosshair = CurveCrosshair(self, PANEL)

        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setObjectName("smoothingSlider")
        self.smoothing_slider.setRange(0, 99)
        self.smoothing_slider.setValue(round(self.data.smoothing * 100))
        self.smoothing_slider.setToolTip("Exponential moving average, bias-corrected as in TensorBoard")
        self.smoothing_label = QLabel("0.00")
        self.smoothing_label.setFixedWidth(self.smoothing_label.sizeHint().width())
        self.log_y = QCheckBox("log y")
        self.log_y.setObjectName("logYCheck")
        self.log_y.setChecked(False)
        self.show_raw = QCheckBox("raw points")
        self.show_raw.setObjectName("rawPointsCheck")
        self.show_raw.setChecked(True)
        self.epoch_axis = QCheckBox("x in epochs")
        self.epoch_axis.setObjectName("epochAxisCheck")
        self.epoch_axis.setToolTip("The x axis in epochs (validation at whole epochs) instead of steps")
        smoothing = QHBoxLayout()
        smoothing.addWidget(QLabel("Smoothing"))
        smoothing.addWidget(self.smoothing_slider, 1)
        smoothing.addWidget(self.smoothing_label)
        checks = QHBoxLayout()
        checks.addWidget(self.epoch_axis)
        checks.addWidget(self.log_y)
        checks.addWidget(self.show_raw)
        checks.addStretch(1)
        self.class_curves = ClassCurves(self, MAX_POINTS)   # -L and the validation error of an M2 run
        self.iwae_curves = IwaeCurves(self, MAX_POINTS)     # -L_K of a run trained on the IWAE bound

        # The numbers and the controls share a column beside the plots, so the plots get the whole
        # height of a low dock; the column scrolls when the dock is lower still.
        column = QWidget()
        column_layout = QVBoxLayout(column)
        column_layout.setContentsMargins(8, 2, 4, 2)
        column_layout.addWidget(self.readout)
        column_layout.addSpacing(6)
        column_layout.addLayout(smoothing)
        column_layout.addLayout(checks)
        column_layout.addStretch(1)
        self.side = QScrollArea()
        self.side.setObjectName("curveSide")
        self.side.setFrameShape(QFrame.Shape.NoFrame)
        self.side.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.side.setWidgetResizable(True)
        self.side.setWidget(column)
        self._column = column

        self._outer = outer = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.setSpacing(2)
        outer.addWidget(self.figure, 1)
        outer.addWidget(self.side)
        self.narrow = False
        # However it is arranged, the panel can be as narrow as a side dock (it rearranges itself
        # below WIDE_MIN_PLOT + the column's width, see fit_width): a layout minimum as wide as
        # plots + column would hold a tabified dock, and the canvas beside it, too wide.
        self.setMinimumWidth(NARROW_MIN_WIDTH)

        self.smoothing_slider.valueChanged.connect(self._on_smoothing)
        self.log_y.toggled.connect(self._on_log_y)
        self.show_raw.toggled.connect(self._on_show_raw)
        self.epoch_axis.toggled.connect(self._on_epoch_axis)
        self._on_smoothing(self.smoothing_slider.value())
        self._on_log_y(self.log_y.isChecked())
        self._fix_sizes()

    def fit_width(self, width: int, height: int | None = None) -> None:
        """Plots beside the numbers (a wide dock) or, in a column narrower than the plots need
        beside the numbers and tall enough (a side dock), one above the other: curves, KL per
        dimension, then the numbers and controls. A dock both narrow and low (a 900 x 600 window)
        keeps them side by side: stacked, the plots would be left no height at all."""
        height = self.height() if height is None else height
        narrow = width < self._column_width() + WIDE_MIN_PLOT and height >= NARROW_MIN_HEIGHT
        if narrow == self.narrow:
            return
        self.narrow = narrow
        self._arrange()
        direction = QBoxLayout.Direction.TopToBottom if narrow else QBoxLayout.Direction.LeftToRight
        self._outer.setDirection(direction)
        self._fix_sizes()

    def _arrange(self) -> None:
        """The curves in column 0 (an M2 run's error panel under them), the KL per dimension
        beside them as high as they are, or under them in a narrow dock."""
        grid = self.figure.ci
        grid.removeItem(self.kl_plot)
        rows = self.class_curves.arrange(grid, self.narrow)
        if self.narrow:
            grid.addItem(self.kl_plot, row=rows + 1, col=0)
            grid.layout.setRowStretchFactor(rows + 1, 2)
        else:
            grid.addItem(self.kl_plot, row=1, col=1, rowspan=rows)
        for row in range(rows + 1 + self.narrow, grid.layout.rowCount()):   # rows left empty
            grid.layout.setRowStretchFactor(row, 0)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.fit_width(event.size().width(), event.size().height())
        super().resizeEvent(event)

    def _column_width(self) -> int:
        margins = self._column.layout().contentsMargins()
        checks = sum(box.sizeHint().width() for box in (self.epoch_axis, self.log_y, self.show_raw)) + 12
        inner = max(self.readout.width(), checks) + margins.left() + margins.right()
        return inner + self.side.verticalScrollBar().sizeHint().width()

    def _fix_sizes(self) -> None:
        """The side column as wide as its widest row (with room for a scroll bar, so one never
        narrows it), and both panels' y axes equally wide so that their linked x axes line up."""
        self.readout.fix_widths()     # its own FontChange may come after ours
        if self.narrow:   # below the plots: as wide as they are, as high as its rows
            self.side.setMinimumWidth(0)
            self.side.setMaximumWidth(16777215)
            self.side.setMinimumHeight(0)   # it scrolls rather than hold the panel tall
            self.side.setMaximumHeight(self._column.sizeHint().height() + 4)
        else:
            self.side.setMinimumHeight(0)
            self.side.setMaximumHeight(16777215)
            self.side.setFixedWidth(self._column_width())
        self._align_left_axes()

    def _align_left_axes(self) -> None:
        """Both panels' y axes equally wide, so their x axes line up (they are linked)."""
        fm = self.fontMetrics()
        width = fm.horizontalAdvance("-8888.88") + fm.height() + 14
        for plot in (*self.plots.values(), *self.class_curves.plots):
            plot.getAxis("left").setWidth(width)

    def set_ui_scale(self, factor: float) -> None:
        """Lines, points, text and axes of the three plots at `factor` (View > Zoom); the numbers
        beside them follow the window's font."""
        for plot in (self.loss_plot, self.kl_curve_plot, self.kl_plot, *self.class_curves.plots):
            scale_plot(plot, factor)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fix_sizes()

    # -- data in ----------------------------------------------------------------------------
    def add_steps(self, events) -> None:
        if events:
            self.data.add_steps(events)
            self.schedule_redraw()

    def add_epoch(self, event) -> None:
        self.data.add_epoch(event)
        if event.active_units >= 0:
            dims = len(event.val_kl_per_dim) or "?"
            self.active_units.setText(f"Active units: {event.active_units} of {dims} (epoch {event.epoch})")
        self.schedule_redraw()

    def add_metrics_rows(self, rows: dict) -> None:
        self.data.add_metrics_rows(rows)
        units = self.data.active_units.values
        if len(units) and units[-1] >= 0:
            self.active_units.setText(f"Active units: {int(units[-1])} (epoch {int(self.data.epochs.values[-1])})")
        self.schedule_redraw()

    def load_history(self, history, latent_dim: int | None = None) -> None:
        self.data.load_history(history)
        units = history.epochs.get("active_units") or []
        if units and units[-1] >= 0:
            of = f" of {latent_dim}" if latent_dim else ""
            self.active_units.setText(f"Active units: {int(units[-1])}{of} (epoch {int(history.epochs['epoch'][-1])})")
        else:
            self.active_units.setText("Active units: –")
        self.hover_scene(None)
        self.schedule_redraw()

    def clear(self) -> None:
        self.data.clear()
        self.active_units.setText("Active units: –")
        self.hover_scene(None)
        self.schedule_redraw()

    # -- drawing ----------------------------------------------------------------------------
    def schedule_redraw(self, urgent: bool = False) -> None:
        """Redraw soon; `urgent` (the user changed a control) skips the pacing of a training run."""
        self._dirty = True
        wait_ms = REDRAW_INTERVAL_MS
        if self.pacer is not None and not urgent:
            wait_ms = max(wait_ms, round(1000 * self.pacer.wait_time("curves")))
        if not self._timer.isActive() or (urgent and self._timer.remainingTime() > wait_ms):
            self._timer.start(wait_ms)

    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.redraw_count += 1
        pacer = self.pacer
        started = pacer.begin("curves") if pacer else 0.0
        self._draw()
        if pacer:
            pacer.end("curves", started)

    def x_values(self) -> tuple[np.ndarray, np.ndarray]:
        """The x of every step and of every validation point, in steps or in epochs."""
        d = self.data
        if self.epoch_axis.isChecked():
            return d.epoch_x(), d.epochs.values
        return d.steps.values, d.epoch_steps.values

    def _draw(self) -> None:
        d = self.data
        weight = self.smoothing_slider.value() / 100
        if weight != d.smoothing:
            d.set_smoothing(weight)
        if self.class_curves.sync():    # an M2 run's curves came, or went with a VAE's
            self._arrange()
            self._align_left_axes()
        if self.iwae_curves.sync():     # an IWAE run's -L_K came or went: the readout's names changed
            self._fix_sizes()
        log = self._log_axis_allowed(d) and self.log_y.isChecked()
        x, val_x = self.x_values()
        for name in TRAIN_SERIES:
            series = d.train[name]
            self.raw_items[name].setData(*peak_decimate(x, self.shown(series.raw.values, log), MAX_POINTS))
            self.smooth_items[name].setData(*mean_decimate(x, self.shown(series.smooth.values, log), MAX_POINTS))
            self.val_items[name].setData(val_x, self.shown(d.val[f"val_{name}"].values, log))
        upper, lower = self.smooth_items["neg_elbo"], self.smooth_items["recon"]
        if upper.xData is not None and len(upper.xData):
            self.kl_gap.setData(np.concatenate([upper.xData, lower.xData[::-1]]),
                                np.concatenate([upper.yData, lower.yData[::-1]]))
        else:
            self.kl_gap.setData([], [])
        self.class_curves.draw(x, val_x, log)
        self.iwae_curves.draw(x, val_x, log)
        kl = d.kl_per_dim.values
        if kl is not None:
            dims = np.arange(1, len(kl) + 1)
            self.kl_bars.setOpts(x=dims, height=kl, width=0.8)
            self.kl_plot.setXRange(0.4, len(kl) + 0.6, padding=0)
            if len(kl) != self._kl_ticks:  # whole-number ticks: dimensions are counted, not measured
                self._kl_ticks = len(kl)
                every = max(1, len(kl) // 10)
                self.kl_plot.getAxis("bottom").setTicks([[(int(i), str(int(i))) for i in dims[::every]]])
        self.readout.show_latest(d.latest())
        self.crosshair.refresh()

    def _log_axis_allowed(self, d) -> bool:
        """A Gaussian decoder on grey levels (Frey Face) gives negative nats: no log axis then.

        The KL is never negative (a KL of 0 is floored), but -ELBO and the reconstruction term of a
        continuous density can be; flooring those would draw a false flat line.
        """
        negative = any(d.train[n].raw.values.size and np.nanmin(d.train[n].raw.values) <= 0
                       for n in TRAIN_SERIES if n != "kl")
        allowed = not negative
        if allowed != self.log_y.isEnabled():
            self.log_y.setEnabled(allowed)
            self.log_y.setToolTip("" if allowed else "Negative nats (a density on continuous data): "
                                  "the y axis is linear")
            self._set_log(allowed and self.log_y.isChecked())
        return allowed

    def _set_log(self, log: bool) -> None:
        for plot in self.plots.values():
            plot.setLogMode(x=False, y=log)

    @staticmethod
    def shown(values: np.ndarray, log: bool) -> np.ndarray:
        return np.maximum(values, LOG_FLOOR) if log else values

    def _auto_range(self, key: str) -> None:
        """A plot's "A" button: back to the automatic range, with the same rule as at the start."""
        plot = self.plots[key]
        plot.enableAutoRange(x=True, y=Y_FRACTION[key])
        plot.autoBtn.hide()

    def _on_smoothing(self, value: int) -> None:
        # Re-smoothing a long run takes tens of milliseconds: done once per redraw, not once per
        # slider tick while the user drags.
        self.smoothing_label.setText(f"{value / 100:.2f}")
        self.schedule_redraw(urgent=True)

    def _on_log_y(self, log: bool) -> None:
        self._set_log(log and self.log_y.isEnabled())
        self.schedule_redraw(urgent=True)

    def _on_show_raw(self, show: bool) -> None:
        for item in self.raw_items.values():
            item.setVisible(show)

    def _on_epoch_axis(self, epochs: bool) -> None:
        self.kl_curve_plot.setLabel("bottom", "epoch" if epochs else "step")
        for plot in self.plots.values():
            plot.enableAutoRange(x=True)    # the old x range means nothing in the new unit
        self.hover_scene(None)
        self.schedule_redraw(urgent=True)

    # -- hover crosshair (gui/curve_crosshair.py) ----------------------------------------------
    def hover_scene(self, pos: QPointF | None) -> None:
        """The mouse at scene position `pos` of the plots (None: it left them)."""
        self.crosshair.at_scene(pos)

    def hover_at(self, x: float | None) -> None:
        """The crosshair at the step nearest to `x` (in the x axis's unit); None hides it."""
        self.crosshair.at(x)

    # -- export ------------------------------------------------------------------------------
    def export_csv(self, path) -> Path:
        return self.data.write_csv(path)

    def export_figure(self, path, scale: float = 2.0, kind: str | None = None) -> Path:
        """The plots as a figure file ("svg", "pdf" or "png": `kind`, by default the suffix of
        `path`; PNG at `scale` pixels per screen pixel), with a key above them, at
        EXPORT_SIZE whatever the dock's size (a hidden dock exports too), the view as shown.

        The key row is added for the export only (on screen the readout is the legend)."""
        self.redraw()
        layout = self.figure.ci
        key = pg.LabelItem(key_html(self.class_curves.active, self.iwae_curves.k), size="9pt", justify="left")
        layout.addItem(key, row=0, col=0, colspan=2)
        shown = layout.geometry()
        hovered = self.crosshair.index
        self.hover_at(None)   # the crosshair follows the mouse; it is not part of the figure
        try:
            layout.setGeometry(QRectF(0, 0, *EXPORT_SIZE))
            settle_layout(layout)
            return write_figure(layout, path, pg.mkColor(BACKGROUND), scale, kind, title="latentlab training curves")
        finally:
            layout.removeItem(key)
            layout.setGeometry(shown)
            settle_layout(layout)
            self.crosshair.index = hovered
            self.crosshair.refresh()

    def export_png(self, path, scale: float = 2.0) -> Path:
        return self.export_figure(path, scale, "png")

    def export_svg(self, path) -> Path:
        return self.export_figure(path, kind="svg")

    def export_pdf(self, path) -> Path:
        return self.export_figure(path, kind="pdf")
