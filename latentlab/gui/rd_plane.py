"""The rate-distortion plane (objectName rdPlaneView; its plot rdPlane): every model the user has
as a point (R, D) (Alemi et al. 2018), the window's training run moving across it.

Points come from core/rate_distortion.py's scan of the shipped models, the runs folder, the recent
files and the sweep folders added with File > Add Sweep to Rate-Distortion Plane… (remembered in
the settings). The scan runs on a background thread (gui/latest_wins.py; unchanged files come from
a cache) each time the tab is shown and when a run ends. One data set at a time (their nats do not
compare), coloured by beta or by latent dimension, with a key; dashed lines of constant -ELBO,
labelled; the hover says what a point is; a click opens it in the window (not while training).
The live run is a star with its trail of validations, fed the training thread's EpochEvents.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from latentlab.app.rd_plane import (ISO_LINES, LiveRun, colour_groups, datasets, describe, group_label, iso_levels,
                                    on_dataset)
from latentlab.core.model_kinds import model_kind
from latentlab.core.rate_distortion import PointCache, RDPoint, run_name, scan
from latentlab.core.shipped import shipped_models_dir

from .curve_style import AXIS_PEN, BACKGROUND, FOREGROUND
from .elided_label import ElidedLabel
from .latest_wins import LatestWinsWorker
from .plot_axes import plain_number_axes
from .plot_export import FigureExportActions, laid_out_at, write_figure
from .plot_scale import scale_plot
from .settings import runs_dir

FOLDERS_KEY = "rdPlane/sweepFolders"
HOVER_PX = 10                 # a point within this many pixels of the mouse is the one hovered
EXPORT_SIZE = (760, 560)
LIVE_COLOUR = "#ff5a5a"
ISO_PEN = pg.mkPen("#8a8f98", width=1, style=Qt.PenStyle.DashLine)
GUIDE = ("Dashed: constant −ELBO = R + D (slope −1, the trade β = 1 makes); "
         "β < 1 favours low distortion, β > 1 low rate. Wheel or drag to zoom; double-click to fit.")


def _palette(n: int) -> list[tuple[int, int, int]]:
    """n colours from plasma's bright part (readable on the dark background)."""
    cmap = pg.colormap.get("plasma")
    stops = np.linspace(0.25, 0.95, n) if n > 1 else [0.7]
    return [tuple(int(c) for c in cmap.map(float(s), mode="byte")[:3]) for s in stops]


