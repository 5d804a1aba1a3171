"""LatentExplorer: the latent canvas, the decoded image beside it, and the controls that go with them.

This is the widget the main window embeds. What it shows lives in one Qt-free `ExplorerState`
(`self.state`, latentlab/app/explorer_state.py); the model work behind it is an `ExplorerWork` on
two latest-wins threads (one for the model with one torch thread, one that reads image files), so
a training run, a huge file or a slow model cannot freeze it. The ground truth of the selected
image (its true posterior under the ellipse, its gaps, the examples: `self.truth`, a Qt-free
app/ground_truth.py `GroundTruthState`) is computed on two more threads, one for quick first
looks at p(z|x) and one for the rest. The geometry layers under the canvas (magnification, the
aggregate posterior q(z): `self.geometry`, app/geometry_layers.py) have a fifth thread. The widgets
here and in canvas_presenter.py, plane_controls.py, class_selector.py (an M2's class), encoded_panel.py,
figures.py, posterior_layer.py, posterior_controls.py, geometry_layers.py, geometry_controls.py,
gap_panel.py and example_table.py render that state and send it requests; none keeps a piece of it.

Public interface (used by the main window; keep the names):

    explorer = LatentExplorer()
    explorer.set_model(model, scatter=None, reset_view=True, data=None)  # decodes z = 0 at once
    explorer.set_scatter({"scatter_means": (N, D), "scatter_labels": (N,), "label_names": [...]})
    explorer.statusMessage   # Signal(str): errors and information for the status bar
    explorer.imageShown      # Signal(): a newly decoded image has been painted
    explorer.menu_actions()  # QActions for the window's menus (encode, paste, exports)
    explorer.encode_files(paths)
    explorer.set_examples_data(data)  # the model's data section: which test images are its examples
    explorer.model, explorer.pins(), explorer.encodings(), explorer.truth
    explorer.zoom_to_posterior()  # the canvas onto the selected image's posterior
    explorer.geometry        # app/geometry_layers.py: the magnification and q(z) layers (set_shown(...))
    explorer.presentation    # gui/presentation.py: present(page=None), show_in_window(page), changed
    explorer.tabs            # gui/page_tabs.py: the pages (encoded image, draw pad, figures, gaps, examples)
    explorer.set_ui_scale(factor)  # the plots' text (and, when they have set_ui_scale, more)
    explorer.replay          # gui/replay_bar.py: the training replay's slider (show_run(path), export(...))
    explorer.shutdown()      # stop the background threads (call from the window's closeEvent)
"""

from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import (QApplication, QCheckBox, QHBoxLayout, QLabel, QPushButton, QSplitter, QStyle,
                               QToolButton, QVBoxLayout, QWidget)

from latentlab.app import captions, exports, jobs
from latentlab.app.explorer_state import Encoding, ExplorerState
from latentlab.app.explorer_work import ExplorerWork
from latentlab.app.geometry_layers import GeometryLayers
from latentlab.app.geometry_work import GeometryWork
from latentlab.app.ground_truth import GroundTruthState, focus_box
from latentlab.app.ground_truth_work import GroundTruthWork
from latentlab.app.plane import LatentPlane

from . import explorer_menu
from .canvas import LatentCanvas
from .canvas_presenter import CanvasPresenter
from .class_selector import ClassSelector
from .drawpad import DrawPad
from .encoded_panel import EncodedPanel
from .example_table import ExamplePanel
from .figures import (AnalogiesFigure, FigureWidget, InterpolationFigure, ManifoldFigure, PriorSamplesFigure,
                      TraversalFigure)
from .gap_panel import GapPanel
from .geometry_controls import GeometryControls
from .geometry_layers import GeometryPresenter
from .image_view import ImageView, ThumbnailRow
from .latest_wins import LatestWinsWorker
from .page_tabs import PageTabs
from .path_layer import PathComparisonPresenter
from .plane_controls import PlaneControls
from .posterior_controls import PosteriorControls
from .posterior_layer import TruePosteriorPresenter
from .presentation import Presentation
from .quiet_label import QuietLabel
from .replay_bar import ReplayBar
from .side_scroll import SideScroll
from .window_view import explorer_split
from .ui_zoom import apply_ui_scale, scaled_font


