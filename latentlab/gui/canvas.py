"""The latent canvas: a pyqtgraph plot of a latent plane that reports the mouse and takes drops.

It draws, in canvas coordinates (see `latentlab/app/plane.py`): the prior's 1- and 2-sigma
circles, the encoded test set coloured by label (with a legend), pinned points, posterior ellipses
of encoded images, samples from q(z|x) (labelled s1...s4: z1, z2 name the axes), and an
interpolation path (with a note at its far point when it leaves the data). It knows nothing about
models: its presenter (canvas_presenter.py) turns canvas coordinates into latents and draws the
explorer's state. Its labels are laid out so that none covers another (canvas_labels.py), and its
axes show plain numbers at any zoom (no "(x0.001)" scale factor beside the axis title).

Mouse: moving reports `hovered(u, v)`; a left click (without dragging) reports `clicked(u, v)`;
left-drag pans and the wheel zooms, as everywhere in pyqtgraph. Files or image data dropped on
it are reported as `filesDropped(paths)` / `imageDropped(QImage)`.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QGraphicsItem

from latentlab.app.captions import sample_label
from latentlab.app.plane import DEFAULT_RANGE, Ellipse, default_view  # noqa: F401 - DEFAULT_RANGE: public here too
from latentlab.app.vocabulary import CHECKPOINT_SUFFIXES

from .canvas_labels import layout_labels
from .plot_scale import ScalingPlotItem

# Matplotlib's tab10: ten labels that stay distinguishable, also for most colour-blind readers.
LABEL_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
# Colours for encoded images' ellipses: bright on the dark canvas and unlike the scatter's muted tones.
ELLIPSE_COLOURS = ["#ffffff", "#ffd700", "#00ffff", "#ff66ff", "#7CFC00", "#ff8c00", "#87cefa", "#ff4040"]



def _only_checkpoints(mime) -> bool:
    """True for a drag of model files only, which the main window opens (the canvas encodes images).
    The suffixes are the window's (app/vocabulary.py): a file it would not open is not left to it."""
    urls = mime.urls() if mime.hasUrls() else []
    return bool(urls) and all(u.isLocalFile() and u.toLocalFile().lower().endswith(CHECKPOINT_SUFFIXES)
                              for u in urls)


def label_colour(index: int) -> QColor:
    return QColor(LABEL_COLOURS[index % len(LABEL_COLOURS)])


def text_label(text: str, colour: str, z: float) -> pg.TextItem:
    """A label on the canvas, placed by canvas_labels.py. Its box hugs the text (Qt's default 4 px
    margin all round would make the layout keep labels needlessly far apart in a crowd)."""
    label = pg.TextItem(text, color=colour, anchor=(0, 0))
    label.textItem.document().setDocumentMargin(1)
    label.setZValue(z)
    return label


def _circle(radius: float, n: int = 181) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n)
    return np.stack([radius * np.cos(t), radius * np.sin(t)], axis=1)


class PosteriorGlyph:
    """What one encoded image puts on the canvas: a centre cross and its 1- and 2-sigma ellipses."""

    def __init__(self, plot: pg.PlotItem, colour: str, label: str):
        pen = pg.mkPen(colour, width=2)
        self.colour = colour
        self.one_sigma = pg.PlotCurveItem(pen=pen, antialias=True)
        self.two_sigma = pg.PlotCurveItem(pen=pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine),
                                          antialias=True)
        self.centre_marker = pg.ScatterPlotItem(size=12, symbol="+", pen=pg.mkPen(colour, width=2),
                                                brush=None, pxMode=True)
        self.text = text_label(label, colour, 20)
        self.items = [self.two_sigma, self.one_sigma, self.centre_marker, self.text]
        for item in self.items:
            item.setZValue(20)
            plot.addItem(item, ignoreBounds=True)
        self.ellipse: Ellipse | None = None

    def set_ellipse(self, ellipse: Ellipse) -> None:
        self.ellipse = ellipse
        for k, curve in ((1.0, self.one_sigma), (2.0, self.two_sigma)):
            outline = ellipse.outline(k)
            curve.setData(outline[:, 0], outline[:, 1])
        cx, cy = (float(v) for v in ellipse.centre)
        self.centre_marker.setData([cx], [cy])
        self.text.setPos(cx, cy)

    def remove(self, plot: pg.PlotItem) -> None:
        for item in self.items:
            plot.removeItem(item)


