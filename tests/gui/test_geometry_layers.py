"""The geometry layers in the window (issue 11): the magnification map with its colour bar and the
aggregate posterior with its holes and numbers, under the test set, toggled from the controls,
computed for the view, kept across a training snapshot, on the shown plane of a 5-D model, and in
the canvas' PNG export."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QCheckBox

from canvas_fixtures import WAIT_MS, encoded_scatter, make_explorer, small_model  # noqa: F401
from latentlab.app.geometry_layers import covers, same_plane, surgery_text
from latentlab.core.map_figures import VIRIDIS
from latentlab.gui.canvas_export import render_png
from latentlab.gui.plot_export import SceneArea

DATA = {"dataset": "mnist", "binarize": "dynamic"}
SLOW_MS = 30_000          # the first Jacobian of a process loads torch's jvp rules (~1.5 s, more on a busy machine)


@pytest.fixture
def samples_only(tmp_path, monkeypatch):
    """No data folder: the examples are resources/samples (the first 100 test images)."""
    monkeypatch.setenv("LATENTLAB_DATA", str(tmp_path / "no-data"))


@pytest.fixture
def geometry_explorer(qtbot, make_explorer, samples_only):
    """An explorer on a tiny model of `dim` dimensions with its examples, maps on small grids."""

    def make(dim: int):
        explorer = make_explorer()
        explorer.geometry_work.magnification_n, explorer.geometry_work.aggregate_n = 16, 32
        explorer.geometry_work.surgery_samples = 200
        model = small_model(dim)
        with qtbot.waitSignal(explorer.imageShown, timeout=WAIT_MS):
            explorer.set_model(model, encoded_scatter(model), data=DATA)
        qtbot.waitUntil(lambda: explorer.truth.examples is not None, timeout=WAIT_MS)
        return explorer

    return make


def toggle(explorer, name: str) -> QCheckBox:
    box = explorer.findChild(QCheckBox, name)
    box.click()
    return box


def wait_for_maps(qtbot, explorer, magnification=True, aggregate=True):
    g = explorer.geometry

    def done():
        return ((not magnification or (g.magnification is not None
                                       and g.magnification.generation == explorer.state.model_generation))
                and (not aggregate or (g.aggregate is not None and g.surgery is not None
                                       and g.aggregate.generation == explorer.state.model_generation))
                and not g.computing)

    qtbot.waitUntil(done, timeout=SLOW_MS)


def test_the_toggles_show_the_maps_under_the_test_set_with_a_colour_bar_of_the_map_range(qtbot, geometry_explorer):
    explorer = geometry_explorer(2)
    layer, g = explorer.geometry_presenter.layer, explorer.geometry
    assert not layer.magnification_image.isVisible() and not layer.magnification_bar.isVisible()
    assert "Layers under the canvas" in explorer.geometry_controls.caption.text()
    toggle(explorer, "magnificationToggle")
    wait_for_maps(qtbot, explorer, aggregate=False)
    qtbot.waitUntil(layer.magnification_image.isVisible, timeout=WAIT_MS)
    shown = g.magnification
    assert layer.magnification_bar.isVisible() and not layer.aggregate_image.isVisible()
    assert layer.magnification_bar.levels == pytest.approx(shown.finite_range())
    assert layer.magnification_bar.title == "log magnification"
    assert shown.log_magnification.shape == (16, 16) and covers(shown.extent, g.view)
    rect = layer.magnification_image.mapRectToParent(layer.magnification_image.boundingRect())
    np.testing.assert_allclose([rect.left(), rect.right(), rect.top(), rect.bottom()], shown.extent, atol=1e-6)
    scatter_z = min(item.zValue() for item in explorer.canvas.scatter_items())
    assert layer.magnification_image.zValue() < scatter_z and layer.aggregate_image.zValue() < scatter_z
    assert "log magnification (16×16)" in explorer.geometry_controls.caption.text()

    toggle(explorer, "aggregateToggle")
    wait_for_maps(qtbot, explorer)
    qtbot.waitUntil(layer.aggregate_image.isVisible, timeout=WAIT_MS)
    s = g.surgery
    assert s.n_images == 100 and s.mutual_information + s.marginal_kl == pytest.approx(s.mean_kl)
    assert surgery_text(s) in explorer.geometry_controls.caption.text()
    assert f"I(x;z) = {s.mutual_information:.2f} nats" in layer.aggregate_bar.notes
    assert layer.holes.isVisible() and layer.aggregate_bar.isVisible()
    assert layer.holes.path().elementCount() == 2 * len(g.aggregate.outline())    # one move + one line per edge
    assert layer.aggregate_bar.levels[1] == pytest.approx(g.aggregate.peak)

    toggle(explorer, "magnificationToggle")                              # off again: hidden at once
    assert not layer.magnification_image.isVisible() and not layer.magnification_bar.isVisible()
    assert layer.aggregate_image.isVisible() and not g.shown.magnification


def test_a_view_moved_past_the_margin_gets_a_new_map_once_it_settles(qtbot, geometry_explorer):
    explorer = geometry_explorer(2)
    g = explorer.geometry
    toggle(explorer, "magnificationToggle")
    wait_for_maps(qtbot, explorer, aggregate=False)
    first = g.magnification
    explorer.canvas.plot_item.setRange(xRange=(6.0, 10.0), yRange=(6.0, 10.0), padding=0)
    qtbot.waitUntil(lambda: g.magnification is not first and not g.computing, timeout=SLOW_MS)
    assert covers(g.magnification.extent, g.view) and 0.5 * (g.view[0] + g.view[1]) == pytest.approx(8.0, abs=0.1)


def test_a_snapshot_recomputes_keeping_the_old_picture_until_the_new_one_arrives(qtbot, geometry_explorer):
    explorer = geometry_explorer(2)
    layer, g = explorer.geometry_presenter.layer, explorer.geometry
    toggle(explorer, "magnificationToggle")
    toggle(explorer, "aggregateToggle")
    wait_for_maps(qtbot, explorer)
    old_map, old_q = g.magnification, g.aggregate
    explorer.set_model(small_model(2, seed=1), reset_view=False)         # as training sends its snapshots
    assert layer.magnification is old_map and layer.aggregate is old_q and layer.magnification_image.isVisible()
    wait_for_maps(qtbot, explorer)
    assert g.magnification is not old_map and g.aggregate is not old_q
    assert layer.magnification is g.magnification and layer.aggregate is g.aggregate
    assert not np.array_equal(g.magnification.log_magnification, old_map.log_magnification)


def test_a_5d_model_shows_the_maps_of_the_plane_it_shows(qtbot, geometry_explorer):
    explorer = geometry_explorer(5)
    layer, g = explorer.geometry_presenter.layer, explorer.geometry
    toggle(explorer, "magnificationToggle")
    toggle(explorer, "aggregateToggle")
    wait_for_maps(qtbot, explorer)
    assert same_plane(g.magnification.plane, explorer.plane) and g.surgery.method == "monte carlo"
    assert "on the shown plane" in explorer.geometry_controls.caption.text()
    explorer.state.set_plane_choice(axes=(2, 4))
    assert not layer.magnification_image.isVisible()                     # the old plane's map is not drawn
    qtbot.waitUntil(lambda: g.magnification is not None and same_plane(g.magnification.plane, explorer.plane)
                    and g.aggregate is not None and same_plane(g.aggregate.plane, explorer.plane), timeout=SLOW_MS)
    qtbot.waitUntil(lambda: layer.magnification_image.isVisible() and layer.aggregate_image.isVisible(),
                    timeout=WAIT_MS)
    assert explorer.plane.labels == ("z3", "z5")


def test_the_canvas_png_carries_the_layers_and_the_colour_bar(qtbot, geometry_explorer):
    explorer = geometry_explorer(2)
    layer = explorer.geometry_presenter.layer
    canvas = explorer.canvas
    plain = render_png(canvas, 1)
    toggle(explorer, "magnificationToggle")
    wait_for_maps(qtbot, explorer, aggregate=False)
    qtbot.waitUntil(layer.magnification_bar.isVisible, timeout=WAIT_MS)
    pixels = render_png(canvas, 2)
    assert pixels.shape[:2] == (2 * plain.shape[0], 2 * plain.shape[1])
    area = SceneArea.of_view(canvas)
    x, y, w, h = (round(2 * v) for v in area.to_picture(layer.magnification_bar.mapRectToScene(
        layer.magnification_bar._strip_rect())))
    strip = pixels[y + 4:y + h - 4, x + 4:x + w - 4].reshape(-1, 3).astype(int)
    # the strip runs through viridis: its top is the map's brightest colour, its bottom the darkest
    assert np.abs(strip[0] - VIRIDIS[-1]).max() < 40 and np.abs(strip[-1] - VIRIDIS[0]).max() < 40
    # and the map lies under the plot: the middle of the canvas changed
    centre = (slice(pixels.shape[0] // 3, 2 * pixels.shape[0] // 3), slice(pixels.shape[1] // 3, pixels.shape[1] // 2))
    small = pixels[::2, ::2]
    assert np.abs(small[centre[0].start // 2:centre[0].stop // 2, centre[1].start // 2:centre[1].stop // 2].astype(int)
                  - plain[centre[0].start // 2:centre[0].stop // 2, centre[1].start // 2:centre[1].stop // 2]
                  ).mean() > 10


def test_the_keys_follow_the_ui_scale(qtbot, geometry_explorer):
    explorer = geometry_explorer(2)
    bar = explorer.geometry_presenter.layer.magnification_bar
    width = bar.boundingRect().width()
    explorer.set_ui_scale(2.0)
    assert bar.ui_scale == 2.0 and bar.boundingRect().width() > 1.6 * width
    explorer.set_ui_scale(1.0)
    assert bar.boundingRect().width() == pytest.approx(width)


def test_the_colour_bar_ticks_are_round_numbers_inside_its_range():
    from latentlab.gui.colour_bar import nice_ticks, tick_text

    assert nice_ticks(-1.52, 6.74) == [0.0, 2.0, 4.0, 6.0]
    assert nice_ticks(-1.97, 3.22) == [-1.0, 0.0, 1.0, 2.0, 3.0]
    ticks = nice_ticks(0.001, 0.0013)
    assert all(0.001 <= t <= 0.0013 for t in ticks) and len({tick_text(t, ticks) for t in ticks}) == len(ticks)
    assert nice_ticks(0.2, 0.25) == pytest.approx([0.2, 0.21, 0.22, 0.23, 0.24, 0.25])
    assert tick_text(-2.0, [-2.0, 0.0]) == "−2"
    assert nice_ticks(2.0, 2.0) == [2.0]
