"""The curves' numbers beside the plot: latest values, and the values under the hover crosshair.

One row per quantity (step, epoch, -ELBO, reconstruction, KL, validation -ELBO, steps/s; for an
M2 run also the labelled bound -L and the validation error, and -ELBO reads -U; for a run trained
on the IWAE bound also -L_K with its K, per step and per validation), a "latest"
column that is always filled and a "cursor" column filled while the mouse is over the curves. The row names carry the line colours, so the table is also the plot's legend, outside the
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

from .curve_style import iwae_label
from .elided_label import ElidedLabel

FALLBACK_COLOUR = "#c8c8c8"
WIDEST_NUMBER = "-8,888.88"       # as wide as the widest usual value (a wider one is elided, whole in its tooltip)
ROWS = ("step", "epoch", "neg_iw_bound", "neg_elbo", "labelled", "recon", "kl", "val_neg_iw_bound", "val_neg_elbo",
        "val_error", "steps_per_sec")
NAMES = {"step": "step", "epoch": "epoch", "neg_elbo": "−ELBO", "recon": "reconstruction", "kl": "KL",
         "val_neg_elbo": "val. −ELBO", "steps_per_sec": "steps/s"}
SEMI_ROWS = ("labelled", "val_error")    # shown for M2 runs only
IWAE_ROWS = ("neg_iw_bound", "val_neg_iw_bound")   # shown for runs trained on the IWAE bound only
# An M2 run's names: its "-ELBO" is the unlabelled bound -U (core/m2_objectives.py).
SEMI_NAMES = {**NAMES, "neg_elbo": "−U unlabelled", "labelled": "−L labelled", "val_neg_elbo": "val. −U",
              "val_error": "val. error"}
SEMI_TOOLTIPS = {
    "neg_elbo": "−U(x): the bound on −log p(x) of the unlabelled images, summed over their classes "
                "under q(y|x), nats per image (smoothed as drawn)",
    "labelled": "−L(x, y): the bound on −log p(x, y) of the labelled images, nats per image (smoothed as drawn)",
    "kl": "KL(q(z|x, y) ‖ p(z)) of the style z, expected under q(y|x), nats per image (smoothed as drawn)",
    "val_neg_elbo": "−U on the validation images, once per epoch (the dots)",
    "val_error": "Validation images the classifier q(y|x) gets wrong, %, once per epoch (the lower panel)",
}
TOOLTIPS = {
    "neg_elbo": "−ELBO = reconstruction + KL, nats per image (smoothed as drawn)",
    "recon": "Reconstruction term −E_q[log p(x|z)], nats per image (smoothed as drawn)",
    "kl": "KL(q(z|x) ‖ p(z)), nats per image (smoothed as drawn); the gap between the two upper curves",
    "val_neg_elbo": "−ELBO on the validation images, once per epoch (the dots)",
    "steps_per_sec": "Optimisation steps per second of the running training",
    "epoch": "The epoch a step belongs to, counted from 1",
    "neg_iw_bound": "−L_K = −log (1/K) Σ p(x, z_k)/q(z_k|x): the importance-weighted bound this run "
                    "minimises (Burda et al. 2016), nats per image (smoothed as drawn); −ELBO is that of the "
                    "first of the K samples",
    "val_neg_iw_bound": "−L_K on the validation images with the same K, once per epoch (the dots)",
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
    if name == "val_error":
        return f"{value:.1f} %"
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
        self._name_of: dict[str, QLabel] = {}
        self._colours = colours
        self.semi = False
        self.iw_k: int | None = None   # the K of a run trained on the IWAE bound
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
            self._name_of[key] = name
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
        self._show_rows()
        self.fix_widths()

    def set_semi(self, semi: bool) -> None:
        """An M2 run's rows and names (semi), or a VAE's (the rows it has always had)."""
        if semi != self.semi:
            self.semi = semi
            self._show_rows()
            self.fix_widths()

    def set_iwae(self, k: int | None) -> None:
        """The rows of a run trained on the IWAE bound, named with its K (None: no such rows)."""
        if k != self.iw_k:
            self.iw_k = k
            self._show_rows()
            self.fix_widths()

    def _show_rows(self) -> None:
        names, tips = (SEMI_NAMES, {**TOOLTIPS, **SEMI_TOOLTIPS}) if self.semi else (NAMES, TOOLTIPS)
        names = {**names, **iwae_names(self.iw_k)}
        for key, label in self._name_of.items():
            label.setText(_name_html(key, self._colours, names))
            label.setToolTip(tips.get(key, ""))
            shown = (self.semi or key not in SEMI_ROWS) and (self.iw_k is not None or key not in IWAE_ROWS)
            for widget in (label, self.latest_labels[key], self.cursor_labels[key]):
                widget.setVisible(shown)

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
        name = max(label.sizeHint().width() for label in self._names if not label.isHidden())
        for labels in (self.latest_labels, self.cursor_labels):
            for label in labels.values():
                label.setFixedWidth(number)
        for label in self._names:
            label.setFixedWidth(name)
        self.setFixedWidth(name + 2 * number + 2 * self._grid.horizontalSpacing())


def iwae_names(k: int | None) -> dict[str, str]:
    """The names of an IWAE run's rows: -L_K with its K, so the legend says which bound is drawn."""
    return {"neg_iw_bound": iwae_label(k if k is not None else "?"), "val_neg_iw_bound": "val. −L_K"}


def _name_html(key: str, colours: dict[str, str], names: dict[str, str] = NAMES) -> str:
    """The row's name after its line's colour (a dot for the per-epoch values); a row of the
    other kind of run (an M2 row of a VAE's readout) takes the other kind's name."""
    name = names.get(key) or SEMI_NAMES.get(key) or iwae_names(None)[key]
    if key in ("val_neg_elbo", "val_error", "val_neg_iw_bound"):
        line = {"val_neg_elbo": "neg_elbo", "val_neg_iw_bound": "neg_iw_bound"}.get(key, key)
        colour = colours.get(line, FALLBACK_COLOUR)
        return f"<span style='color:{colour}'>&nbsp;●&nbsp;</span>&nbsp;{name}"
    if key in colours:
        return f"<span style='color:{colours[key]}'>━━</span>&nbsp;{name}"
    return f"<span style='color:transparent'>━━</span>&nbsp;{name}"
