"""Figures from the theory, live: the learned manifold, prior samples, interpolation strips, the
traversal of every latent dimension and an M2's analogies.

Each figure is a small widget with its settings and one `ImageView`: a view of the explorer state's
figure settings, picture and caption. It does no model work: a setting the user changes goes to
`state.set_figure_settings`, which marks the figure stale, and the explorer's work computes it on
the model thread when it is shown (app/explorer_work.py). So the figures follow a model being
trained without ever blocking the GUI.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from latentlab.app import analogy_inputs, captions
from latentlab.app.explorer_state import ExplorerState

from .image_view import ImageView


class FigureWidget(QWidget):
    """Settings row + one image + a caption. Subclasses add settings, `_settings()` and `_render_settings()`."""

    name = "figure"
    requested = Signal()          # a setting changed: it goes to the state (which recomputes the figure)

    def __init__(self, state: ExplorerState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.settings = QHBoxLayout()
        self.view = ImageView(self, min_side=140)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(self.settings)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.caption)
        self._shown: np.ndarray | None = None
        self.requested.connect(self._send)
        state.events.figures.connect(self._render_array)
        state.events.figure_settings.connect(self._sync_settings)

    def array(self) -> np.ndarray | None:
        """The figure as computed (uint8), or None before it was shown."""
        return self.state.figure_arrays[self.name]

    def _send(self) -> None:
        self.state.set_figure_settings(**self._settings())

    def _settings(self) -> dict:
        raise NotImplementedError

    def _render_settings(self) -> None:
        raise NotImplementedError

    def _sync_settings(self) -> None:
        widgets = self.findChildren(QWidget)
        for widget in widgets:
            widget.blockSignals(True)
        try:
            self._render_settings()
        finally:
            for widget in widgets:
                widget.blockSignals(False)

    def _render_array(self) -> None:
        array = self.array()
        if array is not self._shown:
            self._shown = array
            self.view.set_image(array)

    def _spin(self, lo: int, hi: int, value: int, tip: str, name: str) -> QSpinBox:
        spin = QSpinBox(minimum=lo, maximum=hi, value=value, objectName=name)
        spin.setToolTip(tip)
        spin.valueChanged.connect(self.requested)
        return spin


class ManifoldFigure(FigureWidget):
    """AEVB Figure 4: decoded means on an n x n grid through the Gaussian inverse CDF."""

    name = "manifold"

    def __init__(self, state: ExplorerState, parent: QWidget | None = None):
        super().__init__(state, parent)
        self.size = self._spin(3, 40, state.figure_settings.manifold_size, "Grid size n: n x n images",
                               "manifoldSize")
        self.settings.addWidget(QLabel("Grid"))
        self.settings.addWidget(self.size)
        self.settings.addStretch(1)
        state.events.plane.connect(self._render_caption)
        self._render_caption()

    def _settings(self) -> dict:
        return {"manifold_size": self.size.value()}

    def _render_settings(self) -> None:
        self.size.setValue(self.state.figure_settings.manifold_size)

    def _render_caption(self) -> None:
        self.caption.setText(captions.manifold(self.state))


class PriorSamplesFigure(FigureWidget):
    """AEVB Figure 5: decoder outputs for z drawn from the prior, with a reseed button."""

    name = "samples"

    def __init__(self, state: ExplorerState, parent: QWidget | None = None):
        super().__init__(state, parent)
        settings = state.figure_settings
        self.count = self._spin(4, 400, settings.sample_count, "How many samples", "sampleCount")
        self.seed = self._spin(0, 2**31 - 1, settings.sample_seed, "Random seed of the z draws", "sampleSeed")
        self.reseed = QPushButton("Reseed", objectName="reseedButton")
        self.reseed.clicked.connect(lambda: self.seed.setValue(self.seed.value() + 1))
        self.sample_x = QCheckBox("samples of p(x|z)", objectName="samplesFromLikelihood")
        self.sample_x.setChecked(settings.sample_x)
        self.sample_x.setToolTip("Off: decoder means (as in the paper). On: a draw from p(x|z) for each z.")
        self.sample_x.toggled.connect(self.requested)
        for widget in (QLabel("n"), self.count, QLabel("seed"), self.seed, self.reseed, self.sample_x):
            self.settings.addWidget(widget)
        self.settings.addStretch(1)
        self.caption.setText(captions.PRIOR_SAMPLES)

    def _settings(self) -> dict:
        return {"sample_count": self.count.value(), "sample_seed": self.seed.value(),
                "sample_x": self.sample_x.isChecked()}

    def _render_settings(self) -> None:
        settings = self.state.figure_settings
        self.count.setValue(settings.sample_count)
        self.seed.setValue(settings.sample_seed)
        self.sample_x.setChecked(settings.sample_x)


class InterpolationFigure(FigureWidget):
    """A strip of decodings along a path between two latents (pins or encoded images), chosen by id."""

    name = "interpolation"

    def __init__(self, state: ExplorerState, parent: QWidget | None = None):
        super().__init__(state, parent)
        self.start = QComboBox(objectName="interpolationStart")
        self.end = QComboBox(objectName="interpolationEnd")
        self.steps = self._spin(2, 30, state.figure_settings.steps,
                                "Number of images in the strip, ends included", "interpolationSteps")
        self.mode = QComboBox(objectName="interpolationMode")
        self.mode.addItem("linear", "linear")
        self.mode.addItem("spherical", "spherical")
        self.mode.addItem("geodesic", "geodesic")
        self.mode.setToolTip("Spherical (slerp) keeps the path at a typical distance from the origin, "
                             "where the prior puts its mass in high dimensions (White 2016). Geodesic: "
                             "the path along which the decoded image changes least (Arvanitidis et al. 2018). "
                             "All three are drawn on the canvas with their decoded lengths.")
        self.mode.currentIndexChanged.connect(self.requested)
        for combo in (self.start, self.end):
            combo.activated.connect(self._send_endpoints)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)      # long file names must not widen the panel
        for widget in (QLabel("from"), self.start, QLabel("to"), self.end, QLabel("steps"), self.steps, self.mode):
            self.settings.addWidget(widget)
        self.settings.addStretch(1)
        # Why the middle of a spherical path between nearly opposite ends shows nothing the model knows.
        self.warning = QLabel(objectName="interpolationWarning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #e8a33d;")
        self.warning.setVisible(False)
        self.layout().insertWidget(self.layout().indexOf(self.caption), self.warning)
        for event in (state.events.endpoints, state.events.path):
            event.connect(self._render_endpoints)
        self._render_endpoints()

    def endpoints(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The latents at the two ends, or None without two distinct ends."""
        return self.state.end_points()

    def path(self) -> np.ndarray | None:
        """The latents of the strip (steps, D), or None without two distinct ends."""
        return self.state.path

    def _settings(self) -> dict:
        return {"steps": self.steps.value(), "mode": self.mode.currentData()}

    def _render_settings(self) -> None:
        settings = self.state.figure_settings
        self.steps.setValue(settings.steps)
        self.mode.setCurrentIndex(self.mode.findData(settings.mode))
        self._render_captions()

    def _render_captions(self) -> None:
        self.caption.setText(captions.interpolation(self.state))
        warning = captions.path_warning(self.state)
        self.warning.setText(warning)
        self.warning.setVisible(bool(warning))

    def _send_endpoints(self) -> None:
        self.state.set_endpoints(self.start.currentData(), self.end.currentData())

    def _render_endpoints(self) -> None:
        choices = self.state.endpoint_choices()
        for combo, chosen in zip((self.start, self.end), self.state.endpoints):
            combo.blockSignals(True)
            combo.clear()
            for item_id, label in choices:
                combo.addItem(label, item_id)
            combo.setCurrentIndex(combo.findData(chosen) if chosen is not None else -1)
            combo.blockSignals(False)
        self._render_captions()


