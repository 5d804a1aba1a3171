"""Figures from the theory, live: the learned manifold, prior samples and interpolation strips.

Each figure is a small widget with its settings and one `ImageView`. It does no model work
itself: `job(model, plane)` returns a plain function that computes the figure's uint8 array from
`latentlab.core.figures`, and the explorer runs that on its model thread and hands the array
back with `show_array`. So the figures follow a model being trained without ever blocking the GUI.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from latentlab.core import figures as core_figures

from .image_view import ImageView
from latentlab.app.plane import LatentPlane


class FigureWidget(QWidget):
    """Settings row + one image. Subclasses add settings and implement `job`."""

    name = "figure"
    requested = Signal()          # a setting changed: the explorer should run `job` again

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = QHBoxLayout()
        self.view = ImageView(self, min_side=140)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(self.settings)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.caption)

    def job(self, model, plane: LatentPlane) -> Callable[[], np.ndarray] | None:
        raise NotImplementedError

    def show_array(self, array: np.ndarray | None) -> None:
        self.view.set_image(array)

    def array(self) -> np.ndarray | None:
        return self.view.image()

    def _spin(self, lo: int, hi: int, value: int, tip: str, name: str) -> QSpinBox:
        spin = QSpinBox(minimum=lo, maximum=hi, value=value, objectName=name)
        spin.setToolTip(tip)
        spin.valueChanged.connect(self.requested)
        return spin


class ManifoldFigure(FigureWidget):
    """AEVB Figure 4: decoded means on an n x n grid through the Gaussian inverse CDF."""

    name = "manifold"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.size = self._spin(3, 40, 20, "Grid size n: n x n images", "manifoldSize")
        self.settings.addWidget(QLabel("Grid"))
        self.settings.addWidget(self.size)
        self.settings.addStretch(1)
        self.caption.setText("Decoded means of z = Φ⁻¹(p) for p evenly spaced in (0.05, 0.95) on both axes "
                             "(Kingma & Welling 2014, Fig. 4): equal steps of prior probability, not of z.")

    def job(self, model, plane: LatentPlane):
        n = self.size.value()
        if model.latent_dim == 2 and plane.kind == "axes" and tuple(np.argmax(plane.basis, axis=1)) == (0, 1):
            return lambda: core_figures.manifold(model, n)     # the paper's figure exactly
        return lambda: plane_manifold(model, plane, n)

    def describe_plane(self, plane: LatentPlane, latent_dim: int) -> None:
        if latent_dim > 2:
            self.caption.setText(f"The grid spans the plane shown on the canvas ({plane.labels[0]}, "
                                 f"{plane.labels[1]}); the other coordinates are held at the plane's anchor.")


def plane_manifold(model, plane: LatentPlane, n: int) -> np.ndarray:
    """The manifold grid laid on any latent plane (for models with more than two dimensions)."""
    import torch

    uv = core_figures.manifold_latents(n).double().numpy()
    z = torch.as_tensor(plane.to_latent(uv), dtype=torch.float32, device=model.device)
    return core_figures.image_grid(model.decode(z), nrow=n, padding=0)


class PriorSamplesFigure(FigureWidget):
    """AEVB Figure 5: decoder outputs for z drawn from the prior, with a reseed button."""

    name = "samples"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.count = self._spin(4, 400, 100, "How many samples", "sampleCount")
        self.seed = self._spin(0, 2**31 - 1, 0, "Random seed of the z draws", "sampleSeed")
        self.reseed = QPushButton("Reseed", objectName="reseedButton")
        self.reseed.clicked.connect(lambda: self.seed.setValue(self.seed.value() + 1))
        self.sample_x = QCheckBox("samples of p(x|z)", objectName="samplesFromLikelihood")
        self.sample_x.setToolTip("Off: decoder means (as in the paper). On: a draw from p(x|z) for each z.")
        self.sample_x.toggled.connect(self.requested)
        for widget in (QLabel("n"), self.count, QLabel("seed"), self.seed, self.reseed, self.sample_x):
            self.settings.addWidget(widget)
        self.settings.addStretch(1)
        self.caption.setText("z ~ N(0, I), decoded (Kingma & Welling 2014, Fig. 5). Works for any latent dimension.")

    def job(self, model, plane: LatentPlane):
        n, seed, sample_x = self.count.value(), self.seed.value(), self.sample_x.isChecked()
        return lambda: core_figures.prior_samples(model, n, seed, sample_x)


class InterpolationFigure(FigureWidget):
    """A strip of decodings along a path between two latents (pins or encoded images)."""

    name = "interpolation"
    pathChanged = Signal(object)   # (S, D) latents of the current strip, or None

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.start = QComboBox(objectName="interpolationStart")
        self.end = QComboBox(objectName="interpolationEnd")
        self.steps = self._spin(2, 30, 10, "Number of images in the strip, ends included", "interpolationSteps")
        self.mode = QComboBox(objectName="interpolationMode")
        self.mode.addItem("linear", "linear")
        self.mode.addItem("spherical", "spherical")
        self.mode.setToolTip("Spherical (slerp) keeps the path at a typical distance from the origin, "
                             "where the prior puts its mass in high dimensions (White 2016)")
        for combo in (self.start, self.end, self.mode):
            combo.activated.connect(self.requested)
        for combo in (self.start, self.end):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)      # long file names must not widen the panel
        for widget in (QLabel("from"), self.start, QLabel("to"), self.end, QLabel("steps"), self.steps, self.mode):
            self.settings.addWidget(widget)
        self.settings.addStretch(1)
        self._endpoints: list[tuple[str, np.ndarray]] = []
        self.caption.setText("Pin two points (click the canvas) or encode two images to interpolate between them.")

    def set_endpoints(self, endpoints: list[tuple[str, np.ndarray]]) -> None:
        """Candidate ends: (name, latent (D,)). Keeps the chosen names when they still exist;
        otherwise picks the last two (the most recent pins or images)."""
        old_names = [name for name, _ in self._endpoints]
        old_choice = (self.start.currentIndex(), self.end.currentIndex())
        self._endpoints = list(endpoints)
        names = [name for name, _ in endpoints]
        # Same candidates (e.g. a new model re-encoded them): keep the user's choice. New ones: the
        # user most likely wants the newest two.
        choice = old_choice if names == old_names else (max(0, len(names) - 2), len(names) - 1)
        for combo, index in zip((self.start, self.end), choice):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(names)
            combo.setCurrentIndex(index)
            combo.blockSignals(False)

    def endpoints(self) -> tuple[np.ndarray, np.ndarray] | None:
        i, j = self.start.currentIndex(), self.end.currentIndex()
        if len(self._endpoints) < 2 or i < 0 or j < 0 or i == j:
            return None
        return self._endpoints[i][1], self._endpoints[j][1]

    def path(self) -> np.ndarray | None:
        """The latents of the strip (steps, D), or None without two distinct ends."""
        import torch

        ends = self.endpoints()
        if ends is None:
            return None
        z0, z1 = (torch.as_tensor(e, dtype=torch.float64) for e in ends)
        return core_figures.interpolate(z0, z1, self.steps.value(), self.mode.currentData()).numpy()

    def job(self, model, plane: LatentPlane):
        path = self.path()
        self.pathChanged.emit(path)
        if path is None:
            return None
        mode = self.mode.currentText()
        self.caption.setText(f"{self.start.currentText()} → {self.end.currentText()}, {len(path)} steps, "
                             f"{mode} (the path is drawn on the canvas).")

        def strip():
            import torch

            z = torch.as_tensor(path, dtype=torch.float32, device=model.device)
            return core_figures.image_grid(model.decode(z), nrow=len(path), padding=1)

        return strip
