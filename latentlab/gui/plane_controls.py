"""The plane controls (latent dimension > 2): two axes or the PCA plane, and where the rest is held.

A view of `ExplorerState.plane_choice`: the comboboxes show the state and send the user's choice
back to it (`changed`); the anchor is chosen by its stable id (combobox item data), so a pin or an
image keeps being the anchor when others come and go.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from latentlab.app.explorer_state import ORIGIN, ExplorerState


class PlaneControls(QWidget):
    changed = Signal()   # the user changed a control: the choice goes to the state

    def __init__(self, state: ExplorerState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
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
            combo.activated.connect(self.changed)
        self.changed.connect(self._send)
        self._anchors: list[tuple[str, str]] = []
        for event in (state.events.plane, state.events.pins, state.events.encodings, state.events.scatter):
            event.connect(self.render)
        self.render()

    def axes(self) -> tuple[int, int]:
        return self.x_axis.currentIndex(), self.y_axis.currentIndex()

    def kind(self) -> str:
        return self.mode.currentData()

    def _send(self) -> None:
        try:
            self.state.set_plane_choice(self.kind(), self.axes(), self.anchor.currentData() or ORIGIN)
        except ValueError as e:       # a stale entry (an anchor that has just gone): show the truth
            self.state.message(f"Plane: {e}")
        self.render()                 # the state may have adjusted the choice (swapped axes, no PCA)

    def render(self) -> None:
        state = self.state
        dim, choice = state.latent_dim, state.plane_choice
        self.setVisible(dim > 2)
        combos = (self.mode, self.x_axis, self.y_axis, self.anchor)
        for combo in combos:
            combo.blockSignals(True)
        try:
            for combo in (self.x_axis, self.y_axis):
                if combo.count() != dim:
                    combo.clear()
                    combo.addItems([f"z{i + 1}" for i in range(dim)])
            self.x_axis.setCurrentIndex(choice.axes[0])
            self.y_axis.setCurrentIndex(choice.axes[1])
            self.mode.model().item(1).setEnabled(state.pca_available())
            self.mode.setCurrentIndex(self.mode.findData(choice.kind))
            anchors = state.anchor_choices()
            if anchors != self._anchors:
                self._anchors = anchors
                self.anchor.clear()
                for anchor_id, label in anchors:
                    self.anchor.addItem(label, anchor_id)
            self.anchor.setCurrentIndex(max(0, self.anchor.findData(choice.anchor)))
            axes_mode = choice.kind == "axes"
            self.x_axis.setEnabled(axes_mode)
            self.y_axis.setEnabled(axes_mode)
        finally:
            for combo in combos:
                combo.blockSignals(False)
