"""The first look: the window that is up within a second of launch, while the full app loads.

Importing torch takes one to two seconds and building the main window another second or so. For
an MLP VAE (the shipped model, or a checkpoint given on the command line) the first look shows
at once, without torch, what the main window opens on: the encoded test set on the canvas and the
decoder's image at the canvas' centre, and the point under the mouse decoded on every move, by a
NumPy forward pass (core/numpy_vae.py; the same pixels as the torch model's). It is laid out like
the main window (the canvas on the left, the decoded image to its right, a column for the training
panel, the menu and status bars) at the size and place the main window will have, and it says that
the full app is loading. gui/app.py then builds the main window and hands over to it.

    look = open_first_look(path, settings)   # None: not a model the first look can show
    look.show()
    look.firstImagePainted     # Signal(): its decoded image reached the screen (once)
    look.hovered_latent        # the last latent under the mouse, or None
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QSettings, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QSplitter, QVBoxLayout, QWidget

from latentlab.app.plane import LatentPlane, log_prior_density
from latentlab.core.checkpoint_files import CheckpointError
from latentlab.core.numpy_vae import QuickModel, read_quick_model

from .first_look_canvas import FirstLookCanvas
from .image_view import ImageView
from .settings import ui_scale
from .ui_zoom import scaled_font
from .window_view import default_window_size, explorer_split, training_dock_width

LOADING = "Loading the full app (PyTorch, training, figures)…"
# app/captions.py's READOUT_HINT and readout(), which come with the explorer's whole state (50 ms
# of imports, a tenth of the first look's budget); tests/gui/test_first_look.py keeps them equal.
READOUT_HINT = "z = –   move over the canvas to decode; click to pin"


def open_first_look(path, settings: QSettings) -> "FirstLookWindow | None":
    """The first look at the checkpoint `path`, not yet shown; None when it cannot show that model
    (a convolutional VAE, an M2, no test set in the file) or cannot read the file: the main window
    then opens it (and reports what is wrong with it) as it always did."""
    try:
        model = read_quick_model(path)
    except CheckpointError:
        return None
    except Exception as e:  # a bug here must never keep the app from starting the usual way
        print(f"latentlab: no first look at {path} ({type(e).__name__}: {e})", file=sys.stderr)
        return None
    return None if model is None else FirstLookWindow(model, Path(path).name, settings)


def default_axes(means: np.ndarray) -> tuple[int, int]:
    """The plane a model opens on (app/explorer_state.py `_default_axes`): z1, z2, unless the
    test set varies more along two other axes."""
    dim = means.shape[1]
    if dim <= 2 or len(means) < 2:
        return (0, 1 if dim > 1 else 0)
    spread = np.nan_to_num(means.var(axis=0), nan=-1.0)
    first, second = np.argsort(-spread, kind="stable")[:2]
    return (int(first), int(second))


def readout(z: np.ndarray | None) -> str:
    """z under the mouse with log p(z) and p(z), as the explorer's readout line (captions.readout)."""
    if z is None:
        return READOUT_HINT
    shown = ", ".join(f"{v:+.2f}" for v in z[:4]) + (f", … ({len(z)}-D)" if len(z) > 4 else "")
    log_p = log_prior_density(z)
    return f"z = ({shown})   log p(z) = {log_p:.2f}   p(z) = {np.exp(log_p):.3g}"


class FirstLookWindow(QMainWindow):
    """The main window's look, with only the canvas and the decoded image working."""

    firstImagePainted = Signal()

    def __init__(self, model: QuickModel, name: str, settings: QSettings, parent=None):
        super().__init__(parent)
        self.setObjectName("firstLookWindow")
        self.setWindowTitle(f"{name} — latentlab")
        self.model = model
        self.plane = LatentPlane.axes(model.latent_dim, *default_axes(model.scatter_means))
        self.hovered_latent: np.ndarray | None = None
        self._painted = False
        scale = ui_scale(settings)
        self.setFont(scaled_font(QFont(self.font()), scale))
        for title in ("&File", "&View", "&Help"):          # the menu bar's height, nothing to choose yet
            self.menuBar().addMenu(title).setEnabled(False)

        self.canvas = FirstLookCanvas(self, ui_scale=scale)
        self.canvas.set_axis_labels(*self.plane.labels)
        self.canvas.set_scatter(self.plane.project(model.scatter_means), model.scatter_labels, model.label_names)
        self.canvas.hovered.connect(self._on_hover)
        self.decoded = ImageView(self, min_side=140)
        self.decoded.setObjectName("firstLookImage")
        self.decoded.painted.connect(self._on_painted)
        self.readout = QLabel(READOUT_HINT, objectName="firstLookReadout")
        font = self.readout.font()
        font.setFamily("monospace")
        font.setStyleHint(font.StyleHint.Monospace)
        self.readout.setFont(font)
        self.setCentralWidget(self._layout())
        self.dock = QDockWidget("Training", self, objectName="firstLookDock")
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        self.dock.setWidget(QLabel("Loading…", alignment=Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft))
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.statusBar().showMessage(LOADING)
        self._restore_geometry(settings)
        self._show_latent(self.plane.to_latent((0.0, 0.0)))   # what the main window decodes first

    def _layout(self) -> QWidget:
        """The explorer's arrangement (explorer_view.py): the canvas with a row of controls above
        it and the readout below, the decoded image above the tabs on the right."""
        left = QWidget(self)
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        notice = QLabel(LOADING, objectName="firstLookNotice")
        notice.setMinimumHeight(4 * (self.fontMetrics().height() + 10))   # where the controls will be
        notice.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        column.addWidget(notice)
        column.addWidget(self.canvas, 1)
        column.addWidget(self.readout)
        right = QSplitter(Qt.Orientation.Vertical, self)
        right.addWidget(self.decoded)
        right.addWidget(QWidget(self))                        # the tabs' place
        right.setSizes([500, 500])
        return explorer_split(left, right, self)

    def _restore_geometry(self, settings: QSettings) -> None:
        """Where the main window will be: its saved geometry, else its default size."""
        self.resize(default_window_size(self.screen()))
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        self.resizeDocks([self.dock], [training_dock_width(self.width())], Qt.Orientation.Horizontal)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.resizeDocks([self.dock], [training_dock_width(self.width())], Qt.Orientation.Horizontal)

    # -- decoding ---------------------------------------------------------------------------------
    def _on_hover(self, u: float, v: float) -> None:
        self.hovered_latent = self.plane.to_latent((u, v))
        self._show_latent(self.hovered_latent)

    def _show_latent(self, z: np.ndarray) -> None:
        self.decoded.set_image(self.model.decoder.decode_image(z))
        self.readout.setText(readout(self.hovered_latent))

    def _on_painted(self) -> None:
        if not self._painted:
            self._painted = True
            self.firstImagePainted.emit()