class LatentExplorer(QWidget):
    """Latent canvas + decoded image + controls; see the module docstring for the interface."""

    statusMessage = Signal(str)
    imageShown = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = ExplorerState()
        # Model work on one thread (1 torch thread), file reading on another (Pillow only), so a
        # big photo being read never delays the hover decodes.
        self.model_thread = LatestWinsWorker("latentlab-model", torch_threads=1)
        self.reader_thread = LatestWinsWorker("latentlab-images", torch_threads=1)
        # The geodesic between the interpolation's ends is optimised on a thread of its own (0.2-1 s).
        self.paths_thread = LatestWinsWorker("latentlab-paths", torch_threads=1)
        self.work = ExplorerWork(self.state, self.model_thread, self.reader_thread, self.paths_thread)
        # The ground truth: first looks at p(z|x) (~0.1 s) on a thread of their own, so they follow a
        # drawing whatever else runs; full pictures, gaps and the examples table (seconds) on another.
        self.truth = GroundTruthState()
        self.live_thread = LatestWinsWorker("latentlab-posterior", torch_threads=1)
        self.exact_thread = LatestWinsWorker("latentlab-exact", torch_threads=1)
        self.truth_work = GroundTruthWork(self.state, self.truth, self.live_thread, self.exact_thread,
                                          self.reader_thread)
        # The geometry layers (magnification, q(z): up to a second a map) on a thread of their own,
        # so a map being computed never holds up a hover decode or a first look at p(z|x).
        self.geometry = GeometryLayers()
        self.geometry_thread = LatestWinsWorker("latentlab-geometry", torch_threads=1)
        self.geometry_work = GeometryWork(self.state, self.geometry, self.truth, self.geometry_thread)
        # A window that forgets shutdown() must not leave threads waiting forever. (Qt passes the
        # dying object to a destroyed slot: it must not end up as shutdown's timeout.)
        threads = self._threads()
        works = (self.truth_work, self.geometry_work, self.work)
        self.destroyed.connect(lambda *_: [*(w.stop() for w in works), *(thread.shutdown() for thread in threads)])

        self._build()
        self._connect_state()
        self._actions = explorer_menu.make_actions(self)

    # ==================================================================================== layout
    def _build(self) -> None:
        state = self.state
        self.canvas = LatentCanvas(self)
        self.presenter = CanvasPresenter(state, self.canvas, pick=self.truth_work.pick_scatter_point)
        self.posterior_presenter = TruePosteriorPresenter(self.truth, state, self.canvas)
        self.path_presenter = PathComparisonPresenter(state, self.canvas)
        self.posterior_controls = PosteriorControls(self.truth, self)
        self.posterior_controls.zoomRequested.connect(self.zoom_to_posterior)
        self.geometry_presenter = GeometryPresenter(self.geometry, state, self.canvas)
        self.geometry_controls = GeometryControls(self.geometry, state, self)
        self.canvas.filesDropped.connect(self.encode_files)
        self.canvas.imageDropped.connect(lambda image: self.encode_qimage(image, "dropped image"))
        self.canvas.dropRefused.connect(self.statusMessage)

        self.decoded = ImageView(self, min_side=140)
        self.decoded.setObjectName("decodedImage")
        self.decoded.setToolTip("The decoder's output at the latent point under the mouse")
        self.decoded.painted.connect(self.imageShown)

        self.show_sample = QCheckBox("Sample from p(x|z)", objectName="sampleToggle")
        self.show_sample.setToolTip("Off: the decoder's mean image (what VAE figures show). "
                                    "On: one random draw from p(x|z), noise included.")
        self.show_sample.toggled.connect(state.set_show_sample)
        self.show_scatter = QCheckBox("Test set", objectName="scatterToggle", checked=True)
        self.show_scatter.setToolTip("Show the encoded test set (posterior means), coloured by label")
        self.show_scatter.toggled.connect(state.set_scatter_visible)
        self.plane_controls = PlaneControls(state, self)
        self.class_selector = ClassSelector(state, self.canvas, self)    # M2 / M1+M2 only

        # Changes at every mouse move: a QuietLabel, not a QLabel (which relays out the window).
        self.readout = QuietLabel(captions.READOUT_HINT, objectName="latentReadout")
        font = self.readout.font()
        font.setFamily("monospace")
        font.setStyleHint(font.StyleHint.Monospace)
        self.readout.setFont(font)

        self.pin_row = ThumbnailRow(self)
        self.pin_row.setToolTip("Pinned points (click on the canvas to pin; see Figures for a strip between two)")

        self.encoded_panel = EncodedPanel(state, self)
        self.input_view = self.encoded_panel.input_view
        self.reconstruction_view = self.encoded_panel.reconstruction_view
        self.sample_row = self.encoded_panel.sample_row
        self.encoded_hint = self.encoded_panel.hint

        self.drawpad = DrawPad(self)
        self.drawpad.changed.connect(lambda: self.work.set_drawing(self.drawpad.pixels()))
        self.manifold = ManifoldFigure(state, self)
        self.prior_samples = PriorSamplesFigure(state, self)
        self.interpolation = InterpolationFigure(state, self)
        self.traversal = TraversalFigure(state, self)
        self.analogies = AnalogiesFigure(state, self)
        self.gap_panel = GapPanel(self.truth, self)
        self.examples = ExamplePanel(self.truth, self.truth_work, self)
        self.figures: list[FigureWidget] = [self.manifold, self.prior_samples, self.interpolation, self.traversal,
                                            self.analogies]

        # Every page scrolls when the panel is small, and can go to a window of its own.
        self.tabs = PageTabs(self, objectName="explorerTabs")
        self.tabs.addTab(self.encoded_panel, "Encoded")
        self.tabs.addTab(self.drawpad, "Draw")
        self.tabs.addTab(self.manifold, "Manifold")
        self.tabs.addTab(self.prior_samples, "Prior samples")
        self.tabs.addTab(self.interpolation, "Interpolation")
        self.tabs.addTab(self.traversal, "Traversal")
        self.tabs.addTab(self.analogies, "Analogies")
        self.tabs.addTab(self.gap_panel, "Gaps")
        self.tabs.addTab(self.examples, "Examples")
        self.tabs.currentChanged.connect(self._on_tab_changed)
        own_window = QToolButton(self.tabs, objectName="ownWindowButton", autoRaise=True)
        own_window.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarNormalButton))
        own_window.setToolTip("Show this tab in a window of its own, to make it large (View > Show in Own Window)")
        own_window.clicked.connect(lambda: self.presentation.show_in_window(self.tabs.currentWidget()))
        self.tabs.setCornerWidget(own_window, Qt.Corner.TopRightCorner)

        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(self.show_sample)
        controls.addWidget(self.show_scatter)
        reset = QPushButton("Reset view", objectName="resetView")
        reset.setToolTip("Back to the prior's 2-sigma disc and the test set (after panning or zooming)")
        reset.clicked.connect(state.request_view_reset)
        controls.addWidget(reset)
        # The training replay's time slider, in the row above the canvas: it takes no height from it.
        self.replay = ReplayBar(state, self)
        self.replay.statusMessage.connect(self.statusMessage)
        controls.addWidget(self.replay, 1)
        # The canvas' controls scroll sideways in a narrow window instead of setting its width.
        rows = QWidget(self)
        rows_layout = QVBoxLayout(rows)
        rows_layout.setContentsMargins(0, 0, 0, 0)
        rows_layout.addLayout(controls)
        rows_layout.addWidget(self.class_selector)
        rows_layout.addWidget(self.plane_controls)
        rows_layout.addWidget(self.posterior_controls)
        rows_layout.addWidget(self.geometry_controls)

        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(SideScroll(rows, left))
        left_layout.addWidget(self.canvas, 1)
        left_layout.addWidget(self.readout)

        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.decoded, 1)
        self.pins_line = QWidget(top)                 # shown while there are pins
        pins_layout = QHBoxLayout(self.pins_line)
        pins_layout.setContentsMargins(0, 0, 0, 0)
        pins_layout.addWidget(QLabel("Pinned:"))
        pins_layout.addWidget(self.pin_row, 1)
        self.pins_line.hide()
        top_layout.addWidget(self.pins_line)
        right = QSplitter(Qt.Orientation.Vertical, self)
        right.addWidget(top)
        right.addWidget(self.tabs)
        right.setStretchFactor(0, 1)
        right.setStretchFactor(1, 1)
        right.setSizes([500, 500])           # the decoded image above, the tabs below: half each
        right.setChildrenCollapsible(False)

        # The canvas is the main thing (window_view.explorer_split); a person's own splitter
        # positions are kept.
        splitter = explorer_split(left, right, self)
        splitter.setChildrenCollapsible(False)
        self.splitter, self.right_splitter = splitter, right
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.presentation = Presentation(self)
        self.presentation.changed.connect(self._on_tab_changed)

    def _connect_state(self) -> None:
        events = self.state.events
        events.hover.connect(self._render_readout)
        events.hover_image.connect(lambda: self.decoded.set_image(self.state.hover_image))
        events.pins.connect(self._render_pin_images)
        events.pin_images.connect(self._render_pin_images)
        events.show_sample.connect(self._render_toggles)
        events.scatter.connect(self._render_toggles)
        events.model.connect(self._on_model)
        events.message.connect(self.statusMessage.emit)
        events.pins.connect(self._render_pins_line)
        events.figures.connect(self._sync_visible_figure)
        self._fronted: set[tuple[str, str]] = set()      # encoded images that brought their tab forward
        events.posterior.connect(self._bring_encoded_to_front)
        events.encodings.connect(self._forget_fronted)
        # The traversal's rows are ordered by the KL over the examples (test images), which are also
        # the analogies' rows: handed to the work as a call, so the explorer's state never holds the
        # ground truth's.
        self.work.set_examples(lambda: self.truth.examples)
        for name in ("traversal", "analogies"):
            self.truth.events.examples.connect(lambda name=name: self.state.refresh_figure(name))

    # ============================================================================ public interface
    @property
    def model(self):
        return self.state.model

    @property
    def plane(self) -> LatentPlane:
        return self.state.plane

    def set_model(self, model, scatter: dict | None = None, reset_view: bool = True, data: dict | None = None) -> None:
        """Show `model` (a VAE; an M2 / M1+M2, one class at a time: gui/class_selector.py; or None
        for nothing). With reset_view=False (live snapshots of a run
        being trained) the plane and the view stay. Pins, anchors and images that fit the new
        model stay and are decoded / encoded again (images of another size prepared again from
        their originals); what does not fit is dropped and named in the status bar. `data` (the
        checkpoint's data section) says where its examples come from; a snapshot keeps the last.
        While the replay slider shows an earlier epoch, a snapshot is kept for its right end."""
        if self.replay.take_live(model, scatter, new_document=reset_view):
            return
        if data is not None or reset_view:
            self.truth_work.set_data(data, update=False)     # used by the model change below
        self.state.set_model(model, scatter, reset_view, class_names=(data or {}).get("label_names") or None)

    def set_examples_data(self, data: dict | None) -> None:
        """The data section ({"dataset": "mnist", "binarize": ...}) of the model being trained."""
        self.truth_work.set_data(data)

    def set_scatter(self, scatter: dict | None) -> None:
        """Replace the encoded test set (e.g. re-encoded during training); the view is not moved."""
        self.state.set_scatter(scatter)

    def encode_files(self, paths: list[str]) -> None:
        """Read, prepare and encode image files (drops, File > Encode image...). Errors go to statusMessage."""
        self.work.read_files([os.fspath(p) for p in paths])

    def encode_qimage(self, image: QImage, source: str = "clipboard") -> None:
        """Encode a picture held in memory (pasted or dropped as data)."""
        if self.model is not None and image.isNull():
            self.statusMessage.emit(f"The {source} image is empty")
            return
        # Converted on the reader thread like a file: a pasted screenshot can be tens of megapixels.
        # (QImage is implicitly shared and reentrant: reading this copy there is safe.)
        image = QImage(image)
        self.work.read(lambda shape: jobs.read_picture(explorer_menu.qimage_to_pil(image), source, shape))

    def encodings(self) -> list[Encoding]:
        """The encoded images, oldest first."""
        return list(self.state.encodings.values())

    def pins(self) -> list[np.ndarray]:
        return [p.z.copy() for p in self.state.pins]

    def pin(self, z) -> None:
        """Pin a latent point (D,), as a click on the canvas does."""
        self.state.add_pin(z)

    def clear_pins(self) -> None:
        self.state.clear_pins()

    def show_latent(self, z) -> None:
        """Decode and show latent z (D,) as if the mouse were there."""
        self.state.set_hover(np.asarray(z, dtype=np.float64))

    def clear_canvas(self) -> None:
        self.state.clear_pins()
        self.state.clear_encodings()
        self.drawpad.canvas.clear()

    def zoom_to_posterior(self) -> None:
        """Show the selected image's posterior (true and q, q*) large on the canvas."""
        box = focus_box(self.truth, self.state)
        if box is not None:
            self.canvas.plot_item.setRange(xRange=box[:2], yRange=box[2:], padding=0)

    def menu_actions(self) -> list[QAction]:
        return list(self._actions)

    def shutdown(self) -> None:
        """Stop the background threads; the explorer shows no new images afterwards. Its windows
        (presentation, pages in windows of their own) close and give their parts back."""
        self.presentation.close_all()
        self.truth_work.stop()           # long ground-truth jobs stop at their next decoder call
        self.geometry_work.stop()
        self.work.stop()                 # the geodesic, likewise
        self.replay.shutdown()
        for thread in self._threads():
            thread.shutdown()

    def _threads(self) -> tuple[LatestWinsWorker, ...]:
        return (self.model_thread, self.reader_thread, self.paths_thread, self.live_thread, self.exact_thread,
                self.geometry_thread)

    # ======================================================================================= exports
    def export_pins_csv(self, path: str | os.PathLike) -> None:
        """One row per pin: its number, canvas coordinates and full latent vector."""
        exports.write_pins_csv(path, self.pins(), self.state.plane)

    def export_scatter_csv(self, path: str | os.PathLike) -> None:
        """The encoded test set: label, label name and the posterior mean, one row per image."""
        exports.write_scatter_csv(path, self.state.scatter)

    # ================================================================================ rendering
    def _on_model(self, change) -> None:
        model = change.model
        if model is not None:
            _, height, width = model.image_shape
            self.drawpad.set_shape(height, width)   # empty at a new size (the state dropped the drawing)
        self._render_readout()

    def _render_readout(self) -> None:
        self.readout.setText(captions.readout(self.state))

    def _render_pin_images(self) -> None:
        images = self.state.pin_images
        shown = [(i, images[p.id]) for i, p in enumerate(self.state.pins) if p.id in images]
        self.pin_row.set_images([image for _, image in shown], [str(i + 1) for i, _ in shown])

    def _render_toggles(self) -> None:
        for box, value in ((self.show_sample, self.state.show_sample), (self.show_scatter, self.state.scatter_visible)):
            if box.isChecked() != value:
                box.blockSignals(True)
                box.setChecked(value)
                box.blockSignals(False)

    def _render_pins_line(self) -> None:
        self.pins_line.setVisible(bool(self.state.pins))

    # ============================================================================ what is on screen
    def _shown_pages(self) -> list[QWidget]:
        """Tab pages on screen: those in windows of their own (presented first), then the one in front."""
        pages = self.presentation.shown_pages()
        current = self.tabs.currentWidget()
        if current is not None and not self.tabs.is_lent(current):
            pages.append(current)
        return pages

    def _on_tab_changed(self, *_) -> None:
        self.truth.set_table_wanted(self.examples in self._shown_pages())     # computed while on screen
        self.truth_work.start_table_if_wanted()
        self._sync_visible_figure()

    def _sync_visible_figure(self) -> None:
        """The state computes the figure it calls visible, one at a time: with figures in windows of
        their own beside the one in front, a stale one on screen is made visible until it is
        computed, then the next, then the one first in `_shown_pages` again."""
        figures = [page for page in self._shown_pages() if isinstance(page, FigureWidget)]
        stale = [figure for figure in figures if figure.name in self.state.stale_figures]
        chosen = (stale or figures or [None])[0]
        self.state.set_visible_figure(chosen.name if chosen is not None else None)

    def _bring_encoded_to_front(self, encoding_id: str) -> None:
        """A newly encoded image (dropped, pasted, opened, drawn, picked) brings the Encoded tab to
        the front, unless the page it came from is in front (the pad while drawing, the table)."""
        encoding = self.state.encodings.get(encoding_id)
        if encoding is None or (encoding_id, encoding.name) in self._fronted:
            return        # the same image encoded again (a new model, a new stroke)
        self._fronted.add((encoding_id, encoding.name))
        current = self.tabs.currentWidget()
        if current not in (self.drawpad, self.examples) or self.tabs.is_lent(current):
            if not self.tabs.is_lent(self.encoded_panel):
                self.tabs.setCurrentWidget(self.encoded_panel)

    def _forget_fronted(self) -> None:
        self._fronted = {key for key in self._fronted if key[0] in self.state.encodings}

    # ============================================================================ UI scale
    def set_ui_scale(self, factor: float) -> None:
        """Scale the text of the plots (the canvas, the gap panel's L_k), which does not follow the
        widget font: their own `set_ui_scale(factor)` when they have one (gui/ui_zoom.py)."""
        font = scaled_font(QApplication.font(), factor)
        for widget in (self.canvas, self.gap_panel):
            apply_ui_scale(widget, factor, font)
        self.geometry_presenter.set_ui_scale(factor)     # the layers' keys float over the canvas
