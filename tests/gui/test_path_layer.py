"""The three interpolation paths on the canvas with their decoded lengths, and a strip that follows
the geodesic (gui/path_layer.py, app/paths.py), in a real explorer with its threads."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch

from canvas_fixtures import WAIT_MS, encoded_scatter, make_explorer, shipped, small_model  # noqa: F401
from latentlab.core import figures as core_figures
from latentlab.gui.path_layer import legend_text


def curve_points(curve) -> np.ndarray:
    xs, ys = curve.getData()
    return np.stack([xs, ys], 1)


def test_the_three_paths_and_their_lengths_are_drawn_and_the_strip_can_follow_the_geodesic(
        qtbot, make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    explorer.pin([-2.0, 1.0])
    explorer.pin([1.5, -0.5])
    strip, layer = explorer.interpolation, explorer.path_presenter.layer
    assert not layer.legend.isVisible()                     # the path is not drawn before its strip
    explorer.tabs.setCurrentWidget(strip)
    qtbot.waitUntil(lambda: layer.legend.isVisible(), timeout=WAIT_MS)
    comparison = explorer.state.shown_comparison()
    for mode, path in comparison.paths.items():
        np.testing.assert_allclose(curve_points(layer.curves[mode]), path, atol=1e-9)
    lengths = comparison.lengths
    assert layer.texts() == [legend_text(m, lengths[m], lengths["linear"]) for m in ("linear", "spherical", "geodesic")]
    assert lengths["geodesic"] < lengths["linear"]           # a trained decoder bends the shortest path
    assert "shorter than the line" in strip.caption.text()

    strip.mode.setCurrentIndex(strip.mode.findData("geodesic"))
    z = torch.as_tensor(comparison.resampled("geodesic", 10), dtype=torch.float32)
    with torch.no_grad():
        expected = core_figures.image_grid(shipped.model.decode(z), nrow=10, padding=1)
    qtbot.waitUntil(lambda: np.array_equal(strip.array(), expected), timeout=WAIT_MS)
    np.testing.assert_allclose(curve_points(explorer.canvas.path), z.double().numpy(), atol=1e-6)
    assert layer.curves["geodesic"].opts["pen"].widthF() > layer.curves["linear"].opts["pen"].widthF()
    steps_pen = pg.mkPen(explorer.canvas.path.opts["pen"])           # the strip's steps in the geodesic's colour
    assert steps_pen.color() == pg.mkPen(layer.curves["geodesic"].opts["pen"]).color()

    explorer.clear_pins()                                   # no ends: no paths
    qtbot.waitUntil(lambda: not layer.legend.isVisible(), timeout=WAIT_MS)
    xs = layer.curves["geodesic"].getData()[0]
    assert xs is None or len(xs) == 0


def test_above_two_dimensions_the_paths_are_projected_onto_the_plane(qtbot, make_explorer):
    model = small_model(5)
    explorer = make_explorer(model, encoded_scatter(model))
    explorer.pin([1.0, -1.0, 0.5, 0.0, 0.3])
    explorer.pin([-1.0, 1.0, -0.5, 0.2, 0.0])
    explorer.tabs.setCurrentWidget(explorer.interpolation)
    layer = explorer.path_presenter.layer
    qtbot.waitUntil(lambda: layer.legend.isVisible(), timeout=WAIT_MS)
    comparison = explorer.state.shown_comparison()
    assert comparison.paths["geodesic"].shape[1] == 5
    np.testing.assert_allclose(curve_points(layer.curves["geodesic"]),
                               explorer.plane.project(comparison.paths["geodesic"]), atol=1e-9)