class RateDistortionView(FigureExportActions, QWidget):
    FIGURE_NAME, FIGURE_FILE = "the rate-distortion plane", "rate-distortion"
    statusMessage = Signal(str)
    openRequested = Signal(str)       # a point's checkpoint, clicked
    pointsChanged = Signal()          # a scan's points are shown

    def __init__(self, recent=None, settings=None, parent=None):
        super().__init__(parent)
        self.setObjectName("rdPlaneView")
        self.recent, self.settings = recent, settings
        self.points: list[RDPoint] = []
        self.skipped: list[tuple[str, str]] = []
        self.live: LiveRun | None = None
        self.controller = None
        self._shown: list[RDPoint] = []          # the points drawn, in the order of _xy
        self._xy = np.zeros((0, 2))
        self._user_view = False                  # the person zoomed or panned: redraws keep their view
        self._cache = PointCache()
        self._worker = LatestWinsWorker("latentlab-rd-scan", parent=self)
        self._build()

    # -- building ---------------------------------------------------------------------------------
    def _build(self) -> None:
        self.dataset_choice = QComboBox(objectName="rdDataset")
        self.dataset_choice.setToolTip("The data set whose models are shown (nats of different data do not compare)")
        self.colour_choice = QComboBox(objectName="rdColourBy")
        self.colour_choice.addItem("colour by β", "beta")
        self.colour_choice.addItem("colour by latent dim", "latent_dim")
        self.dataset_choice.currentIndexChanged.connect(lambda *_: self.fit_view())
        self.colour_choice.currentIndexChanged.connect(lambda *_: self.redraw())
        top = QHBoxLayout()
        top.setContentsMargins(4, 2, 4, 0)
        top.addWidget(self.dataset_choice)
        top.addWidget(self.colour_choice)
        top.addStretch(1)
        self.plot_widget = pg.PlotWidget(background=BACKGROUND)
        self.plot_widget.setObjectName("rdPlane")
        self.plot_widget.setMinimumSize(200, 160)
        plot = self.plot = self.plot_widget.getPlotItem()
        for side in ("left", "bottom"):
            plot.getAxis(side).setPen(pg.mkPen(AXIS_PEN))
            plot.getAxis(side).setTextPen(pg.mkPen(FOREGROUND))
        plain_number_axes(plot)
        plot.setLabel("bottom", "rate R = KL (nats)", color=FOREGROUND)
        plot.setLabel("left", "distortion D = reconstruction (nats)", color=FOREGROUND)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        # Bottom left: below every line of constant -ELBO lies what no model reaches (Alemi et al.), so it stays empty.
        self.legend = plot.addLegend(offset=(8, -8), labelTextColor=FOREGROUND, brush=pg.mkBrush(22, 24, 29, 200))
        self.plot_widget.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot_widget.scene().sigMouseClicked.connect(self._on_click)
        plot.getViewBox().sigRangeChangedManually.connect(self._on_user_view)
        self.caption = ElidedLabel()
        self.caption.setObjectName("rdCaption")
        self.guide = QLabel(GUIDE)
        self.guide.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.caption)
        layout.addWidget(self.guide)

    def menu_actions(self, start_folder) -> list[QAction]:
        """File > Add Sweep to Rate-Distortion Plane… and Export Rate-Distortion Plane…."""
        add = QAction("Add Sweep to Rate-Distortion Plane…", self, objectName="actionAddSweep")
        add.triggered.connect(lambda *_: self._add_folder_dialog(start_folder()))
        export = QAction("Export Rate-Distortion Plane…", self, objectName="actionExportRdPlane")
        export.triggered.connect(lambda *_: self.export_dialog(start_folder()))
        return [add, export]

    def set_ui_scale(self, factor: float) -> None:
        scale_plot(self.plot, factor)

    # -- where the points come from ------------------------------------------------------------------
    def sweep_folders(self) -> list[str]:
        value = self.settings.value(FOLDERS_KEY, []) if self.settings is not None else []
        return [value] if isinstance(value, str) else [str(v) for v in (value or [])]

    def add_folder(self, folder) -> None:
        """Show the runs under `folder` (a sweep's DIR, say) from now on, and scan now."""
        folder = str(Path(folder).resolve())
        if self.settings is not None:
            self.settings.setValue(FOLDERS_KEY, [folder] + [f for f in self.sweep_folders() if f != folder])
        self.refresh()

    def _add_folder_dialog(self, start: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a sweep (or any folder of runs)", start)
        if folder:
            self.add_folder(folder)

    def refresh(self) -> None:
        """Scan again, off the GUI thread; pointsChanged when the points are shown."""
        folders = [shipped_models_dir(), runs_dir(), *self.sweep_folders()]
        files = self.recent.paths() if self.recent is not None else []
        cache = self._cache
        self._worker.submit("scan", lambda: scan(folders, files, cache), self._on_scanned,
                            on_error=lambda e: self.statusMessage.emit(f"Rate-distortion plane: {e}"))

    def _on_scanned(self, result) -> None:
        self.points, self.skipped = result.points, result.skipped
        self._update_datasets()
        self.redraw()
        self.pointsChanged.emit()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.refresh()                  # cheap: unchanged files come from the cache

    def shutdown(self) -> None:
        self._worker.shutdown(1.0)

    # -- the live run ---------------------------------------------------------------------------------
    def follow(self, controller) -> None:
        """Show the run of a gui/training_controller.TrainingController as it trains."""
        self.controller = controller
        controller.runReady.connect(self._on_run_ready)
        controller.runEnded.connect(self._on_run_ended)

    def _on_run_ready(self, run) -> None:
        trainer = run.trainer
        if model_kind(trainer.model) != "vae":
            self.live = None
            return
        config = trainer.config
        self.live = LiveRun(run_name(run.out), float(config.beta), int(trainer.model.latent_dim),
                            run.spec.to_dict().get("dataset"), str(config.objective))
        epochs = trainer.history.epochs     # a continued run: its validations so far
        for epoch, kl, recon in zip(epochs.get("epoch", []), epochs.get("val_kl", []), epochs.get("val_recon", [])):
            self.live.add(epoch, kl, recon)
        if self.controller is not None and self.controller.worker is not None:
            self.controller.worker.epochEnded.connect(self.add_epoch)
        self._update_datasets(prefer=self.live.dataset)
        self.redraw()

    def add_epoch(self, event) -> None:
        """An EpochEvent of the window's run: the star moves to its validation (R, D)."""
        if self.live is not None and self.live.add(event.epoch, event.val_kl, event.val_recon):
            self.redraw()

    def _on_run_ended(self, run) -> None:
        if self.live is not None:
            self.live.training = False
        self.refresh()        # its checkpoint is a point now

    # -- drawing -----------------------------------------------------------------------------------
    def _update_datasets(self, prefer: str | None = None) -> None:
        names = datasets(self.points + ([self.live.point()] if self.live and self.live.point() else []))
        if prefer and prefer not in names:
            names.append(prefer)
        current = prefer or self.dataset_choice.currentData()
        box = self.dataset_choice
        box.blockSignals(True)
        box.clear()
        for name in names:
            box.addItem(name, name)
        if current in names:
            box.setCurrentIndex(names.index(current))
        box.blockSignals(False)

    def redraw(self) -> None:
        plot = self.plot
        plot.clear()
        self.legend.clear()
        dataset = self.dataset_choice.currentData()
        shown = on_dataset(self.points, dataset)
        live = self.live if self.live is not None and (self.live.dataset or "unknown") == (dataset or "unknown") \
            else None
        by = self.colour_choice.currentData() or "beta"
        groups = colour_groups(shown, by)
        colours = _palette(len([v for v, _ in groups if v is not None]))
        self._shown = []
        for i, (value, group) in enumerate(groups):
            colour = colours[i] if value is not None else (150, 150, 150)
            item = pg.ScatterPlotItem([p.rate for p in group], [p.distortion for p in group], size=11, symbol="o",
                                      pen=pg.mkPen("#101010", width=1), brush=pg.mkBrush(*colour),
                                      name=group_label(by, value))
            plot.addItem(item)
            self._shown.extend(group)
        if live is not None and live.path:
            _, rates, distortions = zip(*live.path)
            plot.addItem(pg.PlotDataItem(rates, distortions, pen=pg.mkPen(LIVE_COLOUR, width=1.5), symbol="o",
                                         symbolSize=5, symbolBrush=LIVE_COLOUR, symbolPen=None))
            plot.addItem(pg.ScatterPlotItem([rates[-1]], [distortions[-1]], size=20, symbol="star",
                                            pen=pg.mkPen("w", width=1.2), brush=pg.mkBrush(LIVE_COLOUR),
                                            name=f"this window's run{'' if live.training else ' (ended)'}"))
        self._xy = np.array([(p.rate, p.distortion) for p in self._shown], dtype=float).reshape(-1, 2)
        everything = [(p.rate, p.distortion) for p in self._shown] + ([xy[1:] for xy in live.path] if live else [])
        self._draw_iso_lines(everything)
        self._set_caption(None)

    def _draw_iso_lines(self, xy) -> None:
        if not xy:
            return
        rates, distortions = np.array([r for r, _ in xy]), np.array([d for _, d in xy])
        r_lo, r_hi = rates.min(), rates.max()
        d_lo, d_hi = distortions.min(), distortions.max()
        r_pad, d_pad = max((r_hi - r_lo) * 0.08, 0.5), max((d_hi - d_lo) * 0.08, 0.5)
        box = QRectF(r_lo - r_pad, d_lo - d_pad, r_hi - r_lo + 2 * r_pad, d_hi - d_lo + 2 * d_pad)
        levels = iso_levels([box.left() + box.top(), box.right() + box.bottom()], count=ISO_LINES)
        for level in levels:
            # R + D = level across the box, clipped to it (a segment, not an InfiniteLine: that one's
            # angle is on screen, and the axes' scales differ).
            r0, r1 = max(box.left(), level - box.bottom()), min(box.right(), level - box.top())
            if r0 >= r1:
                continue
            line = pg.PlotDataItem([r0, r1], [level - r0, level - r1], pen=ISO_PEN)
            line.setZValue(-10)
            self.plot.addItem(line, ignoreBounds=True)
            # The label inside the box where the line leaves it: at its top (text below the line's
            # end), else at its right side (text above it). (box.bottom() is the highest D.)
            r_top = level - box.bottom()
            if box.left() <= r_top <= box.right() - (box.width() * 0.2):
                at, anchor = (r_top, box.bottom()), (0, 0)
            else:
                at, anchor = (box.right(), level - box.right()), (1, 1)
            if box.top() <= at[1] <= box.bottom() - (box.height() * 0.06 if anchor == (1, 1) else 0):
                label = pg.TextItem(f"−ELBO {level:g}", color="#a0a4ab", anchor=anchor)
                label.setPos(*at)
                self.plot.addItem(label, ignoreBounds=True)
        if not self._user_view:   # a new scan or a live epoch must not undo the person's zoom
            self.plot.setRange(box, padding=0)

    def _on_user_view(self, *_) -> None:
        self._user_view = True

    def fit_view(self) -> None:
        """Show every point again (a double-click; choosing another data set does it too)."""
        self._user_view = False
        self.redraw()

    def _set_caption(self, point: RDPoint | None) -> None:
        if point is not None:
            self.caption.setText(describe(point))
            self.plot_widget.setToolTip(describe(point) + ("\nclick to open it" if point.path else ""))
            return
        self.plot_widget.setToolTip("")
        n = len(self._shown)
        parts = [f"{n} model{'s' if n != 1 else ''} on {self.dataset_choice.currentData() or 'no data set'}"]
        if self.live is not None and self.live.path:
            epoch, r, d = self.live.path[-1]
            parts.append(f"this window's run: epoch {epoch}, R {r:.2f}, D {d:.2f}")
        if self.skipped:
            parts.append(f"{len(self.skipped)} file(s) not shown")
            self.caption.setToolTip("\n".join(html.escape(why) for _, why in self.skipped[:20]))
        self.caption.setText(" · ".join(parts) + "; hover a point for its numbers, click to open it")

    # -- hover and click ----------------------------------------------------------------------------
    def point_at(self, scene_pos) -> RDPoint | None:
        """The drawn point nearest `scene_pos`, if within HOVER_PX screen pixels."""
        if not len(self._xy):
            return None
        view = self.plot.getViewBox()
        here = view.mapSceneToView(scene_pos)
        px, py = view.viewPixelSize()
        dx = (self._xy[:, 0] - here.x()) / (px or 1)
        dy = (self._xy[:, 1] - here.y()) / (py or 1)
        distance = np.hypot(dx, dy)
        i = int(np.argmin(distance))
        return self._shown[i] if distance[i] <= HOVER_PX else None

    def scene_pos_of(self, point: RDPoint):
        return self.plot.getViewBox().mapViewToScene(pg.Point(point.rate, point.distortion))

    def _on_mouse_moved(self, scene_pos) -> None:
        self._set_caption(self.point_at(scene_pos))

    def _on_click(self, event) -> None:
        if event.double():
            self.fit_view()
            return
        point = self.point_at(event.scenePos())
        if point is None or not point.path:
            return
        self.open_point(point)

    def open_point(self, point: RDPoint) -> bool:
        if self.controller is not None and self.controller.is_training:
            self.statusMessage.emit(f"Stop training before opening {point.name} from the rate-distortion plane.")
            return False
        if not Path(point.path).is_file():
            self.statusMessage.emit(f"{point.path} is not there any more.")
            return False
        self.openRequested.emit(point.path)
        return True

    # -- export ----------------------------------------------------------------------------------------
    def export_figure(self, path, scale: float = 2.0, kind: str | None = None) -> Path:
        with laid_out_at(self.plot, EXPORT_SIZE) as item:
            return write_figure(item, path, pg.mkColor(BACKGROUND), scale, kind, title="latentlab: rate-distortion plane")
