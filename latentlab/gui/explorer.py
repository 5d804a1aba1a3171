"""LatentExplorer: the latent canvas, the decoded image beside it, and the controls that go with them.

This is the widget the main window embeds. It shows a model's latent plane with the encoded test
set, decodes the point under the mouse, pins points, encodes dropped / pasted / drawn images and
draws their posteriors, and offers the figures of the AEVB paper. It never blocks the GUI thread
on the model: every decode and encode runs on one background thread (`LatestWinsWorker`, one
torch thread), and image files are read on another, so a training run, a huge file or a slow
model cannot freeze it.

Public interface (used by the main window; keep the names):

    explorer = LatentExplorer()
    explorer.set_model(model, scatter=None, reset_view=True)  # model snapshot; decodes z = 0 at once
    explorer.set_scatter({"scatter_means": (N, D), "scatter_labels": (N,), "label_names": [...]})
    explorer.statusMessage   # Signal(str): errors and information for the status bar
    explorer.imageShown      # Signal(): a newly decoded image has been painted
    explorer.menu_actions()  # QActions for the window's menus (encode, paste, exports)
    explorer.encode_files(paths)
    explorer.shutdown()      # stop the background threads (call from the window's closeEvent)
"""

from __future__ import annotations

import csv
import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton,
                               QSizePolicy, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from latentlab.core.images import ImageError, PreparedImage, load_image, prepare_picture

from .canvas import LatentCanvas
from .latest_wins import JobResult, LatestWinsWorker, Posterior, decode_point, decode_points, encode_pixels
from .drawpad import DrawPad
from .figures import FigureWidget, InterpolationFigure, ManifoldFigure, PriorSamplesFigure
from .image_view import ImageView, ThumbnailRow
from latentlab.app.plane import Ellipse, LatentPlane, log_prior_density

MAX_ENCODINGS = 8          # ellipses kept on the canvas; older ones are dropped first
POSTERIOR_SAMPLES = 4      # draws from q(z|x) shown for the latest encoded image
MAX_PINS = 12
HOVER_PRIORITY, ENCODE_PRIORITY, BACKGROUND_PRIORITY = 0, 5, 10


@dataclass
class Encoding:
    """An image the user gave (file, clipboard, drawing) and its posterior under the current model."""

    key: str
    name: str
    pixels: np.ndarray                 # the preprocessed input, uint8 (C, H, W)
    posterior: Posterior | None = None

    def input_image(self) -> np.ndarray:
        return self.pixels[0] if self.pixels.shape[0] == 1 else self.pixels.transpose(1, 2, 0)


def scatter_arrays(scatter: dict | None) -> tuple[np.ndarray | None, np.ndarray | None, list[str] | None]:
    """(means (N, D) float64, labels (N,) or None, label names or None) from a checkpoint's extras."""
    if not scatter or scatter.get("scatter_means") is None:
        return None, None, None

    def as_numpy(value):
        detach = getattr(value, "detach", None)
        return np.asarray(detach().cpu() if detach else value)

    means = as_numpy(scatter["scatter_means"]).astype(np.float64)
    if means.ndim != 2:
        return None, None, None
    labels = scatter.get("scatter_labels")
    labels = None if labels is None else as_numpy(labels).astype(np.int64).reshape(-1)
    if labels is not None and (len(labels) != len(means) or labels.max(initial=-1) < 0):
        labels = None        # no labels at all (Frey Face stores -1 for every image)
    names = scatter.get("label_names")
    return means, labels, list(names) if names else None


