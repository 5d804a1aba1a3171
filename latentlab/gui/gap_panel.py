"""The "Gaps" tab (objectName gapPanel): the three numbers of the selected image and the gaps between.

ELBO (the encoder's q) <= ELBO* (q optimised for this image alone) <= log p(x) (exact, 2-D), the
amortisation gap ELBO* - ELBO and the approximation gap log p(x) - ELBO* as one stacked bar in
nats, KL(q || p(z|x)) (= log p(x) - ELBO), and the importance-weighted bound L_k for k = 1 ...
5,000 rising towards log p(x). A view of `GroundTruthState` (the gaps are computed in the
background, see app/ground_truth_work.py); above 2-D it shows L_k and ELBO* and says why there
is no exact value.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from latentlab.app.ground_truth import GroundTruthState

AMORTISATION_COLOUR = "#4e9af1"
APPROXIMATION_COLOUR = "#ff8c42"      # the true posterior's colour on the canvas
HINT = "Select an image (drop one on the canvas, draw one, or pick one in Examples) to see its gaps."
NEEDS_2D = ("The exact log p(x), the approximation gap and KL(q || p(z|x)) need a 2-D latent space "
            "(this model has {dim}); L_k below bounds log p(x) from below.")
ROWS = (  # (key, label, tooltip)
    ("log_px", "log p(x)", "The exact log-likelihood, by quadrature over the 2-D latent space"),
    ("elbo_star", "ELBO*", "The ELBO of the Gaussian q optimised for this image alone (300 Adam steps)"),
    ("elbo", "ELBO", "The ELBO of the encoder's q(z|x)"),
    ("amortisation", "amortisation gap", "ELBO* - ELBO: what the encoder loses by being one network for all images"),
    ("approximation", "approximation gap", "log p(x) - ELBO*: what no Gaussian q can express of p(z|x)"),
    ("kl", "KL(q || p(z|x))", "Integrated on a grid; equals log p(x) - ELBO, the two gaps together"),
)


def nats(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} nats"


class GapBar(QWidget):
    """A stacked horizontal bar from ELBO to ELBO* to log p(x), labelled in nats."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("gapBar")
        self.values: tuple[float, float, float | None] | None = None
        self.setMinimumHeight(5 * self.fontMetrics().height() + 8)     # legend, bar, two lines of labels
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_values(self, elbo: float | None, elbo_star: float | None = None, log_px: float | None = None) -> None:
        self.values = None if elbo is None else (elbo, elbo_star, log_px)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.values is None:
            return
        elbo, star, log_px = self.values
        end = log_px if log_px is not None else star
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = self.fontMetrics()
        line = fm.height()
        left, right = 6, self.width() - 6
        span = max(end - elbo, 1e-9)

        def x_of(value: float) -> float:
            return left + (right - left) * (min(max(value, elbo), end) - elbo) / span

        # the legend, one line above the bar
        x = left
        parts = [("amortisation gap", star - elbo, AMORTISATION_COLOUR)]
        if log_px is not None:
            parts.append(("approximation gap", log_px - star, APPROXIMATION_COLOUR))
        for name, value, colour in parts:
            p.fillRect(QRectF(x, 4 + line * 0.25, line * 0.6, line * 0.6), QColor(colour))
            text = f"{name} {value:.2f} nats"
            p.setPen(self.palette().text().color())
            p.drawText(int(x + line * 0.8), 4 + fm.ascent(), text)
            x += line * 0.8 + fm.horizontalAdvance(text) + line
        # the bar: each part at least 2 px wide, so a tiny gap still shows
        top, height = 8 + line, line * 1.2
        bounds = [elbo, star] + ([log_px] if log_px is not None else [])
        for (a, b), (_, _, colour) in zip(zip(bounds, bounds[1:]), parts):
            x0, x1 = x_of(a), x_of(b)
            p.fillRect(QRectF(x0, top, max(x1 - x0, 2.0), height), QColor(colour))
        # ticks and their labels under the bar; ELBO*'s label only where it has room
        p.setPen(QPen(self.palette().text().color(), 1))
        below = top + height + 2 + fm.ascent()
        left_text = f"ELBO {elbo:.2f}"
        right_text = f"{'log p(x)' if log_px is not None else 'ELBO*'} {end:.2f}"
        p.drawText(int(left), int(below), left_text)
        p.drawText(int(right - fm.horizontalAdvance(right_text)), int(below), right_text)
        for value in bounds:
            xv = x_of(value)
            p.drawLine(int(xv), int(top + height), int(xv), int(top + height + 3))
        if log_px is not None:
            star_text = f"ELBO* {star:.2f}"
            w = fm.horizontalAdvance(star_text)
            xs = x_of(star) - w / 2
            if xs > left + fm.horizontalAdvance(left_text) + 8 and xs + w < right - fm.horizontalAdvance(right_text) - 8:
                p.drawText(int(xs), int(below + line), star_text)
        p.end()


