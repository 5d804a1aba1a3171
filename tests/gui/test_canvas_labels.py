"""What the canvas writes (issue 9): draws from q(z|x) named s1...s4, no label over another at any
zoom, plain numbers on zoomed axes, and a spherical path that leaves the data shown whole and noted."""

from __future__ import annotations

from itertools import combinations

import numpy as np
from PySide6.QtCore import QPointF

import image_files as files
from canvas_fixtures import WAIT_MS, drop_files, make_explorer, shipped, wait_encoded  # noqa: F401
from latentlab.app.label_layout import overlap
from latentlab.gui.canvas_labels import SAMPLE_GAP, label_rects


def assert_no_label_covers_another(qtbot, canvas):
    qtbot.waitUntil(lambda: not canvas.labels_pending(), timeout=WAIT_MS)      # laid out at the next pass
    rects = label_rects(canvas)
    crossed = [(a, b) for a, b in combinations(rects, 2) if overlap(rects[a], rects[b]) > 0]
    assert not crossed, crossed
    return rects


def test_draws_are_s1_to_s4_and_no_label_covers_another(qtbot, make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    drop_files(explorer.canvas, [files.sample("mnist", 3)])
    encoding, = wait_encoded(qtbot, explorer, 1)
    # Pins where the 1σ and 2σ labels sit by default (45°), and one on the image's posterior mean.
    for z in ([0.72, 0.72], [1.44, 1.42], [0.8, 0.85], encoding.posterior.mu):
        explorer.pin(np.asarray(z))
    canvas = explorer.canvas
    rects = assert_no_label_covers_another(qtbot, canvas)
    assert {"s1", "s2", "s3", "s4", "1σ", "2σ", "1", "2", "3", "4"} <= set(rects)
    assert not any(text.startswith("z") for text in rects)
    # Each s label sits beside its own draw (a line further out at most, in this crowd).
    vb = canvas.plot_item.vb
    for label, (x, y) in zip(canvas.sample_labels(), canvas.sample_points()):
        point = vb.mapViewToScene(QPointF(x, y))
        lx, ly, lw, lh = rects[label.toPlainText()]
        dx = max(lx - point.x(), 0.0, point.x() - lx - lw)
        dy = max(ly - point.y(), 0.0, point.y() - ly - lh)
        assert np.hypot(dx, dy) <= 1.5 * (SAMPLE_GAP + lh)
    explorer.zoom_to_posterior()                         # zoomed in, the draws spread out; still no overlap
    qtbot.waitUntil(lambda: canvas.plot_item.vb.viewRange()[0][1] - canvas.plot_item.vb.viewRange()[0][0] < 3,
                    timeout=WAIT_MS)
    assert_no_label_covers_another(qtbot, canvas)


def test_zoomed_axes_show_the_numbers_themselves(qtbot, make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    plot = explorer.canvas.plot_item
    plot.setRange(xRange=(0.0010, 0.0030), yRange=(-0.0010, 0.0010), padding=0)
    qtbot.waitUntil(lambda: plot.vb.viewRange()[0][1] < 0.01, timeout=WAIT_MS)
    for name in ("bottom", "left"):
        axis = plot.getAxis(name)
        assert axis.autoSIPrefixScale == 1.0 and "(x" not in axis.labelString()
        (lo, hi) = plot.vb.viewRange()[0 if name == "bottom" else 1]
        spacing, values = axis.tickValues(lo, hi, 400)[0]
        strings = axis.tickStrings(values, axis.autoSIPrefixScale * axis.scale, spacing)
        np.testing.assert_allclose([float(s) for s in strings], values, atol=spacing / 10)


def test_a_spherical_path_that_leaves_the_data_is_shown_whole_and_says_why(qtbot, make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    explorer.pin(np.array([2.0, 0.1]))
    explorer.pin(np.array([-1.0, 0.0]))
    strip = explorer.interpolation
    explorer.tabs.setCurrentWidget(strip)
    strip.mode.setCurrentIndex(strip.mode.findData("spherical"))
    canvas = explorer.canvas
    qtbot.waitUntil(lambda: canvas.path_note.isVisible(), timeout=WAIT_MS)
    xs, ys = canvas.path.getData()
    norms = np.hypot(xs, ys)
    assert norms.max() > 15 and canvas.path_note.toPlainText() == f"|z| = {norms.max():.1f}"
    (x0, x1), (y0, y1) = canvas.plot_item.vb.viewRange()
    assert x0 <= xs.min() and xs.max() <= x1 and y0 <= ys.min() and ys.max() <= y1      # all of it on the canvas
    assert strip.warning.isVisibleTo(strip) and strip.warning.text().startswith("Far from the data")
    assert_no_label_covers_another(qtbot, canvas)
    strip.mode.setCurrentIndex(strip.mode.findData("linear"))
    qtbot.waitUntil(lambda: not canvas.path_note.isVisible(), timeout=WAIT_MS)
    assert not strip.warning.isVisibleTo(strip)



def test_labels_keep_off_the_keys_and_legends_in_the_corners(qtbot, make_explorer, shipped):
    """A pin under the magnification key (lower right): its number goes beside the key, not on it."""
    explorer = make_explorer(shipped.model, shipped.extras)
    explorer.geometry.set_shown(magnification=True)
    key = explorer.geometry_presenter.layer.magnification_bar
    qtbot.waitUntil(key.isVisible, timeout=WAIT_MS)
    canvas = explorer.canvas
    vb = canvas.plot_item.vb
    box = key.sceneBoundingRect()
    inside = vb.mapSceneToView(QPointF(box.left() + 0.2 * box.width(), box.top() + 0.5 * box.height()))
    explorer.pin(np.array([inside.x(), inside.y()]))
    rects = assert_no_label_covers_another(qtbot, canvas)
    assert overlap(rects["1"], (box.left(), box.top(), box.width(), box.height())) == 0
