"""The canvas' controls for the geometry layers: magnification, aggregate posterior; and a caption.

A view of `GeometryLayers.shown` and its caption (app/geometry_layers.py); it keeps nothing itself.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QWidget

from latentlab.app.explorer_state import ExplorerState
from latentlab.app.geometry_layers import GeometryLayers, geometry_caption

from .elided_label import ElidedLabel


class GeometryControls(QWidget):
    def __init__(self, layers: GeometryLayers, state: ExplorerState, parent: QWidget | None = None):
        super().__init__(parent)
        self.layers, self.state = layers, state
        self.magnification = QCheckBox("Magnification", objectName="magnificationToggle")
        self.magnification.setToolTip(
            "Under the canvas: how much the decoder stretches a small area of the plane, log sqrt(det(JᵀJ)) "
            "of the decoded mean (bright: a small step changes the image a lot, e.g. between classes)")
        self.aggregate = QCheckBox("Aggregate posterior q(z)", objectName="aggregateToggle")
        self.aggregate.setToolTip(
            "Under the canvas: q(z), the average of q(z|x) over the test images, against the prior's circles; "
            "its holes (the prior high, q(z) low: prior samples decode badly there) outlined in red; "
            "and the KL split E KL(q(z|x)||p(z)) = I(x;z) + KL(q(z)||p(z)) (Hoffman & Johnson 2016)")
        self.magnification.toggled.connect(lambda on: layers.set_shown(magnification=on))
        self.aggregate.toggled.connect(lambda on: layers.set_shown(aggregate=on))
        # Elided beside the toggles (it changes while training runs, so it must never widen or wrap),
        # on their line: a line of its own would take its height from the canvas. The numbers are
        # also in q(z)'s key on the canvas, and the whole caption is the label's tooltip.
        self.caption = ElidedLabel(objectName="geometryCaption")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.magnification)
        row.addWidget(self.aggregate)
        row.addWidget(self.caption, 1)
        for event in (layers.events.shown, layers.events.status, layers.events.magnification,
                      layers.events.aggregate, layers.events.numbers):
            event.connect(self.render)
        self.render()

    def render(self) -> None:
        shown = self.layers.shown
        for box, value in ((self.magnification, shown.magnification), (self.aggregate, shown.aggregate)):
            if box.isChecked() != value:
                box.blockSignals(True)
                box.setChecked(value)
                box.blockSignals(False)
        self.caption.setText(geometry_caption(self.layers, self.state.plane.latent_dim))
