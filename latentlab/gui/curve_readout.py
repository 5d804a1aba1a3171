"""The curves' numbers beside the plot: latest values, and the values under the hover crosshair.

One row per quantity (step, epoch, -ELBO, reconstruction, KL, validation -ELBO, steps/s), a
"latest" column that is always filled and a "cursor" column filled while the mouse is over the
curves. The row names carry the line colours, so the table is also the plot's legend, outside the
plot where it never covers a curve.

Its width is fixed from the font (the widest number it can show), and every value is an
ElidedLabel: numbers that change 30 times a second never move the plot or the controls. A new
font (the UI scale) recomputes the widths.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from latentlab.app.curve_data import CurveValues

from .elided_label import ElidedLabel

WIDEST_NUMBER = "-8,888.88"       # as wide as the widest usual value (a wider one is elided, whole in its tooltip)
ROWS = ("step", "epoch", "neg_elbo", "recon", "kl", "val_neg_elbo", "steps_per_sec")
NAMES = {"step": "step", "epoch": "epoch", "neg_elbo": "−ELBO", "recon": "reconstruction", "kl": "KL",
         "val_neg_elbo": "val. −ELBO", "steps_per_sec": "steps/s"}
TOOLTIPS = {
    "neg_elbo": "−ELBO = reconstruction + KL, nats per image (smoothed as drawn)",
    "recon": "Reconstruction term −E_q[log p(x|z)], nats per image (smoothed as drawn)",
    "kl": "KL(q(z|x) ‖ p(z)), nats per image (smoothed as drawn); the gap between the two upper curves",
    "val_neg_elbo": "−ELBO on the validation images, once per epoch (the dots)",
    "steps_per_sec": "Optimisation steps per second of the running training",
    "epoch": "The epoch a step belongs to, counted from 1",
}


def format_number(name: str, value: float) -> str:
    """How the readout writes a value: counts whole with thousands separators, nats with two
    decimals (three significant digits below 1, so a KL of 0.004 does not read 0.00)."""
    if not math.isfinite(value):
        return "–"
    if name in ("step", "epoch"):
        return f"{int(value):,}"
    if name == "steps_per_sec":
        return f"{value:,.1f}"
    if abs(value) < 1:
        return f"{value:#.3g}"
    return f"{value:,.2f}"


class CurveReadout(QWidget):
    """The table of numbers; its width is fixed (fixed_width), whatever the numbers."""

    def __init__(self, colours: dict[str, str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("curveReadout")
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(1)
        self._names: list[QLabel] = []
        self.latest_labels: dict[str, ElidedLabel] = {}
        self.cursor_labels: dict[str, ElidedLabel] = {}
        for col, heading in ((1, "latest"), (2, "cursor")):
            label = QLabel(heading)
            label.setAlignment(Qt.AlignmentFlag.AlignRight)
            label.setEnabled(False)   # greyed: a heading, not a value
            grid.addWidget(label, 0, col)
        for row, key in enumerate(ROWS, start=1):
            name = QLabel(_name_html(key, colours))
            name.setToolTip(TOOLTIPS.get(key, ""))
            self._names.append(name)
            grid.addWidget(name, row, 0)
            for col, labels in ((1, self.latest_labels), (2, self.cursor_labels)):
                value = ElidedLabel("–" if col == 1 else "")
                value.setAlignment(Qt.AlignmentFlag.AlignRight)
                value.setObjectName(f"curve_{'latest' if col == 1 else 'cursor'}_{key}")
                labels[key] = value
                grid.addWidget(value, row, col)
        self.active_units = ElidedLabel("Active units: –")
        self.active_units.setObjectName("activeUnitsLabel")
        self.active_units.setToolTip("Latent dimensions whose posterior mean varies across images "
                                     "(covariance > 0.01, Burda et al. 2016), at the last validation")
        grid.addWidget(self.active_units, len(ROWS) + 1, 0, 1, 3)
        self._grid = grid
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(grid)
        self.fix_widths()

    # -- values ------------------------------------------------------------------------------
    def show_latest(self, values: CurveValues) -> None:
        self._fill(self.latest_labels, values)

    def show_cursor(self, values: CurveValues | None) -> None:
        """The values under the crosshair; None (the mouse left the curves) empties the column."""
        if values is None:
            for label in self.cursor_labels.values():
                label.setText("")
            return
        self._fill(self.cursor_labels, values)
        self.cursor_labels["steps_per_sec"].setText("")   # a speed belongs to the present only

    def latest_text(self, key: str) -> str:
        return self.latest_labels[key].text()

    def cursor_text(self, key: str) -> str:
        return self.cursor_labels[key].text()

    @staticmethod
    def _fill(labels: dict[str, ElidedLabel], values: CurveValues) -> None:
        for key, label in labels.items():
            text = format_number(key, getattr(values, key))
            if label.text() != text:
                label.setText(text)

    # -- size --------------------------------------------------------------------------------
    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self.fix_widths()

    def fix_widths(self) -> None:
        """Widths from the current font: the widest name, and WIDEST_NUMBER for each value."""
        fm = self.fontMetrics()
        number = fm.horizontalAdvance(WIDEST_NUMBER)
        name = max(label.sizeHint().width() for label in self._names)
        for labels in (self.latest_labels, self.cursor_labels):
            for label in labels.values():
                label.setFixedWidth(number)
        for label in self._names:
            label.setFixedWidth(name)
        self.setFixedWidth(name + 2 * number + 2 * self._grid.horizontalSpacing())


def _name_html(key: str, colours: dict[str, str]) -> str:
    name = NAMES[key]
    if key in colours:
        return f"<span style='color:{colours[key]}'>━━</span>&nbsp;{name}"
    if key == "val_neg_elbo":
        return f"<span style='color:{colours['neg_elbo']}'>&nbsp;●&nbsp;</span>&nbsp;{name}"
    return f"<span style='color:transparent'>━━</span>&nbsp;{name}"