class LatentCanvas(pg.PlotWidget):
    """The plot of a latent plane (objectName 'latentCanvas'): hover, click, drop."""

    hovered = Signal(float, float)        # canvas coordinates under the mouse
    left = Signal()                       # the mouse left the plot area
    clicked = Signal(float, float)        # left click without a drag
    filesDropped = Signal(list)           # list[str] of local paths
    imageDropped = Signal(QImage)         # image data dropped without a file (e.g. from a browser)
    dropRefused = Signal(str)             # something was dropped that is neither

    def __init__(self, parent=None):
        super().__init__(parent, background="#16181d", plotItem=ScalingPlotItem())
        self.setObjectName("latentCanvas")
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        plot = self.getPlotItem()
        self.plot_item = plot
        plot.setAspectLocked(True)              # circles stay circles: latent units equal on both axes
        plot.showGrid(x=True, y=True, alpha=0.12)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        self.legend = plot.addLegend(offset=(-6, 6), labelTextSize="8pt", verSpacing=-6, colCount=2,
                                     brush=pg.mkBrush(22, 24, 29, 200))
        self.set_axis_labels("z1", "z2")
        for name in ("left", "bottom"):
            # Zoomed in to a posterior a few hundredths wide, pyqtgraph would write ticks "-5 0 5"
            # and "z1 (x0.001)" in the title; a reader wants the numbers themselves.
            plot.getAxis(name).enableAutoSIPrefix(False)

        prior_pen = pg.mkPen("#c8c8c8", width=1.2, style=Qt.PenStyle.DashLine)
        self.prior_circles = []
        for radius in (1.0, 2.0):
            xy = _circle(radius)
            curve = pg.PlotCurveItem(xy[:, 0], xy[:, 1], pen=prior_pen, antialias=True)
            curve.setZValue(5)
            plot.addItem(curve)
            self.prior_circles.append(curve)
        self.sigma_labels: list[tuple[pg.TextItem, float]] = []     # placed along their circle
        for radius, text in ((1.0, "1σ"), (2.0, "2σ")):
            label = text_label(text, "#c8c8c8", 5)
            label.setPos(radius * 0.7071, radius * 0.7071)
            plot.addItem(label, ignoreBounds=True)
            self.prior_circles.append(label)
            self.sigma_labels.append((label, radius))

        self._scatter_items: list[pg.ScatterPlotItem] = []
        self._legend_swatches: list[pg.ScatterPlotItem] = []
        self._scatter_signature = None
        self._scatter_visible = True
        self.pins = pg.ScatterPlotItem(size=16, symbol="star", pen=pg.mkPen("k", width=1),
                                       brush=pg.mkBrush("#ffe14d"), pxMode=True)
        self.pins.setZValue(30)
        plot.addItem(self.pins, ignoreBounds=True)
        self._pin_labels: list[pg.TextItem] = []
        self._pin_points = np.empty((0, 2))
        self.posterior_samples = pg.ScatterPlotItem(size=7, symbol="x", pen=pg.mkPen("#ffffff", width=1.5),
                                                    brush=None, pxMode=True)
        self.posterior_samples.setZValue(25)
        plot.addItem(self.posterior_samples, ignoreBounds=True)
        self._sample_labels: list[pg.TextItem] = []
        self._sample_points = np.empty((0, 2))
        self.path = pg.PlotDataItem(pen=pg.mkPen("#ffe14d", width=2), symbol="o", symbolSize=5,
                                    symbolBrush="#ffe14d", symbolPen=None, antialias=True)
        self.path.setZValue(28)
        plot.addItem(self.path, ignoreBounds=True)
        # Said at the path's far point when it leaves the data (app/captions.path_warning).
        self.path_note = text_label("", "#ffe14d", 28)
        self.path_note.setVisible(False)
        plot.addItem(self.path_note, ignoreBounds=True)
        self.path_note_point: tuple[float, float] | None = None
        self._glyphs: dict[str, PosteriorGlyph] = {}

        self.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        # Labels are laid out once per pass of the event loop, however many changes asked for it
        # (an image drawn on the pad moves its ellipse and its draws at every stroke).
        self._label_timer = QTimer(self, singleShot=True, interval=0)
        self._label_timer.timeout.connect(self.layout_labels_now)
        plot.vb.sigRangeChanged.connect(self.layout_labels)
        plot.vb.sigResized.connect(self.layout_labels)
        self.reset_view()

    # -- drawing -----------------------------------------------------------------------------------
    def set_axis_labels(self, x: str, y: str) -> None:
        self.plot_item.setLabel("bottom", x)
        self.plot_item.setLabel("left", y)

    def set_scatter(self, points: np.ndarray | None, labels: np.ndarray | None = None,
                    names: list[str] | None = None) -> None:
        """Encoded points (N, 2) in canvas coordinates, one colour per label, one legend row each.

        When the same labels come again (a re-encoded test set during training, a new plane), the
        existing items get new coordinates instead of being rebuilt with their legend: ~4x cheaper,
        which matters when a training run sends a new scatter every few seconds.
        """
        if points is None or len(points) == 0:
            self._clear_scatter()
            return
        points = np.asarray(points, dtype=np.float64)
        if labels is None:
            groups = [(None, np.arange(len(points)))]
        else:
            labels = np.asarray(labels)
            groups = [(int(v), np.flatnonzero(labels == v)) for v in np.unique(labels)]
        signature = ([label for label, _ in groups], list(names or []), self._alpha_for(len(points)))
        if signature == self._scatter_signature:
            for item, (_, index) in zip(self._scatter_items, groups):
                item.setData(points[index, 0], points[index, 1])
            return
        self._clear_scatter()
        self._scatter_signature = signature
        alpha = signature[2]
        for label, index in groups:
            colour = QColor("#9aa0a6") if label is None or label < 0 else label_colour(label)
            colour.setAlpha(alpha)
            name = ("test set" if label is None else "unlabelled" if label < 0 else
                    names[label] if names is not None and label < len(names) else str(label))
            item = pg.ScatterPlotItem(points[index, 0], points[index, 1], size=4, pen=None,
                                      brush=pg.mkBrush(colour), pxMode=True, hoverable=False)
            item.setZValue(1)
            # Drawn once into a pixmap until the view moves or the points change: a repaint for a
            # moving ellipse or a new picture of p(z|x) then blits 10,000 points instead of drawing
            # them again (a canvas repaint went from ~6 to ~3 ms, benchmarks/posterior_responsiveness.py).
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self.plot_item.addItem(item)
            self._scatter_items.append(item)
            # The legend gets an opaque, larger stand-in: a translucent 4-px dot is unreadable there.
            swatch = QColor(colour)
            swatch.setAlpha(255)
            self._legend_swatches.append(pg.ScatterPlotItem(size=9, pen=None, brush=pg.mkBrush(swatch)))
            self.legend.addItem(self._legend_swatches[-1], name)
        self.set_scatter_visible(self._scatter_visible)
        if self.plot_item.ui_scale != 1.0:
            self.plot_item.set_ui_scale(self.plot_item.ui_scale)   # the legend's new rows

    def set_ui_scale(self, factor: float) -> None:
        """Markers, lines, labels, legend and axes at `factor` (View > Zoom; gui/plot_scale.py)."""
        self.plot_item.set_ui_scale(factor)

    @staticmethod
    def _alpha_for(count: int) -> int:
        # Size and alpha tuned for 10,000 points: small and translucent, so dense clusters show as
        # darker regions instead of one solid blob, and single outliers stay visible.
        return int(np.clip(255 * 1500 / max(count, 1), 60, 200))

    def _clear_scatter(self) -> None:
        for item in self._scatter_items:
            self.plot_item.removeItem(item)
        self.legend.clear()
        self._scatter_items: list[pg.ScatterPlotItem] = []
        self._legend_swatches: list[pg.ScatterPlotItem] = []
        self._scatter_signature = None
        self.legend.setVisible(False)

    def set_scatter_visible(self, visible: bool) -> None:
        self._scatter_visible = visible
        for item in self._scatter_items:
            item.setVisible(visible)
        self.legend.setVisible(visible and bool(self._scatter_items))

    def scatter_items(self) -> list[pg.ScatterPlotItem]:
        return list(self._scatter_items)

    def set_pins(self, points: np.ndarray) -> None:
        """Pinned points (P, 2), numbered from 1 in the order given."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        self.pins.setData(points[:, 0], points[:, 1])
        self._pin_points = points
        self._pin_labels = self._relabel(self._pin_labels, [str(i + 1) for i in range(len(points))], "#ffe14d", 30)
        self.layout_labels()

    def pin_points(self) -> np.ndarray:
        return self._pin_points.copy()

    def pin_labels(self) -> list[pg.TextItem]:
        return list(self._pin_labels)

    def _relabel(self, labels: list[pg.TextItem], texts: list[str], colour: str, z: float) -> list[pg.TextItem]:
        """`labels` reused, added or removed to show `texts` (placed by layout_labels)."""
        for label in labels[len(texts):]:
            self.plot_item.removeItem(label)
        labels = labels[:len(texts)]
        for text in texts[len(labels):]:
            label = text_label(text, colour, z)
            self.plot_item.addItem(label, ignoreBounds=True)
            labels.append(label)
        for label, text in zip(labels, texts):
            if label.toPlainText() != text:
                label.setText(text)
        return labels

    def set_posterior(self, key: str, ellipse: Ellipse, label: str = "", colour: str | None = None) -> None:
        """Add or move the ellipses of one encoded image (key: any stable id)."""
        glyph = self._glyphs.get(key)
        if glyph is None:
            colour = colour or ELLIPSE_COLOURS[len(self._glyphs) % len(ELLIPSE_COLOURS)]
            glyph = self._glyphs[key] = PosteriorGlyph(self.plot_item, colour, label)
        elif glyph.text.toPlainText() != label:
            glyph.text.setText(label)          # another image in the same place (an example picked)
        glyph.set_ellipse(ellipse)
        self.layout_labels()

    def remove_posterior(self, key: str) -> None:
        glyph = self._glyphs.pop(key, None)
        if glyph is not None:
            glyph.remove(self.plot_item)
            self.layout_labels()

    def posterior_glyphs(self) -> list[PosteriorGlyph]:
        return list(self._glyphs.values())

    def posterior(self, key: str) -> PosteriorGlyph | None:
        return self._glyphs.get(key)

    def posterior_keys(self) -> list[str]:
        return list(self._glyphs)

    def set_posterior_samples(self, points: np.ndarray | None) -> None:
        """Draws from q(z|x) (K, 2), marked x and labelled s1...sK (the thumbnails' names)."""
        points = np.empty((0, 2)) if points is None else np.asarray(points, dtype=np.float64).reshape(-1, 2)
        self.posterior_samples.setData(points[:, 0], points[:, 1])
        self._sample_points = points
        self._sample_labels = self._relabel(self._sample_labels, [sample_label(i) for i in range(len(points))],
                                            "#e8e8e8", 25)
        self.layout_labels()

    def sample_points(self) -> np.ndarray:
        return self._sample_points.copy()

    def sample_labels(self) -> list[pg.TextItem]:
        return list(self._sample_labels)

    def set_path(self, points: np.ndarray | None, note: str = "", note_at: int | None = None) -> None:
        """An interpolation path (S, 2), drawn as a polyline with its steps; None hides it. `note`
        is written beside step `note_at` (why the path is far from the data, say)."""
        if points is None or len(points) == 0:
            self.path.setData([], [])
            note = ""
        else:
            points = np.asarray(points, dtype=np.float64)
            self.path.setData(points[:, 0], points[:, 1])
        shown = bool(note) and note_at is not None
        self.path_note_point = (float(points[note_at, 0]), float(points[note_at, 1])) if shown else None
        self.path_note.setText(note if shown else "")
        self.path_note.setVisible(shown)
        self.layout_labels()

    def show_whole(self, points: np.ndarray, margin: float = 0.15) -> None:
        """Widen the view (never narrow it) so that it holds all of `points` (N, 2), with a margin."""
        points = np.asarray(points, dtype=np.float64)
        points = points[np.all(np.isfinite(points), axis=1)]
        if not len(points):
            return
        (x0, x1), (y0, y1) = self.plot_item.vb.viewRange()
        lo, hi = points.min(axis=0), points.max(axis=0)
        pad = margin * max(hi[0] - lo[0], hi[1] - lo[1], 1.0)
        if lo[0] >= x0 and hi[0] <= x1 and lo[1] >= y0 and hi[1] <= y1:
            return
        self.plot_item.setRange(xRange=(min(x0, lo[0] - pad), max(x1, hi[0] + pad)),
                                yRange=(min(y0, lo[1] - pad), max(y1, hi[1] + pad)), padding=0)

    def layout_labels(self, *_) -> None:
        """Place every label of the canvas so that none covers another (canvas_labels.py), soon."""
        self._label_timer.start()

    def layout_labels_now(self) -> None:
        self._label_timer.stop()
        layout_labels(self)

    def labels_pending(self) -> bool:
        """A layout of the labels is due (it runs at the next pass of the event loop)."""
        return self._label_timer.isActive()

    def reset_view(self, points: np.ndarray | None = None) -> None:
        """Show the prior's 2-sigma disc with margin, widened to hold most of `points` (N, 2)."""
        u0, u1, v0, v1 = default_view(points)
        self.plot_item.setRange(xRange=(u0, u1), yRange=(v0, v1), padding=0)

    # -- coordinates --------------------------------------------------------------------------------
    def map_to_canvas(self, widget_pos) -> tuple[float, float]:
        """Widget pixel position -> canvas (latent plane) coordinates."""
        scene_pos = self.mapToScene(widget_pos.toPoint() if isinstance(widget_pos, QPointF) else widget_pos)
        p = self.plot_item.vb.mapSceneToView(scene_pos)
        return p.x(), p.y()

    def map_from_canvas(self, u: float, v: float):
        """Canvas coordinates -> widget pixel position (QPoint), e.g. for QTest.mouseMove."""
        scene_pos = self.plot_item.vb.mapViewToScene(QPointF(u, v))
        return self.mapFromScene(scene_pos)

    # -- mouse ----------------------------------------------------------------------------------------
    def mouseMoveEvent(self, ev) -> None:  # noqa: N802 - Qt's name
        """Hover is reported here, straight from the widget event, not via pyqtgraph's scene: the scene
        rate-limits sigMouseMoved to 100 Hz (half of a fast mouse's moves would be dropped) and
        then hit-tests every item for hover events, which costs milliseconds with 10,000 points.
        Moves with a button down (panning, dragging the legend) go to pyqtgraph as usual."""
        if ev.buttons() != Qt.MouseButton.NoButton:
            super().mouseMoveEvent(ev)
            return
        self.lastMousePos = ev.position()    # pyqtgraph's pan reference, as its own handler keeps it
        self._report_hover(self.mapToScene(ev.position().toPoint()))
        ev.accept()

    def _report_hover(self, scene_pos: QPointF) -> None:
        vb = self.plot_item.vb
        if vb.sceneBoundingRect().contains(scene_pos):
            p = vb.mapSceneToView(scene_pos)
            self.hovered.emit(p.x(), p.y())
        else:
            self.left.emit()

    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        vb = self.plot_item.vb
        if vb.sceneBoundingRect().contains(event.scenePos()):
            p = vb.mapSceneToView(event.scenePos())
            self.clicked.emit(p.x(), p.y())

    def leaveEvent(self, event) -> None:  # noqa: N802
        self.left.emit()
        super().leaveEvent(event)

    # -- drag and drop ----------------------------------------------------------------------------------
    # Real drags arrive through the viewport and reach dragEnterEvent & co.; an event sent to the view
    # itself (QApplication.sendEvent, as tests and some platforms do) is routed by `event` below,
    # because QAbstractScrollArea would otherwise ignore drag events that do not come via its viewport.
    def event(self, ev) -> bool:
        kind = ev.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            self._accept_drag(ev)
            return True
        if kind == QEvent.Type.Drop:
            self._drop(ev)
            return True
        return super().event(ev)

    def dragEnterEvent(self, ev) -> None:  # noqa: N802
        self._accept_drag(ev)

    def dragMoveEvent(self, ev) -> None:  # noqa: N802
        self._accept_drag(ev)

    def dropEvent(self, ev) -> None:  # noqa: N802
        self._drop(ev)

    def _accept_drag(self, ev) -> None:
        mime = ev.mimeData()
        if mime is None or not (mime.hasUrls() or mime.hasImage()) or _only_checkpoints(mime):
            ev.ignore()      # not ours: Qt offers the drag to the parents (the window opens checkpoints)
        else:
            ev.acceptProposedAction()

    def _drop(self, ev) -> None:
        mime = ev.mimeData()
        if mime is None or _only_checkpoints(mime):
            ev.ignore()
            return
        paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
        remote = [url.toString() for url in mime.urls() if not url.isLocalFile()]
        if paths:
            self.filesDropped.emit(paths)
        elif mime.hasImage():
            image = mime.imageData()
            if isinstance(image, QImage) and not image.isNull():
                self.imageDropped.emit(image)
            else:
                self.dropRefused.emit("The dropped image data could not be read")
        elif remote:
            self.dropRefused.emit(f"Only files on this computer can be dropped, not {remote[0]}; "
                                  "save the image first")
        else:
            self.dropRefused.emit("Nothing usable was dropped: drop image files")
        ev.acceptProposedAction()
