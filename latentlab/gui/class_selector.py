"""The class an M2 / M1+M2 is explored by: a combobox (objectName `classSelector`) and a caption.

A view of `ExplorerState.selected_class` (app/class_choice.py): hover, pins, figures and layers
show the model as that class ("fix the digit, drag the style"). Shown only while the model is an
M2 or M1+M2. The keys 0-9 pressed on the canvas choose a class too.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from latentlab.app.class_choice import class_caption
from latentlab.app.explorer_state import ExplorerState

from .elided_label import ElidedLabel

DIGIT_KEYS = {getattr(Qt.Key, f"Key_{i}"): i for i in range(10)}


class ClassSelector(QWidget):
    def __init__(self, state: ExplorerState, canvas: QWidget | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.setObjectName("classControls")
        self.combo = QComboBox(objectName="classSelector")
        self.combo.setToolTip("The class y the canvas shows: hover decodes p(x|y, z), this class in the style z "
                              "under the cursor (keys 0–9 on the canvas choose it too)")
        self.combo.activated.connect(self._send)
        # Elided on the combobox's line (a line of its own would take its height from the canvas).
        self.caption = ElidedLabel(objectName="classCaption")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Class"))
        row.addWidget(self.combo)
        row.addWidget(self.caption, 1)
        state.events.model.connect(self.render)
        if canvas is not None:
            canvas.installEventFilter(self)
        self.render()

    def _send(self, index: int) -> None:
        if self.state.semi_model is not None and index >= 0:
            self.state.set_selected_class(index)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        """A digit key on the canvas (no Ctrl, Alt or Shift: Ctrl+0 is Reset Zoom) chooses that class."""
        if event.type() == QEvent.Type.KeyPress and self.state.semi_model is not None:
            plain = not (event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier)
            k = DIGIT_KEYS.get(event.key())
            if plain and k is not None and k < self.state.semi_model.num_classes:
                self.state.set_selected_class(k)
                return True
        return False

    def render(self, *_) -> None:
        state = self.state
        self.setVisible(state.semi_model is not None)
        if state.semi_model is None:
            return
        names = state.class_names
        if [self.combo.itemText(i) for i in range(self.combo.count())] != names:
            self.combo.blockSignals(True)
            self.combo.clear()
            self.combo.addItems(names)
            self.combo.blockSignals(False)
        if self.combo.currentIndex() != state.selected_class:
            self.combo.blockSignals(True)
            self.combo.setCurrentIndex(state.selected_class)
            self.combo.blockSignals(False)
        self.caption.setText(class_caption(state))
