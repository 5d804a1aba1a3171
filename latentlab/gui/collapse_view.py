"""The collapse view (objectName collapseView): the KL of every latent dimension at every epoch
as a heat map, and below it how many dimensions are active, epoch by epoch.

Why a heat map: a 20-D run's collapse is a story in time (dimensions give up one after another in
the first epochs, and the survivors share the KL), and twenty curves on one plot tangle. As a heat
map (x = epoch, y = dimension) each dimension is a row whose colour fades when it gives up.
The colour is log-scaled: the active dimensions carry 1 to 3 nats, the collapsed ones 0.0003,
and on a linear scale the collapsed rows and the barely active ones would be the same black.

The rows are in the order of the KL at the last epoch, highest at the top (labelled z1…zD with
each dimension's own index), not in index order: then the active dimensions form one band, the
collapsed ones another, with a line between them, and a row's place says how much it carries.
In index order the collapsed rows of the shipped 20-D model lie scattered (z1, z4, z7, ...).

Below, the active units per epoch as a step line (one value holds for a whole epoch): by the
KL threshold of the traversal figure (KL >= 0.01 nats) and, dashed, Burda et al.'s count that
the history stores (Cov_x E[z_u] > 0.01), which usually agrees.

The numbers are app/collapse.py's CollapseData; this widget only draws them. It is fed the same
EpochEvents as the curves (gui/training_controller.py) and a checkpoint's history when one is
opened (gui/main_window.py) or reloaded while following a run (gui/run_following.py).
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from latentlab.app.collapse import CollapseData, dimension_name

from .curves import AXIS_PEN, BACKGROUND, COLOURS, FOREGROUND
from .elided_label import ElidedLabel
from .plot_axes import plain_number_axes
from .plot_export import FigureExportActions, laid_out_at, settle_layout, write_figure
from .plot_scale import scale_plot

LOG_FLOOR = 1e-4                 # nats: a KL below it (or 0) is drawn as this
COLOUR_MAP = "viridis"           # perceptually even, dark for collapsed: bright rows are the used ones
KL_PEN, BURDA_PEN = COLOURS["kl"], COLOURS["neg_elbo"]
EXPORT_SIZE = (760, 520)         # logical pixels of an exported figure
TITLE_SIZE = 9.0                 # pt
LOW_HEIGHT = 380                 # a dock lower than this (and twice as wide) puts the units plot beside
ROW_LABEL_SPACING = 1.15         # row labels at least this many text lines apart (else every k-th)
EMPTY = "No epoch yet: the KL of each dimension is measured at every epoch's validation."
NO_KL = "This run's history has no KL per dimension (an older checkpoint, or epochs without validation)."


def _style(plot: pg.PlotItem) -> None:
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setPen(pg.mkPen(AXIS_PEN))
        axis.setTextPen(pg.mkPen(FOREGROUND))
    plain_number_axes(plot)


class CollapseView(FigureExportActions, QWidget):
    """The heat map (heat_plot, its image `image`, shape (epochs, dims)), the active units
    (units_plot) and a caption above them: the last epoch's summary, or what is under the mouse.

    The caption is a one-line label outside the plots (ElidedLabel: a long list of collapsed
    dimensions ends in "…" and never widens the dock); an exported figure gets it as a title."""
    FIGURE_NAME, FIGURE_FILE = "the collapse view", "collapse"

    statusMessage = Signal(str)     # an export's result or error, for the status bar

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("collapseView")
        self.data = CollapseData()
        self.latent_dim: int | None = None
        self._row_dims = np.arange(0)       # the dimension shown in each row, top first
        self._ui_scale = 1.0
        self.side_by_side = False         # the units plot beside the heat map (a low, wide dock)
        self._build()
        self.redraw()

    # -- building ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.figure = pg.GraphicsLayoutWidget()
        self.figure.setObjectName("collapsePlot")
        self.figure.setBackground(BACKGROUND)
        self.figure.setMinimumSize(200, 160)
        grid = self.figure.ci
        grid.setContentsMargins(2, 2, 2, 2)
        # Row 0 is left empty for the title of an exported figure.
        self.heat_plot = grid.addPlot(row=1, col=0)
        self.units_plot = grid.addPlot(row=2, col=0)
        grid.layout.setRowStretchFactor(1, 4)
        grid.layout.setRowStretchFactor(2, 1)
        for plot in (self.heat_plot, self.units_plot):
            _style(plot)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setMouseEnabled(x=False, y=False)

        heat = self.heat_plot
        heat.invertY(True)                  # the highest KL at the top
        heat.setLabel("left", "z, by final KL")   # short: a low dock leaves the heat map little height
        heat.getAxis("bottom").setStyle(showValues=False)    # the units plot's x axis is theirs
        self.image = pg.ImageItem(axisOrder="col-major")     # image[epoch, row]
        heat.addItem(self.image)
        self.boundary = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(FOREGROUND, width=1, style=Qt.PenStyle.DashLine))
        self.boundary.setZValue(10)
        heat.addItem(self.boundary, ignoreBounds=True)
        # The colour bar beside the heat map in the outer grid (not inside the heat plot), so the
        # heat map and the units plot below it are equally wide and their epochs line up.
        self.colour_bar = pg.ColorBarItem(values=(-4, 1), colorMap=pg.colormap.get(COLOUR_MAP), width=12,
                                          interactive=False, colorMapMenu=False, label="KL (nats, log scale)")
        self.colour_bar.setImageItem(self.image)
        grid.addItem(self.colour_bar, row=1, col=1)
        _style(self.colour_bar)
        self.colour_bar.getAxis("right").setTextPen(pg.mkPen(FOREGROUND))
        self.colour_bar.getAxis("right").setPen(pg.mkPen(AXIS_PEN))

        units = self.units_plot
        units.setXLink(heat)
        units.setLabel("left", "active")
        units.setLabel("bottom", "epoch")
        units.showGrid(x=False, y=True, alpha=0.12)
        self.units_kl = units.plot(stepMode="center", connect="finite", pen=pg.mkPen(KL_PEN, width=2))
        self.units_burda = units.plot(stepMode="center", connect="finite",
                                      pen=pg.mkPen(BURDA_PEN, width=1.5, style=Qt.PenStyle.DashLine))
        self._align_left_axes()

        self.caption = ElidedLabel()
        self.caption.setObjectName("collapseCaption")
        self.caption.setTextFormat(Qt.TextFormat.PlainText)    # "KL < 0.01" is not a tag
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addWidget(self.caption)
        layout.addWidget(self.figure, 1)
        self.key = QLabel(self._key_html())
        self.key.setObjectName("collapseKey")
        self.key.setWordWrap(True)
        layout.addWidget(self.key)
        self.figure.scene().sigMouseMoved.connect(self._on_mouse_moved)
        heat.vb.sigResized.connect(lambda *_: self._set_row_ticks(self._row_dims))

    def fit_size(self, width: int, height: int) -> None:
        """The units plot under the heat map (sharing its epochs), or beside it in a dock low and
        wide (under the explorer at 1920 x 1080): stacked there, 20 rows got 80 pixels."""
        self._set_side_by_side(height < LOW_HEIGHT and width >= 2 * height)

    def _set_side_by_side(self, side: bool) -> None:
        if side == self.side_by_side:
            return
        self.side_by_side = side
        grid, units, heat = self.figure.ci, self.units_plot, self.heat_plot
        grid.removeItem(units)
        if side:
            grid.addItem(units, row=1, col=2)
            units.setXLink(None)
            grid.layout.setRowStretchFactor(2, 0)
            grid.layout.setColumnStretchFactor(0, 3)
            grid.layout.setColumnStretchFactor(2, 1)
        else:
            grid.addItem(units, row=2, col=0)
            units.setXLink(heat)
            grid.layout.setRowStretchFactor(2, 1)
            grid.layout.setColumnStretchFactor(2, 0)
        heat.getAxis("bottom").setStyle(showValues=side)
        heat.setLabel("bottom", "epoch" if side else None)
        heat.showAxis("bottom")
        self.redraw()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.fit_size(event.size().width(), event.size().height())
        super().resizeEvent(event)

    def _key_html(self, colour: str | None = None) -> str:
        """The units plot's legend. On screen a wrapping label under the plots, not the plot's
        title or a legend in it: those would cover the lines, or hold the view wider than a side
        dock (a pyqtgraph title never wraps and sets the plot's minimum width)."""
        t = f"{self.data.threshold:g}"
        text = f"<span style='color:{colour}'>" if colour else "<span>"
        return (f"{text}<span style='color:{KL_PEN}'>━━</span> active: KL ≥ {t} nats&nbsp;&nbsp; "
                f"<span style='color:{BURDA_PEN}'>╍╍</span> Burda et al.: Cov E[z] > {t}</span>")

    def _tick_metrics(self) -> QFontMetrics:
        """The metrics of the axes' tick labels (the UI zoom scales them: gui/plot_scale.py)."""
        return QFontMetrics(self.heat_plot.getAxis("left").style.get("tickFont") or self.font())

    def _align_left_axes(self) -> None:
        """Both plots' y axes equally wide, so that the epochs of the two line up."""
        fm = self._tick_metrics()
        width = fm.horizontalAdvance("z20") + fm.height() + 14
        for plot in (self.heat_plot, self.units_plot):
            plot.getAxis("left").setWidth(width)

    def set_ui_scale(self, factor: float) -> None:
        """Lines and text at `factor` (View > Zoom)."""
        self._ui_scale = factor
        for plot in (self.heat_plot, self.units_plot, self.colour_bar):
            scale_plot(plot, factor)
        self._align_left_axes()
        self._set_row_ticks(self._row_dims)

    # -- data in ----------------------------------------------------------------------------
    def add_epoch(self, event) -> str | None:
        """An EpochEvent of the running training; returns the collapse message when the set of
        collapsed dimensions changed (for the status bar), else None."""
        message = self.data.add_epoch(event)
        self.redraw()
        return message

    def load_history(self, history, latent_dim: int | None = None) -> None:
        """A checkpoint's history (opened): the view shows its epochs, nothing is announced."""
        self.latent_dim = latent_dim
        self.data.load_history(history)
        self.redraw()

    def reload_history(self, history, latent_dim: int | None = None) -> str | None:
        """A followed run's checkpoint, read again: its epochs, and the collapse message when the
        collapsed set changed since the last one said."""
        self.latent_dim = latent_dim
        message = self.data.reload_history(history)
        self.redraw()
        return message

    def clear(self) -> None:
        self.data.clear()
        self.redraw()

    # -- drawing ----------------------------------------------------------------------------
    def redraw(self) -> None:
        d = self.data
        kl = d.matrix()
        if not len(d) or not d.dims:
            self._show_nothing(EMPTY if not len(d) else NO_KL)
            return
        order = d.order()
        self._row_dims = order
        shown = np.log10(np.maximum(kl[:, order], LOG_FLOOR))     # NaN (no validation) stays NaN: clear
        self.image.setImage(shown, autoLevels=False)
        first = d.epochs[0]
        self.image.setRect(QRectF(first - 0.5, 0, len(d), d.dims))
        self.image.setVisible(True)
        self._set_colour_range(kl)
        self._set_row_ticks(order)
        collapsed = d.collapsed() or []
        self.boundary.setPos(d.dims - len(collapsed))
        self.boundary.setVisible(0 < len(collapsed) < d.dims)
        edges = np.append(np.asarray(d.epochs, float) - 0.5, d.epochs[-1] + 0.5)
        self.units_kl.setData(edges, d.active_by_kl())
        burda = d.active_burda()
        self.units_burda.setData(edges, burda) if d.has_burda() else self.units_burda.setData([], [])
        for plot in (self.heat_plot, self.units_plot):    # (not linked when side by side)
            plot.setXRange(first - 0.5, d.epochs[-1] + 0.5, padding=0)
        self.heat_plot.setYRange(0, d.dims, padding=0)
        self.units_plot.setYRange(0, d.dims, padding=0.08)
        self._set_title(d.summary())

    def _show_nothing(self, why: str) -> None:
        self.image.clear()
        self.image.setVisible(False)
        self.boundary.setVisible(False)
        self.units_kl.setData([], [])
        self.units_burda.setData([], [])
        self.heat_plot.getAxis("left").setTicks([[]])
        self._row_dims = np.arange(0)
        self._set_title(why)

    def _set_colour_range(self, kl: np.ndarray) -> None:
        """Whole decades from the smallest KL shown (at least LOG_FLOOR) to the largest."""
        finite = kl[np.isfinite(kl)]
        lo = math.floor(math.log10(max(float(finite.min()), LOG_FLOOR))) if finite.size else -2
        hi = math.ceil(math.log10(max(float(finite.max()), 10.0 ** (lo + 1)))) if finite.size else 1
        hi = max(hi, lo + 1)
        self.colour_bar.setLevels((lo, hi))
        self.colour_bar.getAxis("right").setTicks([[(k, f"{10.0 ** k:g}") for k in range(lo, hi + 1)]])

    def _set_row_ticks(self, order: np.ndarray) -> None:
        """Each row labelled with its dimension's name, or every k-th where the rows are lower
        than a line of text (pyqtgraph draws given ticks even where their labels overlap)."""
        line = self._tick_metrics().height() * ROW_LABEL_SPACING
        height = self.heat_plot.vb.height()
        fit = max(1, int(height // line)) if height > 0 else len(order)
        every = max(1, math.ceil(len(order) / fit))
        self.heat_plot.getAxis("left").setTicks(
            [[(r + 0.5, dimension_name(int(dim))) for r, dim in enumerate(order) if r % every == 0]])

    def _set_title(self, text: str) -> None:
        self.caption.setText(text)

    def _on_mouse_moved(self, pos) -> None:
        """Over the heat map, the title says which epoch and dimension, and the KL there."""
        d = self.data
        view = self.heat_plot.vb
        if not len(self._row_dims) or not view.sceneBoundingRect().contains(pos):
            self._set_title(d.summary() if d.dims else self.caption.text())
            return
        point = view.mapSceneToView(pos)
        row, column = int(math.floor(point.y())), int(round(point.x() - d.epochs[0]))
        if not (0 <= row < len(self._row_dims) and 0 <= column < len(d)):
            return
        dim = int(self._row_dims[row])
        value = d.matrix()[column, dim]
        kl = "not measured" if not math.isfinite(value) else f"KL {value:.3g} nats"
        state = "" if not math.isfinite(value) else (" (collapsed)" if value < d.threshold else "")
        self._set_title(f"Epoch {d.epochs[column]}, {dimension_name(dim)}: {kl}{state}")

    # -- export ------------------------------------------------------------------------------
    def export_figure(self, path, scale: float = 2.0, kind: str | None = None) -> Path:
        """The heat map and the active units as "svg", "pdf" or "png" (`kind`, by default the
        suffix of `path`) at EXPORT_SIZE, whatever the dock's size; an OSError names the file."""
        self.redraw()     # the caption shows the summary, not what the mouse was over
        grid = self.figure.ci
        side = self.side_by_side
        self._set_side_by_side(False)     # a figure is stacked: the epochs of both plots line up
        title = pg.LabelItem(html.escape(self.caption.text()), size=f"{TITLE_SIZE}pt", color=FOREGROUND, justify="left")
        grid.addItem(title, row=0, col=0, colspan=2)
        key = pg.LabelItem(self._key_html(FOREGROUND), size=f"{TITLE_SIZE}pt", justify="left")
        grid.addItem(key, row=3, col=0)
        try:
            with laid_out_at(grid, EXPORT_SIZE):
                return write_figure(grid, path, pg.mkColor(BACKGROUND), scale, kind,
                                    title="latentlab: KL per dimension over training")
        finally:
            grid.removeItem(title)
            grid.removeItem(key)
            self._set_side_by_side(side)
            settle_layout(grid)
