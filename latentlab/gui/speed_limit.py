"""The speed limit of a training run: a slider of steps per second, for slow motion.

One notch per speed a person can tell apart, from 1 step/s to unlimited (the default, at the
right end). The value label has a fixed width, so the slider never moves when its text changes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QWidget

SPEEDS: tuple[float | None, ...] = (1, 2, 5, 10, 20, 50, 100, None)   # steps per second; None: no limit


def speed_text(limit: float | None) -> str:
    if limit is None:
        return "unlimited"
    return f"{limit:g} step/s" if limit == 1 else f"{limit:g} steps/s"


class SpeedLimit(QWidget):
    """`limit()` is None or steps per second; `changed(object)` says when it changes."""

    changed = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("speedLimit")
        self.slider.setRange(0, len(SPEEDS) - 1)
        self.slider.setPageStep(1)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setValue(len(SPEEDS) - 1)
        self.slider.setToolTip("At most this many optimisation steps a second: slow motion, to watch "
                               "the latent space organise itself")
        self.value_label = QLabel(speed_text(None))
        self.value_label.setObjectName("speedLimitLabel")
        metrics = self.value_label.fontMetrics()
        self.value_label.setFixedWidth(max(metrics.horizontalAdvance(speed_text(s)) for s in SPEEDS) + 4)
        self.value_label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Speed"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.value_label)
        self.slider.valueChanged.connect(self._on_value)

    def limit(self) -> float | None:
        return SPEEDS[self.slider.value()]

    def set_limit(self, limit: float | None) -> None:
        """The notch of `limit` (one not on the slider: the nearest faster one)."""
        faster = [i for i, s in enumerate(SPEEDS) if s is None or (limit is not None and s >= limit)]
        self.slider.setValue(faster[0] if limit is not None else len(SPEEDS) - 1)

    def _on_value(self, index: int) -> None:
        self.value_label.setText(speed_text(SPEEDS[index]))
        self.changed.emit(SPEEDS[index])