class PlaneControls(QWidget):
    """For latent dimension > 2: which plane to show (two axes or the PCA plane) and the anchor."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.mode = QComboBox(objectName="planeMode")
        self.mode.addItem("Two axes", "axes")
        self.mode.addItem("PCA plane of the test set", "pca")
        self.mode.setToolTip("Which 2-D slice of latent space the canvas shows")
        self.x_axis = QComboBox(objectName="xAxis")
        self.y_axis = QComboBox(objectName="yAxis")
        self.anchor = QComboBox(objectName="planeAnchor")
        self.anchor.setToolTip("Where the coordinates not on the plane are held")
        for text, widget in (("Plane", self.mode), ("x", self.x_axis), ("y", self.y_axis),
                             ("others at", self.anchor)):
            layout.addWidget(QLabel(text))
            layout.addWidget(widget)
        layout.addStretch(1)
        for combo in (self.mode, self.x_axis, self.y_axis, self.anchor):
            combo.activated.connect(self._on_user_change)
        self._latent_dim = 2

    def set_latent_dim(self, latent_dim: int, pca_available: bool) -> None:
        self._latent_dim = latent_dim
        for combo in (self.x_axis, self.y_axis):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([f"z{i + 1}" for i in range(latent_dim)])
            combo.blockSignals(False)
        self.x_axis.setCurrentIndex(0)
        self.y_axis.setCurrentIndex(min(1, latent_dim - 1))
        self.mode.setCurrentIndex(0)
        self.set_pca_available(pca_available)
        self._sync_enabled()

    def set_pca_available(self, available: bool) -> None:
        item = self.mode.model().item(1)
        item.setEnabled(available)
        if not available and self.mode.currentIndex() == 1:
            self.mode.setCurrentIndex(0)

    def set_anchors(self, names: list[str]) -> None:
        """Anchor choices after the fixed first one ('0', the prior mean); keeps the current choice."""
        current = self.anchor.currentText()
        self.anchor.blockSignals(True)
        self.anchor.clear()
        self.anchor.addItem("0 (prior mean)")
        self.anchor.addItems(names)
        index = self.anchor.findText(current)
        self.anchor.setCurrentIndex(max(0, index))
        self.anchor.blockSignals(False)

    def axes(self) -> tuple[int, int]:
        return self.x_axis.currentIndex(), self.y_axis.currentIndex()

    def kind(self) -> str:
        return self.mode.currentData()

    def _on_user_change(self, *_):
        if self.x_axis.currentIndex() == self.y_axis.currentIndex():
            # Picking the other axis' value swaps them rather than making a degenerate plane.
            sender = self.sender()
            other = self.y_axis if sender is self.x_axis else self.x_axis
            free = next(i for i in range(self._latent_dim) if i != sender.currentIndex())
            other.setCurrentIndex(free)
        self._sync_enabled()
        self.changed.emit()

    def _sync_enabled(self) -> None:
        axes_mode = self.kind() == "axes"
        self.x_axis.setEnabled(axes_mode)
        self.y_axis.setEnabled(axes_mode)


class LatentExplorer(QWidget):
    """Latent canvas + decoded image + controls; see the module docstring for the interface."""

    statusMessage = Signal(str)
    imageShown = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._model = None
        self._plane = LatentPlane.axes(2)
        self._scatter_means: np.ndarray | None = None
        self._scatter_labels: np.ndarray | None = None
        self._label_names: list[str] | None = None
        self._hover_z: np.ndarray | None = None       # the latent whose image is shown
        self._pins: list[np.ndarray] = []             # latents (D,)
        self._encodings: dict[str, Encoding] = {}
        self._notes: dict[str, list[str]] = {}        # conversions to mention once encoded
        self._file_keys = itertools.count(1)
        self._path_z: np.ndarray | None = None        # latents of the interpolation strip
        self._stale_figures: set[str] = set()         # figures to recompute when next shown
        self._sample_seed = itertools.count(1)

        # Model work on one thread (1 torch thread), file reading on another (Pillow only), so a
        # big photo being read never delays the hover decodes.
        self._worker = LatestWinsWorker("latentlab-model", torch_threads=1)
        self._worker.finished.connect(self._on_model_job)
        self._reader = LatestWinsWorker("latentlab-images", torch_threads=1)
        self._reader.finished.connect(self._on_file_read)
        # A window that forgets shutdown() must not leave threads waiting forever.
        self.destroyed.connect(self._worker.shutdown)
        self.destroyed.connect(self._reader.shutdown)

        self._build()
        self._actions = self._make_actions()

    # ==================================================================================== layout
    def _build(self) -> None:
        self.canvas = LatentCanvas(self)
        self.canvas.hovered.connect(self._on_hover)
        self.canvas.clicked.connect(self._on_click)
        self.canvas.filesDropped.connect(self.encode_files)
        self.canvas.imageDropped.connect(self.encode_qimage)
        self.canvas.dropRefused.connect(self.statusMessage)

        self.decoded = ImageView(self, min_side=140)
        self.decoded.setObjectName("decodedImage")
        self.decoded.setToolTip("The decoder's output at the latent point under the mouse")
        self.decoded.painted.connect(self.imageShown)

        self.show_sample = QCheckBox("Sample from p(x|z)", objectName="sampleToggle")
        self.show_sample.setToolTip("Off: the decoder's mean image (what VAE figures show). "
                                    "On: one random draw from p(x|z), noise included.")
        self.show_sample.toggled.connect(self._redecode_hover)
        self.show_scatter = QCheckBox("Test set", objectName="scatterToggle", checked=True)
        self.show_scatter.setToolTip("Show the encoded test set (posterior means), coloured by label")
        self.show_scatter.toggled.connect(self.canvas.set_scatter_visible)
        self.plane_controls = PlaneControls(self)
        self.plane_controls.changed.connect(self._on_plane_controls)
        self.plane_controls.hide()

        self.readout = QLabel(objectName="latentReadout")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        font = self.readout.font()
        font.setFamily("monospace")
        font.setStyleHint(font.StyleHint.Monospace)
        self.readout.setFont(font)

        self.pin_row = ThumbnailRow(self)
        self.pin_row.setToolTip("Pinned points (click on the canvas to pin; see Figures for a strip between two)")

        self.input_view = ImageView(self, min_side=56, caption="input")
        self.reconstruction_view = ImageView(self, min_side=56, caption="reconstruction")
        self.sample_row = ThumbnailRow(self)
        encoded = QWidget(self)
        encoded_layout = QVBoxLayout(encoded)
        pair = QHBoxLayout()
        pair.addWidget(self.input_view)
        pair.addWidget(self.reconstruction_view)
        encoded_layout.addLayout(pair, 1)
        encoded_layout.addWidget(QLabel("Samples z ~ q(z|x), decoded:"))
        encoded_layout.addWidget(self.sample_row)
        self.encoded_hint = QLabel("Drop image files on the canvas, paste one (Ctrl+V), or draw.")
        self.encoded_hint.setWordWrap(True)
        encoded_layout.addWidget(self.encoded_hint)

        self.drawpad = DrawPad(self)
        self.drawpad.changed.connect(self._on_drawing_changed)
        self.manifold = ManifoldFigure(self)
        self.prior_samples = PriorSamplesFigure(self)
        self.interpolation = InterpolationFigure(self)
        self.interpolation.pathChanged.connect(self._on_path_changed)
        self.figures: list[FigureWidget] = [self.manifold, self.prior_samples, self.interpolation]
        for figure in self.figures:
            figure.requested.connect(lambda f=figure: self.update_figure(f))

        self.tabs = QTabWidget(self, objectName="explorerTabs")
        self.tabs.addTab(encoded, "Encoded")
        self.tabs.addTab(self.drawpad, "Draw")
        self.tabs.addTab(self.manifold, "Manifold")
        self.tabs.addTab(self.prior_samples, "Prior samples")
        self.tabs.addTab(self.interpolation, "Interpolation")
        self.tabs.currentChanged.connect(self._on_tab_changed)

        controls = QHBoxLayout()
        controls.addWidget(self.show_sample)
        controls.addWidget(self.show_scatter)
        reset = QPushButton("Reset view", objectName="resetView")
        reset.setToolTip("Back to the prior's 2-sigma disc and the test set (after panning or zooming)")
        reset.clicked.connect(lambda: self.canvas.reset_view(
            None if self._scatter_means is None else self._plane.project(self._scatter_means)))
        controls.addWidget(reset)
        controls.addStretch(1)

        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(controls)
        left_layout.addWidget(self.plane_controls)
        left_layout.addWidget(self.canvas, 1)
        left_layout.addWidget(self.readout)

        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.decoded, 1)
        pins_line = QHBoxLayout()
        pins_line.addWidget(QLabel("Pinned:"))
        pins_line.addWidget(self.pin_row, 1)
        top_layout.addLayout(pins_line)
        right = QSplitter(Qt.Orientation.Vertical, self)
        right.addWidget(top)
        right.addWidget(self.tabs)
        right.setStretchFactor(0, 1)
        right.setStretchFactor(1, 1)
        right.setChildrenCollapsible(False)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([600, 400])        # the canvas is the main thing: ~60 % of the width
        self.splitter, self.right_splitter = splitter, right
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self._update_readout(None)

    # ============================================================================ public interface
    @property
    def model(self):
        return self._model

    @property
    def plane(self) -> LatentPlane:
        return self._plane

    def set_model(self, model, scatter: dict | None = None, reset_view: bool = True) -> None:
        """Show `model` (a VAE, or None for nothing). With reset_view=False (live snapshots of a run
        being trained) the plane, pins and encoded images stay and are decoded/encoded again."""
        previous_dim = None if self._model is None else self._model.latent_dim
        self._model = model
        if model is None:
            self._worker.cancel("hover")
            self.decoded.set_image(None)
            self._update_readout(None)
            return
        same_space = previous_dim == model.latent_dim
        if reset_view or not same_space:
            self._store_scatter(scatter)     # a new model: its own test set, or none
        if not same_space:
            self._pins.clear()
            self._clear_encodings()
            self._hover_z = None
        if reset_view or not same_space:
            self.plane_controls.set_latent_dim(model.latent_dim, self._scatter_means is not None)
            self.plane_controls.setVisible(model.latent_dim > 2)
            self._plane = self._plane_from_controls()
            self._apply_plane(reset_view=True)
        elif scatter is not None:
            # A live snapshot with a re-encoded test set: redraw it, keep the view where the user has it.
            self.set_scatter(scatter)
        # A snapshot without a scatter changes nothing on the canvas until its encodings come back:
        # redrawing 10,000 points every second would cost the hover its frame.
        _, height, width = model.image_shape
        self.drawpad.set_shape(height, width)
        self._redecode_all()

    def set_scatter(self, scatter: dict | None) -> None:
        """Replace the encoded test set (e.g. re-encoded during training); the view is not moved."""
        self._store_scatter(scatter)
        self.plane_controls.set_pca_available(self._scatter_means is not None)
        if self._plane.kind == "pca":
            self._plane = self._plane_from_controls()
            self._apply_plane(reset_view=False)
        else:
            self._draw_scatter()

    def encode_files(self, paths: list[str]) -> None:
        """Read, prepare and encode image files (drops, File > Encode image...). Errors go to statusMessage."""
        if self._model is None:
            self.statusMessage.emit("Open a model first: there is nothing to encode with")
            return
        shape = tuple(self._model.image_shape)
        for path in paths:
            key = f"file{next(self._file_keys)}"
            self._reader.submit(key, lambda p=os.fspath(path): load_image(p, shape), priority=ENCODE_PRIORITY)

    def encode_qimage(self, image: QImage, source: str = "clipboard") -> None:
        """Encode a picture held in memory (pasted or dropped as data)."""
        if self._model is None:
            self.statusMessage.emit("Open a model first: there is nothing to encode with")
            return
        if image.isNull():
            self.statusMessage.emit(f"The {source} image is empty")
            return
        # Converted on the reader thread like a file: a pasted screenshot can be tens of megapixels.
        # (QImage is implicitly shared and reentrant: reading this copy there is safe.)
        shape, image = tuple(self._model.image_shape), QImage(image)
        self._reader.submit(f"{source}{next(self._file_keys)}",
                            lambda: prepare_picture(qimage_to_pil(image), shape, source=source),
                            priority=ENCODE_PRIORITY)

    def encodings(self) -> list[Encoding]:
        """The encoded images, oldest first."""
        return list(self._encodings.values())

    def pins(self) -> list[np.ndarray]:
        return [p.copy() for p in self._pins]

    def pin(self, z) -> None:
        """Pin a latent point (D,), as a click on the canvas does."""
        if len(self._pins) >= MAX_PINS:
            self._pins.pop(0)
        self._pins.append(np.asarray(z, dtype=np.float64).copy())
        self._draw_pins()
        self._decode_pins()

    def clear_pins(self) -> None:
        self._pins.clear()
        self._draw_pins()
        self.pin_row.set_images([])

    def show_latent(self, z) -> None:
        """Decode and show latent z (D,) as if the mouse were there."""
        self._hover_z = np.asarray(z, dtype=np.float64)
        self._update_readout(self._hover_z)
        self._decode_hover()

    def menu_actions(self) -> list[QAction]:
        return list(self._actions)

    def shutdown(self) -> None:
        """Stop the background threads; the explorer shows no new images afterwards."""
        self._worker.shutdown()
        self._reader.shutdown()

    # ========================================================================================= hover
    @Slot(float, float)
    def _on_hover(self, u: float, v: float) -> None:
        if self._model is None:
            return
        self._hover_z = self._plane.to_latent((u, v))
        self._update_readout(self._hover_z)
        self._decode_hover()

    def _decode_hover(self) -> None:
        model, z = self._model, self._hover_z
        if model is None or z is None:
            return
        sample = self.show_sample.isChecked()
        seed = next(self._sample_seed) if sample else None
        self._worker.submit("hover", lambda: decode_point(model, z, sample, seed), priority=HOVER_PRIORITY)

    def _redecode_hover(self, *_):
        if self._hover_z is None and self._model is not None:
            self._hover_z = self._plane.to_latent((0.0, 0.0))
        self._decode_hover()

    def _update_readout(self, z: np.ndarray | None) -> None:
        if z is None:
            self.readout.setText("z = –   move over the canvas to decode; click to pin")
            return
        # Long vectors are cut so the line fits beside a narrow canvas; the export has them in full.
        shown = ", ".join(f"{v:+.2f}" for v in z[:4]) + (f", … ({len(z)}-D)" if len(z) > 4 else "")
        log_p = log_prior_density(z)
        self.readout.setText(f"z = ({shown})   log p(z) = {log_p:.2f}   p(z) = {np.exp(log_p):.3g}")

    # ========================================================================================== pins
    @Slot(float, float)
    def _on_click(self, u: float, v: float) -> None:
        if self._model is None:
            return
        self.pin(self._plane.to_latent((u, v)))
        z = self._pins[-1]
        self.statusMessage.emit(f"Pinned point {len(self._pins)} at z = ({', '.join(f'{x:+.2f}' for x in z[:6])})")

    def _draw_pins(self) -> None:
        points = self._plane.project(np.array(self._pins)) if self._pins else np.empty((0, 2))
        self.canvas.set_pins(points)
        self._refresh_anchor_choices()

    def _decode_pins(self) -> None:
        model, pins = self._model, np.array(self._pins)
        if model is None or not len(pins):
            self.pin_row.set_images([])
            return
        self._worker.submit("pins", lambda: decode_points(model, pins), priority=BACKGROUND_PRIORITY)

    # ==================================================================================== encodings
    @Slot(object)
    def _on_file_read(self, result: JobResult) -> None:
        if result.error is not None:
            message = str(result.error) if isinstance(result.error, ImageError) else \
                f"Could not read the image: {type(result.error).__name__}: {result.error}"
            self.statusMessage.emit(message)
            return
        prepared: PreparedImage = result.value
        if self._model is None or tuple(self._model.image_shape)[0] != prepared.pixels.shape[0] \
                or prepared.pixels.shape[1:] != tuple(self._model.image_shape)[1:]:
            self.statusMessage.emit(f"{prepared.source}: the model changed while it was read; drop it again")
            return
        self._add_encoding(result.key, prepared)

    def _add_encoding(self, key: str, prepared: PreparedImage) -> None:
        while len(self._encodings) >= MAX_ENCODINGS and key not in self._encodings:
            oldest = next(iter(self._encodings))
            self._remove_encoding(oldest)
        encoding = self._encodings.pop(key, None)     # re-inserted: the newest is shown in detail
        if encoding is None:
            encoding = Encoding(key, prepared.source, prepared.pixels)
        else:
            encoding.pixels = prepared.pixels
        self._encodings[key] = encoding
        self._notes[key] = prepared.notes
        self._encode(encoding)

    def _encode(self, encoding: Encoding) -> None:
        model, pixels = self._model, encoding.pixels
        self._worker.submit(f"encode:{encoding.key}",
                            lambda: encode_pixels(model, pixels, POSTERIOR_SAMPLES), priority=ENCODE_PRIORITY)

    def _remove_encoding(self, key: str) -> None:
        self._encodings.pop(key, None)
        self._worker.cancel(f"encode:{key}")
        self.canvas.remove_posterior(key)

    def _clear_encodings(self) -> None:
        for key in list(self._encodings):
            self._remove_encoding(key)
        self.canvas.set_posterior_samples(None)
        self.input_view.set_image(None)
        self.reconstruction_view.set_image(None)
        self.sample_row.set_images([])
        self._refresh_anchor_choices()

    def _on_encoded(self, key: str, posterior: Posterior) -> None:
        encoding = self._encodings.get(key)
        if encoding is None:
            return
        first_time = encoding.posterior is None
        encoding.posterior = posterior
        self._draw_posterior(encoding)
        if key == self._latest_encoding_key():
            self._show_encoding_details(encoding)
        if first_time:
            std = posterior.std
            notes = self._notes.pop(key, [])
            message = (f"Encoded {encoding.name}: posterior mean ({', '.join(f'{v:+.2f}' for v in posterior.mu[:4])}"
                       f"{', …' if len(std) > 4 else ''}), σ ({', '.join(f'{v:.2f}' for v in std[:4])}"
                       f"{', …' if len(std) > 4 else ''})")
            if notes:
                message += " — " + "; ".join(notes)
            if not key.startswith("drawing"):
                self.statusMessage.emit(message)
        self._refresh_anchor_choices()      # new means for the plane's anchor and the strip's ends

    def _latest_encoding_key(self) -> str | None:
        keys = [k for k, e in self._encodings.items() if e.posterior is not None or k == "drawing"]
        return keys[-1] if keys else None

    def _draw_posterior(self, encoding: Encoding) -> None:
        posterior = encoding.posterior
        if posterior is None:
            return
        centre, cov = self._plane.project_gaussian(posterior.mu, np.exp(posterior.logvar))
        label = Path(encoding.name).stem[:14]
        self.canvas.set_posterior(encoding.key, Ellipse.from_covariance(centre, cov), label)

    def _show_encoding_details(self, encoding: Encoding) -> None:
        posterior = encoding.posterior
        self.input_view.set_image(encoding.input_image())
        self.reconstruction_view.set_image(posterior.reconstruction)
        self.sample_row.set_images(posterior.sample_images, [f"z{i + 1}" for i in range(len(posterior.sample_images))])
        self.canvas.set_posterior_samples(self._plane.project(posterior.sample_z))
        self.encoded_hint.setText(f"{encoding.name}: input after preprocessing, its reconstruction "
                                  "(decoded posterior mean), and decoded draws from q(z|x) (x marks on the canvas).")

    # ====================================================================================== planes
    def _plane_from_controls(self) -> LatentPlane:
        model = self._model
        if model is None:
            return LatentPlane.axes(2)
        dim = model.latent_dim
        if dim <= 2:
            return LatentPlane.axes(dim, 0, 1 if dim > 1 else 0)
        anchor = self._anchor_point()
        if self.plane_controls.kind() == "pca" and self._scatter_means is not None:
            return LatentPlane.pca(self._scatter_means, anchor)
        i, j = self.plane_controls.axes()
        return LatentPlane.axes(dim, i, j, anchor)

    def _anchor_point(self) -> np.ndarray | None:
        index = self.plane_controls.anchor.currentIndex()
        choices = self._anchor_choices()
        if index <= 0 or index - 1 >= len(choices):
            return None
        return choices[index - 1][1]

    def _anchor_choices(self) -> list[tuple[str, np.ndarray]]:
        choices = [(f"posterior mean of {e.name}", e.posterior.mu)
                   for e in self._encodings.values() if e.posterior is not None]
        choices += [(f"pin {i + 1}", z) for i, z in enumerate(self._pins)]
        return choices

    def _refresh_anchor_choices(self) -> None:
        """Pins and encoded images changed: they are the anchors of a plane and the ends of a strip."""
        choices = self._anchor_choices()
        self.plane_controls.set_anchors([name for name, _ in choices])
        old_ends = self.interpolation.endpoints()
        self.interpolation.set_endpoints([(name.removeprefix("posterior mean of "), z) for name, z in choices])
        new_ends = self.interpolation.endpoints()
        if (old_ends is None) != (new_ends is None) or (new_ends is not None and not all(
                np.array_equal(a, b) for a, b in zip(old_ends, new_ends))):
            self._stale_figures.add(self.interpolation.name)
            if self._path_z is not None:      # a path on the canvas follows its ends at once
                self._on_path_changed(self.interpolation.path())
            self._update_visible_figure()

    def _on_plane_controls(self) -> None:
        self._plane = self._plane_from_controls()
        self._apply_plane(reset_view=True)
        self._redecode_hover()

    def _apply_plane(self, reset_view: bool) -> None:
        """Re-project everything on the canvas onto the current plane."""
        self.canvas.set_axis_labels(*self._plane.labels)
        projected = self._draw_scatter()
        self._draw_pins()
        for encoding in self._encodings.values():
            self._draw_posterior(encoding)
        latest = self._encodings.get(self._latest_encoding_key() or "")
        if latest is not None and latest.posterior is not None:
            self.canvas.set_posterior_samples(self._plane.project(latest.posterior.sample_z))
        self._draw_path()
        self.manifold.describe_plane(self._plane, self._plane.latent_dim)
        if self._plane.latent_dim > 2:
            self._stale_figures.add(self.manifold.name)
            self._update_visible_figure()
        if reset_view:
            self.canvas.reset_view(projected)

    # ===================================================================================== scatter
    def _store_scatter(self, scatter: dict | None) -> None:
        means, labels, names = scatter_arrays(scatter)
        if means is not None and self._model is not None and means.shape[1] != self._model.latent_dim:
            self.statusMessage.emit(f"The encoded test set has {means.shape[1]} dimensions but the model has "
                                    f"{self._model.latent_dim}; not shown")
            means = labels = names = None
        self._scatter_means, self._scatter_labels, self._label_names = means, labels, names

    def _draw_scatter(self) -> np.ndarray | None:
        if self._scatter_means is None:
            self.canvas.set_scatter(None)
            return None
        projected = self._plane.project(self._scatter_means)
        self.canvas.set_scatter(projected, self._scatter_labels, self._label_names)
        return projected

    # ================================================================================ model results
    def _redecode_all(self) -> None:
        """After a new model: decode what is shown again, and re-encode every image."""
        self._redecode_hover()
        self._decode_pins()
        for encoding in self._encodings.values():
            self._encode(encoding)
        self._stale_figures = {f.name for f in self.figures}
        self._update_visible_figure()

    @Slot(object)
    def _on_model_job(self, result: JobResult) -> None:
        if not self._worker.is_latest(result):
            return   # overtaken by a newer request for the same thing
        if result.error is not None:
            self.statusMessage.emit(f"Model error: {type(result.error).__name__}: {result.error}")
            return
        key = result.key
        if key == "hover":
            self.decoded.set_image(result.value)
        elif key == "pins":
            self.pin_row.set_images(result.value, [str(i + 1) for i in range(len(result.value))])
        elif key.startswith("encode:"):
            self._on_encoded(key.removeprefix("encode:"), result.value)
        elif key.startswith("figure:"):
            figure = next(f for f in self.figures if f.name == key.removeprefix("figure:"))
            figure.show_array(result.value)

    # ======================================================================================= drawing
    def _on_drawing_changed(self) -> None:
        if self._model is None:
            return
        if self.drawpad.is_empty():
            if "drawing" in self._encodings:
                self._remove_encoding("drawing")
                self.canvas.set_posterior_samples(None)
                self._refresh_anchor_choices()
            return
        grey = self.drawpad.pixels()
        channels = self._model.image_shape[0]
        pixels = np.repeat(grey[None], channels, axis=0)
        self._add_encoding("drawing", PreparedImage(pixels, source="drawing"))

    # ======================================================================================= figures
    def update_figure(self, figure: FigureWidget) -> None:
        """Recompute one figure on the model thread (the array arrives via `figure.show_array`)."""
        self._stale_figures.discard(figure.name)
        if self._model is None:
            return
        job = figure.job(self._model, self._plane)
        if job is None:
            figure.show_array(None)
            return
        self._worker.submit(f"figure:{figure.name}", job, priority=BACKGROUND_PRIORITY)

    def _on_tab_changed(self, _index: int) -> None:
        self._update_visible_figure()

    def _update_visible_figure(self) -> None:
        """Figures are computed only when shown (a 40 x 40 manifold is 1,600 decodes, and during
        training a new model arrives every second); hidden ones are marked stale."""
        current = self.tabs.currentWidget()
        for figure in self.figures:
            if figure is current and figure.name in self._stale_figures:
                self.update_figure(figure)

    def _on_path_changed(self, path: np.ndarray | None) -> None:
        self._path_z = path
        self._draw_path()

    def _draw_path(self) -> None:
        self.canvas.set_path(None if self._path_z is None else self._plane.project(self._path_z))

    # ======================================================================================= exports
    def export_canvas_png(self, path: str | os.PathLike) -> None:
        """The canvas as it looks on screen (scatter, circles, ellipses, pins, path)."""
        if not self.canvas.grab().save(os.fspath(path), "PNG"):
            raise OSError(f"could not write {path}")

    def export_figure_png(self, figure: FigureWidget, path: str | os.PathLike) -> None:
        """A figure at its native resolution (one pixel per model pixel), e.g. the manifold."""
        array = figure.array()
        if array is None:
            raise ValueError(f"the {figure.name} figure has not been computed yet: open its tab first")
        from latentlab.core.figures import save_png

        save_png(array, path)

    def export_pins_csv(self, path: str | os.PathLike) -> None:
        """One row per pin: its number, canvas coordinates and full latent vector."""
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            dim = self._model.latent_dim if self._model is not None else (len(self._pins[0]) if self._pins else 0)
            writer.writerow(["pin", "u", "v", *[f"z{i + 1}" for i in range(dim)]])
            for i, z in enumerate(self._pins):
                u, v = self._plane.project(z)
                writer.writerow([i + 1, f"{u:.6g}", f"{v:.6g}", *[f"{x:.6g}" for x in z]])

    def export_scatter_csv(self, path: str | os.PathLike) -> None:
        """The encoded test set: label, label name and the posterior mean, one row per image."""
        if self._scatter_means is None:
            raise ValueError("there is no encoded test set to export")
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["label", "label_name", *[f"z{i + 1}" for i in range(self._scatter_means.shape[1])]])
            for i, z in enumerate(self._scatter_means):
                label = "" if self._scatter_labels is None else int(self._scatter_labels[i])
                name = "" if label == "" or not self._label_names or label >= len(self._label_names) \
                    else self._label_names[label]
                writer.writerow([label, name, *[f"{x:.6g}" for x in z]])

    def _export_with_dialog(self, title: str, filter_: str, suffix: str, write) -> None:
        """A non-modal save dialog; errors end up in the status bar, never in a blocking box."""
        dialog = QFileDialog(self, title, str(Path.home() / f"latentlab-{suffix}"), filter_)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def save(path: str) -> None:
            try:
                write(path)
            except (OSError, ValueError) as e:
                self.statusMessage.emit(f"Export failed: {e}")
            else:
                self.statusMessage.emit(f"Saved {path}")

        dialog.fileSelected.connect(save)
        dialog.open()

    # ========================================================================== clipboard & actions
    def paste_image(self) -> None:
        """Encode the clipboard's image, or the image files it holds (copied in a file manager)."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is not None and mime.hasImage():
            image = QGuiApplication.clipboard().image()
            self.encode_qimage(image, "clipboard")
        elif mime is not None and mime.hasUrls() and any(u.isLocalFile() for u in mime.urls()):
            self.encode_files([u.toLocalFile() for u in mime.urls() if u.isLocalFile()])
        else:
            self.statusMessage.emit("The clipboard holds no image")

    def open_encode_dialog(self) -> None:
        """A non-modal file dialog (the app never blocks on a dialog nobody answers)."""
        dialog = QFileDialog(self, "Encode images", str(Path.home()),
                             "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.filesSelected.connect(self.encode_files)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _make_actions(self) -> list[QAction]:
        encode = QAction("&Encode image...", self, objectName="actionEncodeImage")
        encode.setToolTip("Encode image files and draw their posteriors on the canvas")
        encode.triggered.connect(self.open_encode_dialog)
        paste = QAction("&Paste image", self, objectName="actionPasteImage")
        paste.setShortcut(QKeySequence.StandardKey.Paste)
        paste.triggered.connect(self.paste_image)
        clear = QAction("Clear pins and encoded images", self, objectName="actionClearCanvas")
        clear.triggered.connect(self.clear_canvas)
        actions = [encode, paste, clear]
        png, csv_ = "PNG images (*.png)", "CSV files (*.csv)"
        exports = [
            ("Export canvas as PNG...", "actionExportCanvas", png, "canvas.png", self.export_canvas_png),
            ("Export manifold as PNG...", "actionExportManifold", png, "manifold.png",
             lambda p: self.export_figure_png(self.manifold, p)),
            ("Export prior samples as PNG...", "actionExportSamples", png, "samples.png",
             lambda p: self.export_figure_png(self.prior_samples, p)),
            ("Export interpolation strip as PNG...", "actionExportStrip", png, "strip.png",
             lambda p: self.export_figure_png(self.interpolation, p)),
            ("Export pinned points as CSV...", "actionExportPins", csv_, "pins.csv", self.export_pins_csv),
            ("Export encoded test set as CSV...", "actionExportScatter", csv_, "scatter.csv", self.export_scatter_csv),
        ]
        for text, name, filter_, suffix, write in exports:
            action = QAction(text, self, objectName=name)
            action.triggered.connect(lambda _=False, t=text, f=filter_, s=suffix, w=write:
                                     self._export_with_dialog(t.rstrip("."), f, s, w))
            actions.append(action)
        return actions

    def clear_canvas(self) -> None:
        self.clear_pins()
        self._clear_encodings()
        self.drawpad.canvas.clear()


def qimage_to_pil(image: QImage):
    """A QImage -> a Pillow RGBA image (a copy), for the shared preparation in core.images."""
    from PIL import Image

    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    width, height = rgba.width(), rgba.height()
    buffer = np.frombuffer(rgba.constBits(), dtype=np.uint8, count=rgba.sizeInBytes())
    pixels = buffer.reshape(height, rgba.bytesPerLine())[:, :width * 4].reshape(height, width, 4)
    return Image.fromarray(pixels.copy(), mode="RGBA")
