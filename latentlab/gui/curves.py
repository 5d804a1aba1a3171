"""Live training curves: -ELBO, reconstruction and KL per step, validation per epoch, KL per dimension.

Data arrive in batches (app/curve_data.py keeps them); drawing happens from a single-shot
timer, at most ~30 times a second however fast the steps come. While a run trains, a pacer
(app/pacing.py) spaces redraws further, by what they really cost, so that drawing never slows
the training down noticeably; each series is drawn from at most ~1,000 points. Values are nats
per image, all positive, so a log y-axis shows the small KL next to the large reconstruction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QSplitter, QVBoxLayout, QWidget

from latentlab.app.curve_data import TRAIN_SERIES, CurveData, peak_decimate
from latentlab.app.pacing import UpdatePacer

REDRAW_INTERVAL_MS = 33          # at most ~30 redraws a second
MAX_POINTS = 1000                # per drawn series: about one per pixel of a wide plot
LOG_FLOOR = 1e-3                 # a KL of 0 cannot be drawn on a log axis
COLOURS = {"neg_elbo": "#5aa9ff", "recon": "#ffa24a", "kl": "#62d26f"}
BACKGROUND, FOREGROUND = "#16181d", "#c8c8c8"   # the latent canvas's colours, so the window is one piece
LABELS = {"neg_elbo": "−ELBO", "recon": "reconstruction", "kl": "KL"}
# -ELBO = reconstruction + KL lies just above the reconstruction: a wide -ELBO line below a
# narrow reconstruction line keeps both visible where they nearly coincide.
Z_ORDER = {"neg_elbo": 0, "kl": 1, "recon": 2}
WIDTHS = {"neg_elbo": 3.5, "kl": 2, "recon": 1.5}
VAL_SIZES = {"neg_elbo": 11, "kl": 8, "recon": 6}   # the -ELBO point rings the reconstruction one


def _key_html() -> str:
    lines = "&nbsp;&nbsp;&nbsp;".join(f"<span style='color:{COLOURS[n]}'>━━</span>&nbsp;{LABELS[n]}"
                                      for n in ("neg_elbo", "recon", "kl"))
    return (f"<span style='color:{FOREGROUND}'>{lines}&nbsp;&nbsp;&nbsp;"
            f"<span style='color:#ffffff'>●</span>&nbsp;validation, per epoch&nbsp;&nbsp;&nbsp;"
            f"faint: raw steps</span>")


def _styled_plot(object_name: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background=BACKGROUND)
    plot.setObjectName(object_name)
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setPen(pg.mkPen("#6b6f76"))
        axis.setTextPen(pg.mkPen(FOREGROUND))
    plot.showGrid(x=True, y=True, alpha=0.12)
    return plot


class CurvePanel(QWidget):
    """The curve plot (objectName curvePlot), the KL bar chart and their controls."""

    def __init__(self, parent=None, smoothing: float = 0.6):
        super().__init__(parent)
        self.data = CurveData(smoothing)
        self.redraw_count = 0          # for tests and benchmarks: how often we really drew
        self.pacer: UpdatePacer | None = None   # set by the window while a run trains
        self._dirty = False
        self._kl_ticks = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_INTERVAL_MS)
        self._timer.timeout.connect(self.redraw)
        self._build()

    # -- building ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.plot = _styled_plot("curvePlot")
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "nats per image")
        # The key is the title line: a legend inside the plot would hide the curves it explains.
        self.plot.setTitle(_key_html(), size="9pt")
        self.raw_items, self.smooth_items, self.val_items = {}, {}, {}
        for name in TRAIN_SERIES:
            colour = pg.mkColor(COLOURS[name])
            faint = pg.mkColor(colour)
            faint.setAlpha(70)
            raw = self.plot.plot(pen=pg.mkPen(faint, width=1))
            smooth = self.plot.plot(pen=pg.mkPen(colour, width=WIDTHS[name]))
            # A PlotDataItem (not a bare ScatterPlotItem), so the log-y mode applies to it too.
            val = self.plot.plot(pen=None, symbol="o", symbolSize=VAL_SIZES[name],
                                 symbolPen=pg.mkPen("#ffffff", width=1), symbolBrush=pg.mkBrush(colour))
            z = Z_ORDER[name]
            raw.setZValue(z)
            smooth.setZValue(z + 10)
            val.setZValue(z + 20)
            self.raw_items[name], self.smooth_items[name], self.val_items[name] = raw, smooth, val

        self.kl_plot = _styled_plot("klPlot")
        self.kl_plot.setTitle("KL per dimension", color=FOREGROUND, size="9pt")
        self.kl_plot.setLabel("bottom", "dimension")
        self.kl_plot.setLabel("left", "nats")
        self.kl_plot.setMouseEnabled(x=False, y=False)
        self.kl_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=pg.mkBrush(COLOURS["kl"]))
        self.kl_plot.addItem(self.kl_bars)
        self.active_units = QLabel("Active units: –")
        self.active_units.setObjectName("activeUnitsLabel")
        self.active_units.setToolTip("Latent dimensions whose posterior mean varies across images "
                                     "(covariance > 0.01, Burda et al. 2016), at the last validation")
        kl_box = QWidget()
        kl_layout = QVBoxLayout(kl_box)
        kl_layout.setContentsMargins(0, 0, 0, 0)
        kl_layout.addWidget(self.kl_plot, 1)
        kl_layout.addWidget(self.active_units)

        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setObjectName("smoothingSlider")
        self.smoothing_slider.setRange(0, 99)
        self.smoothing_slider.setValue(round(self.data.smoothing * 100))
        self.smoothing_slider.setToolTip("Exponential moving average, bias-corrected as in TensorBoard")
        self.smoothing_label = QLabel()
        self.log_y = QCheckBox("log y")
        self.log_y.setObjectName("logYCheck")
        self.log_y.setChecked(True)
        self.show_raw = QCheckBox("raw points")
        self.show_raw.setObjectName("rawPointsCheck")
        self.show_raw.setChecked(True)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Smoothing"))
        controls.addWidget(self.smoothing_slider, 1)
        controls.addWidget(self.smoothing_label)
        controls.addSpacing(12)
        controls.addWidget(self.log_y)
        controls.addWidget(self.show_raw)
        controls.addStretch(0)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("curveSplitter")
        splitter.addWidget(self.plot)
        splitter.addWidget(kl_box)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter, 1)
        layout.addLayout(controls)

        self.smoothing_slider.valueChanged.connect(self._on_smoothing)
        self.log_y.toggled.connect(self._on_log_y)
        self.show_raw.toggled.connect(self._on_show_raw)
        self._on_smoothing(self.smoothing_slider.value())
        self._on_log_y(self.log_y.isChecked())

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
        self.schedule_redraw()

    def clear(self) -> None:
        self.data.clear()
        self.active_units.setText("Active units: –")
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

    def _draw(self) -> None:
        d = self.data
        weight = self.smoothing_slider.value() / 100
        if weight != d.smoothing:
            d.set_smoothing(weight)
        log = self._log_axis_allowed(d) and self.log_y.isChecked()
        x = d.steps.values
        for name in TRAIN_SERIES:
            series = d.train[name]
            self.raw_items[name].setData(*peak_decimate(x, self._shown(series.raw.values, log), MAX_POINTS))
            self.smooth_items[name].setData(*peak_decimate(x, self._shown(series.smooth.values, log), MAX_POINTS))
            self.val_items[name].setData(d.epoch_steps.values,
                                         self._shown(d.val[f"val_{name}"].values, log))
        kl = d.kl_per_dim.values
        if kl is not None:
            dims = np.arange(1, len(kl) + 1)
            self.kl_bars.setOpts(x=dims, height=kl, width=0.8)
            self.kl_plot.setXRange(0.4, len(kl) + 0.6, padding=0)
            if len(kl) != self._kl_ticks:  # whole-number ticks: dimensions are counted, not measured
                self._kl_ticks = len(kl)
                every = max(1, len(kl) // 10)
                self.kl_plot.getAxis("bottom").setTicks([[(int(i), str(int(i))) for i in dims[::every]]])

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
            self.plot.setLogMode(x=False, y=allowed and self.log_y.isChecked())
        return allowed

    @staticmethod
    def _shown(values: np.ndarray, log: bool) -> np.ndarray:
        return np.maximum(values, LOG_FLOOR) if log else values

    def _on_smoothing(self, value: int) -> None:
        # Re-smoothing a long run takes tens of milliseconds: done once per redraw, not once per
        # slider tick while the user drags.
        self.smoothing_label.setText(f"{value / 100:.2f}")
        self.schedule_redraw(urgent=True)

    def _on_log_y(self, log: bool) -> None:
        self.plot.setLogMode(x=False, y=log and self.log_y.isEnabled())
        self.schedule_redraw(urgent=True)

    def _on_show_raw(self, show: bool) -> None:
        for item in self.raw_items.values():
            item.setVisible(show)

    # -- export ------------------------------------------------------------------------------
    def export_csv(self, path) -> Path:
        return self.data.write_csv(path)

    def export_png(self, path) -> Path:
        """A picture of the plots as shown (with the KL bars), at the widget's size."""
        self.redraw()
        path = Path(path)
        if not self.splitter.grab().save(str(path), "PNG"):
            raise OSError(f"Could not write {path}")
        return path