class TraversalFigure(FigureWidget):
    """One row per latent dimension, swept around an anchor, ordered by the dimension's KL over the
    test images and labelled with it; collapsed dimensions grey under a line (core/map_figures.py
    draws the labels into the picture, so an export carries them too)."""

    name = "traversal"
    HINT = "Each row sweeps one latent dimension; the rows are ordered by their KL, highest first. Computing…"

    def __init__(self, state: ExplorerState, parent: QWidget | None = None):
        super().__init__(state, parent)
        self.setObjectName("traversalFigure")
        settings = state.figure_settings
        self.steps = self._spin(2, 30, settings.traversal_steps, "Images per row", "traversalSteps")
        self.span = QComboBox(objectName="traversalSpan")
        self.span.addItem("±3", "prior")
        self.span.addItem("±3σ of q(z|x)", "posterior")
        self.span.setToolTip("How far each row sweeps. ±3: from -3 to +3, the prior's ±3σ. ±3σ of q(z|x): the anchor image's "
                             "posterior mean ± 3σ of its posterior in that dimension (needs an image as the anchor)")
        self.anchor = QComboBox(objectName="traversalAnchor")
        self.anchor.addItem("image", "image")
        self.anchor.addItem("plane's anchor", "plane")
        self.anchor.addItem("z = 0", "origin")
        self.anchor.setToolTip("Where the other coordinates are held: the posterior mean of the selected image (the "
                               "one the Encoded tab shows; z = 0 without one), the anchor chosen for the canvas' "
                               "plane, or z = 0")
        for combo in (self.span, self.anchor):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(5)       # the panel stays narrow; the popup shows the whole text
            combo.currentIndexChanged.connect(self.requested)
        for widget in (QLabel("at"), self.anchor, self.span, QLabel("steps"), self.steps):
            self.settings.addWidget(widget)
        self.settings.addStretch(1)
        state.events.figures.connect(self._render_caption)
        self._render_settings()
        self._render_caption()

    def _settings(self) -> dict:
        return {"traversal_steps": self.steps.value(), "traversal_span": self.span.currentData(),
                "traversal_anchor": self.anchor.currentData()}

    def _render_settings(self) -> None:
        settings = self.state.figure_settings
        self.steps.setValue(settings.traversal_steps)
        self.span.setCurrentIndex(self.span.findData(settings.traversal_span))
        self.anchor.setCurrentIndex(self.anchor.findData(settings.traversal_anchor))

    def _render_caption(self) -> None:
        """The note's first paragraph (active dimensions; anchor and span) under the picture, the
        rest (how it was measured, what collapsed means) in its tooltip."""
        note = self.state.figure_notes.get(self.name, "") if self.array() is not None else ""
        short, _, details = note.partition("\n\n")
        self.caption.setText(short or self.HINT)
        self.caption.setToolTip(details)


