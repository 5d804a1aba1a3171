"""The figures panel (manifold, prior samples, interpolation) and the exports, against core.figures."""

from __future__ import annotations

import csv

import numpy as np
import torch

import image_files as files
from canvas_fixtures import (WAIT_MS, drop_files, encoded_scatter, make_explorer, shipped,  # noqa: F401
                             small_model, wait_encoded)
from latentlab.core import figures as core_figures


def show_figure(qtbot, explorer, figure):
    """Open the figure's tab and wait for its image (computed on the model thread)."""
    explorer.tabs.setCurrentWidget(figure)
    qtbot.waitUntil(lambda: figure.array() is not None, timeout=WAIT_MS)
    return figure.array()


def test_manifold_is_the_aevb_figure_and_its_size_adjusts(qtbot, make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    manifold = explorer.manifold
    with torch.no_grad():
        np.testing.assert_array_equal(show_figure(qtbot, explorer, manifold), core_figures.manifold(shipped.model, 20))
    manifold.size.setValue(7)
    qtbot.waitUntil(lambda: manifold.array().shape == (7 * 28, 7 * 28), timeout=WAIT_MS)
    with torch.no_grad():
        np.testing.assert_array_equal(manifold.array(), core_figures.manifold(shipped.model, 7))


def test_manifold_of_a_5d_model_spans_the_plane_shown(qtbot, make_explorer):
    model = small_model(5)
    explorer = make_explorer(model, encoded_scatter(model))
    explorer.plane_controls.x_axis.setCurrentIndex(3)
    explorer.plane_controls.y_axis.setCurrentIndex(1)
    explorer.plane_controls.changed.emit()
    assert explorer.plane.labels == ("z4", "z2")
    grid = show_figure(qtbot, explorer, explorer.manifold)
    uv = core_figures.manifold_latents(20).double().numpy()
    z = torch.as_tensor(explorer.plane.to_latent(uv), dtype=torch.float32)
    assert np.all(z[:, [0, 2, 4]].numpy() == 0) and not np.all(z[:, 3].numpy() == 0)
    with torch.no_grad():
        np.testing.assert_array_equal(grid, core_figures.image_grid(model.decode(z), nrow=20, padding=0))


def test_prior_samples_match_core_and_reseed_draws_new_ones(qtbot, make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    samples = explorer.prior_samples
    first = show_figure(qtbot, explorer, samples)
    with torch.no_grad():
        np.testing.assert_array_equal(first, core_figures.prior_samples(shipped.model, 100, seed=0))
    samples.reseed.click()
    qtbot.waitUntil(lambda: not np.array_equal(samples.array(), first), timeout=WAIT_MS)
    with torch.no_grad():
        np.testing.assert_array_equal(samples.array(), core_figures.prior_samples(shipped.model, 100, seed=1))
    samples.sample_x.setChecked(True)
    qtbot.waitUntil(lambda: set(np.unique(samples.array())) <= {0, 255}, timeout=WAIT_MS)   # Bernoulli draws


def test_prior_samples_work_for_any_latent_dimension(qtbot, make_explorer):
    model = small_model(10)
    explorer = make_explorer(model)
    with torch.no_grad():
        np.testing.assert_array_equal(show_figure(qtbot, explorer, explorer.prior_samples),
                                      core_figures.prior_samples(model, 100, seed=0))


def test_interpolation_between_two_pins_linear_and_spherical_with_its_path(qtbot, make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    a, b = np.array([-2.0, 1.0]), np.array([1.5, -0.5])
    explorer.pin(a)
    explorer.pin(b)
    strip = explorer.interpolation
    strip.steps.setValue(8)
    show_figure(qtbot, explorer, strip)

    def expected(mode):
        z = core_figures.interpolate(torch.tensor(a), torch.tensor(b), 8, mode).float()
        with torch.no_grad():
            return core_figures.image_grid(shipped.model.decode(z), nrow=8, padding=1), z.double().numpy()

    linear, z_linear = expected("linear")
    qtbot.waitUntil(lambda: np.array_equal(strip.array(), linear), timeout=WAIT_MS)
    xs, ys = explorer.canvas.path.getData()
    np.testing.assert_allclose(np.stack([xs, ys], 1), z_linear, atol=1e-6)     # the path on the canvas

    strip.mode.setCurrentIndex(1)
    strip.requested.emit()
    spherical, z_spherical = expected("spherical")
    qtbot.waitUntil(lambda: np.array_equal(strip.array(), spherical), timeout=WAIT_MS)
    xs, ys = explorer.canvas.path.getData()
    np.testing.assert_allclose(np.stack([xs, ys], 1), z_spherical, atol=1e-6)
    assert not np.allclose(z_spherical, z_linear)

    explorer.tabs.setCurrentWidget(explorer.drawpad)
    explorer.clear_pins()                                   # no ends: the path goes, even unseen
    assert explorer.canvas.path.getData()[0] is None or len(explorer.canvas.path.getData()[0]) == 0


def test_interpolation_between_two_dropped_images(qtbot, make_explorer, shipped):
    explorer = make_explorer(shipped.model, shipped.extras)
    drop_files(explorer.canvas, [files.sample("mnist", 0), files.sample("mnist", 50)])
    first, second = wait_encoded(qtbot, explorer, 2)
    strip = explorer.interpolation
    show_figure(qtbot, explorer, strip)
    ends = strip.endpoints()
    np.testing.assert_allclose(ends[0], first.posterior.mu)
    np.testing.assert_allclose(ends[1], second.posterior.mu)
    assert strip.array().shape[1] == 10 * 29 + 1


def test_exports_write_csvs(qtbot, make_explorer, shipped, tmp_path):
    """(Pictures: tests/gui/test_canvas_export.py and the figure export tests.)"""
    explorer = make_explorer(shipped.model, shipped.extras)
    explorer.pin(np.array([0.25, -0.5]))
    explorer.export_pins_csv(tmp_path / "pins.csv")
    rows = list(csv.reader(open(tmp_path / "pins.csv")))
    assert rows == [["pin", "u", "v", "z1", "z2"], ["1", "0.25", "-0.5", "0.25", "-0.5"]]

    explorer.export_scatter_csv(tmp_path / "scatter.csv")
    rows = list(csv.reader(open(tmp_path / "scatter.csv")))
    means = shipped.extras["scatter_means"]
    assert rows[0] == ["label", "label_name", "z1", "z2"] and len(rows) == len(means) + 1
    label = int(shipped.extras["scatter_labels"][0])
    assert rows[1][:2] == [str(label), shipped.extras["label_names"][label]]
    np.testing.assert_allclose([float(v) for v in rows[1][2:]], means[0].numpy(), rtol=1e-5)
