"""View > Zoom reaches the plots: lines, markers, labels and legends scale, and items added later too."""

import numpy as np

from latentlab.app.plane import Ellipse
from latentlab.gui.canvas import LatentCanvas
from latentlab.gui.curves import CurvePanel


def _width(item) -> float:
    return item.opts["pen"].widthF()


def test_canvas_lines_markers_and_labels_scale_with_the_ui_and_back(qtbot):
    canvas = LatentCanvas()
    qtbot.addWidget(canvas)
    canvas.set_scatter(np.random.default_rng(0).normal(size=(50, 2)), np.arange(50) % 10)
    circle = canvas.prior_circles[0]
    before = (_width(circle), canvas.pins.opts["size"], canvas.legend.items[0][1].opts["size"])
    canvas.set_ui_scale(2.0)
    assert _width(circle) == 2 * before[0]
    assert canvas.pins.opts["size"] == 2 * before[1]
    assert canvas.legend.items[0][1].opts["size"] == f"{2 * float(before[2].rstrip('pt')):.1f}pt"
    # an image encoded after the zoom: its ellipses and label are at 2x as well
    canvas.set_posterior("a", Ellipse(np.zeros(2), np.array([0.5, 0.3]), 0.0), label="one")
    glyph = canvas.posterior("a")
    unscaled = LatentCanvas()
    qtbot.addWidget(unscaled)
    unscaled.set_posterior("a", Ellipse(np.zeros(2), np.array([0.5, 0.3]), 0.0), label="one")
    assert _width(glyph.one_sigma) == 2 * _width(unscaled.posterior("a").one_sigma)
    assert glyph.text.textItem.font().pointSizeF() == 2 * unscaled.posterior("a").text.textItem.font().pointSizeF()
    canvas.set_ui_scale(1.5)             # from the remembered 1x sizes, not from the 2x ones
    assert _width(circle) == 1.5 * before[0]
    canvas.set_ui_scale(1.0)
    assert (_width(circle), canvas.pins.opts["size"]) == before[:2]


def test_curve_lines_and_axes_scale_with_the_ui(qtbot):
    panel = CurvePanel()
    qtbot.addWidget(panel)
    line = next(iter(panel.smooth_items.values()))
    width = _width(line)
    tick = panel.loss_plot.getAxis("left").style["tickFont"]
    panel.set_ui_scale(2.0)
    assert _width(line) == 2 * width
    scaled = panel.loss_plot.getAxis("left").style["tickFont"].pointSizeF()
    assert scaled == 2 * (tick.pointSizeF() if tick is not None else scaled / 2)