class GapPanel(QWidget):
    def __init__(self, truth: GroundTruthState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("gapPanel")
        self.truth = truth
        self.title = QLabel(objectName="gapTitle")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)   # never widens the pane
        self.status = QLabel(objectName="gapStatus")
        self.status.setWordWrap(True)
        self.numbers: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        for row, (key, text, tip) in enumerate(ROWS):
            name = QLabel(text)
            name.setToolTip(tip)
            value = QLabel(objectName=f"gap_{key}")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setToolTip(tip)
            grid.addWidget(name, row, 0)
            grid.addWidget(value, row, 1)
            self.numbers[key] = value
        grid.setRowStretch(len(ROWS), 1)
        self.bar = GapBar(self)
        self.curve_plot = pg.PlotWidget(self, background="#16181d")
        self.curve_plot.setObjectName("lkCurve")
        plot = self.curve_plot.getPlotItem()
        plot.setLogMode(x=True, y=False)
        plot.setLabel("bottom", "k (importance samples, log scale)")
        plot.setLabel("left", "L_k (nats)")
        plot.setTitle("L_k rising towards log p(x)", size="9pt")
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        self.curve = plot.plot(pen=pg.mkPen("#e8e8e8", width=2), symbol="o", symbolSize=5, symbolBrush="#e8e8e8")
        self.log_px_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(APPROXIMATION_COLOUR, width=2),
                                           label="log p(x)", labelOpts={"position": 0.12, "color": APPROXIMATION_COLOUR})
        self.star_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(AMORTISATION_COLOUR, width=1.5, style=Qt.PenStyle.DashLine),
                                         label="ELBO*", labelOpts={"position": 0.9, "color": AMORTISATION_COLOUR})
        for item in (self.log_px_line, self.star_line):
            plot.addItem(item)
        self.curve_plot.setMinimumHeight(140)
        self.curve_plot.setToolTip("L_k from 5,000 draws of q (for each k the mean over the 5,000 / k groups of k): "
                                   "its noise, a few hundredths of a nat, can lift it above log p(x) when the two "
                                   "are that close")

        middle = QHBoxLayout()
        middle.addLayout(grid)
        middle.addWidget(self.curve_plot, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.status)
        layout.addLayout(middle, 1)
        layout.addWidget(self.bar)
        for event in (truth.events.gaps, truth.events.selection):
            event.connect(self.render)
        self.render()

    def value_text(self, key: str) -> str:
        """What the panel shows for a number (for tests): '-133.35 nats', '—' or ''."""
        return self.numbers[key].text()

    def render(self) -> None:
        truth = self.truth
        gaps = truth.gaps
        self.title.setText(f"Gaps of {truth.selected_name}" if truth.selected is not None else "Gaps of the ELBO")
        exact = truth.latent_dim in (0, 2)
        if truth.selected is None:
            status = HINT
        elif truth.gaps_pending:
            status = ("computing… (ELBO* by 300 Adam steps, L_k from 5,000 draws of q"
                      + (", log p(x) by quadrature)" if exact else ")"))
        else:
            status = truth.gaps_error
        if not exact:
            status = (status + "\n" if status else "") + NEEDS_2D.format(dim=truth.latent_dim)
        self.status.setText(status)
        self.status.setVisible(bool(status))
        values = {} if gaps is None else {
            "log_px": gaps.log_px, "elbo_star": gaps.elbo_star, "elbo": gaps.elbo,
            "amortisation": gaps.amortisation_gap, "approximation": gaps.approximation_gap,
            "kl": gaps.kl_q_posterior}
        for key, label in self.numbers.items():
            label.setText(nats(values[key]) if gaps is not None else "")
        self.bar.set_values(None if gaps is None else gaps.elbo, None if gaps is None else gaps.elbo_star,
                            None if gaps is None else gaps.log_px)
        self.bar.setVisible(gaps is not None)
        if gaps is None:
            self.curve.setData([], [])
        else:
            ks, values_k = zip(*gaps.iw_curve)
            self.curve.setData(np.array(ks, dtype=float), np.array(values_k))
        for line, value in ((self.log_px_line, None if gaps is None else gaps.log_px),
                            (self.star_line, None if gaps is None else gaps.elbo_star)):
            line.setVisible(value is not None)
            if value is not None:
                line.setValue(value)
        if gaps is not None:
            ys = [v for _, v in gaps.iw_curve] + [gaps.elbo_star] + ([gaps.log_px] if gaps.log_px is not None else [])
            pad = max(0.05 * (max(ys) - min(ys)), 0.05)
            self.curve_plot.getPlotItem().setYRange(min(ys) - pad, max(ys) + pad, padding=0)
            self.curve_plot.getPlotItem().setXRange(0, np.log10(5000), padding=0.02)
