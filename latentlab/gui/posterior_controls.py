"""The canvas' controls for the true posterior: show it, heat map or contours, q*; and a caption.

A view of `GroundTruthState.display` and its caption (app/ground_truth.py); it keeps nothing itself.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from latentlab.app.ground_truth import STYLES, GroundTruthState, posterior_caption

from .elided_label import ElidedLabel


class PosteriorControls(QWidget):
    zoomRequested = Signal()      # "Zoom in": show the selected image's posterior large

    def __init__(self, truth: GroundTruthState, parent: QWidget | None = None):
        super().__init__(parent)
        self.truth = truth
        self.toggle = QCheckBox("True posterior", objectName="posteriorToggle", checked=truth.display.shown)
        self.toggle.setToolTip("Draw p(z|x) of the selected image, computed exactly on a grid (2-D models), "
                               "under its q(z|x) ellipses")
        self.style = QComboBox(objectName="posteriorStyle")
        self.style.addItems(list(STYLES))
        self.style.setToolTip("Heat map of the density, or filled contours of the regions holding 39 % and 86 % "
                              "of its mass: what the 1σ and 2σ ellipses of a Gaussian hold")
        self.q_star = QCheckBox("q* (optimised)", objectName="qStarToggle", checked=truth.display.q_star)
        self.q_star.setToolTip("The Gaussian q optimised for this image alone (dashed: 1σ, dotted: 2σ): "
                               "the encoder's q falls short of it by the amortisation gap")
        self.zoom = QPushButton("Zoom in", objectName="posteriorZoom")
        self.zoom.setToolTip("Zoom the canvas onto the selected image's posterior (Reset view goes back)")
        self.zoom.clicked.connect(self.zoomRequested)
        # On its own line, elided (whole text in its tooltip): beside the buttons it was cut to
        # "True po" at 1280 px, and a wrapping caption would move the canvas under the cursor.
        self.caption = ElidedLabel(objectName="posteriorCaption")
        self.toggle.toggled.connect(lambda on: truth.set_display(shown=on))
        self.style.currentTextChanged.connect(lambda text: truth.set_display(style=text))
        self.q_star.toggled.connect(lambda on: truth.set_display(q_star=on))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        row = QHBoxLayout()
        for widget in (self.toggle, self.style, self.q_star, self.zoom):
            row.addWidget(widget)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(self.caption)
        for event in (truth.events.display, truth.events.selection, truth.events.picture):
            event.connect(self.render)
        self.render()

    def render(self) -> None:
        truth, display = self.truth, self.truth.display
        for widget, value in ((self.toggle, display.shown), (self.q_star, display.q_star)):
            if widget.isChecked() != value:
                widget.blockSignals(True)
                widget.setChecked(value)
                widget.blockSignals(False)
        if self.style.currentText() != display.style:
            self.style.blockSignals(True)
            self.style.setCurrentText(display.style)
            self.style.blockSignals(False)
        exact = truth.latent_dim in (0, 2) and not truth.unavailable     # (M1+M2: no likelihood)
        self.toggle.setEnabled(exact)
        self.style.setEnabled(exact and display.shown)
        self.zoom.setEnabled(truth.selected is not None)
        self.caption.setText(posterior_caption(truth))