class AnalogiesFigure(FigureWidget):
    """The paper's Figure 1 for an M2 or M1+M2: one row per image (the selected one first, then
    test images), the image, then every class drawn in its style (core/analogies.py draws the
    class names into the picture, so an export carries them). For a VAE the page says what it needs."""

    name = "analogies"
    HINT = "Each row: an image, then every class drawn in its style. Computing…"

    def __init__(self, state: ExplorerState, parent: QWidget | None = None):
        super().__init__(state, parent)
        self.setObjectName("analogiesFigure")
        settings = state.figure_settings
        self.rows = self._spin(1, 30, settings.analogy_rows, "Rows: the selected image (your drawing or a dropped "
                               "image) when there is one, then test images", "analogyRows")
        self.seed = self._spin(0, 2**31 - 1, settings.analogy_seed, "Which test images: 0 the first ones, "
                               "else drawn at random with this seed", "analogySeed")
        self.reseed = QPushButton("Other images", objectName="analogyReseed")
        self.reseed.setToolTip("Other test images (the next seed)")
        self.reseed.clicked.connect(lambda: self.seed.setValue(self.seed.value() + 1))
        for widget in (QLabel("rows"), self.rows, QLabel("seed"), self.seed, self.reseed):
            self.settings.addWidget(widget)
        self.settings.addStretch(1)
        state.events.figures.connect(self._render_caption)
        state.events.model.connect(self._render_caption)
        self._render_caption()

    def available(self) -> bool:
        """Whether the model shown can draw analogies (an M2 or M1+M2)."""
        return analogy_inputs.semi_model_of(self.state) is not None

    def _settings(self) -> dict:
        return {"analogy_rows": self.rows.value(), "analogy_seed": self.seed.value()}

    def _render_settings(self) -> None:
        settings = self.state.figure_settings
        self.rows.setValue(settings.analogy_rows)
        self.seed.setValue(settings.analogy_seed)

    def _render_caption(self, *_) -> None:
        """For a VAE what the page needs; else the note's first paragraph under the picture, the
        rest in its tooltip (or why there is no picture)."""
        available = self.available()
        for widget in (self.rows, self.seed, self.reseed):
            widget.setEnabled(available)
        if not available:
            self.caption.setText(analogy_inputs.NEEDS_M2)
            self.caption.setToolTip("")
            return
        note = self.state.figure_notes.get(self.name, "")
        if self.array() is None and self.name in self.state.stale_figures:
            note = ""
        short, _, details = note.partition("\n\n")
        self.caption.setText(short or self.HINT)
        self.caption.setToolTip(details)
