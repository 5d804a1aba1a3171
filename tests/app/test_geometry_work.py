"""The geometry layers without Qt (issue 11): magnification and q(z) maps of the shown plane over the
view, the ELBO surgery numbers, and the rules that keep late results of an older model, plane or
view off the screen, stop work for a layer switched off, and keep pictures across snapshots."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from latentlab.app.examples import ExampleSet
from latentlab.app.explorer_state import ExplorerState
from latentlab.app.geometry_layers import (GeometryLayers, covers, geometry_caption, map_extent,
                                           outline_segments, same_plane, surgery_text)
from latentlab.app.geometry_work import (AGGREGATE, ENCODE, MAGNIFICATION, NUMBERS, GeometryWork, encode_job)
from latentlab.app.ground_truth import GroundTruthState
from latentlab.app.job_queue import InlineRunner
from latentlab.core.aggregate import aggregate_density, elbo_surgery
from latentlab.core.geometry import magnification_grid

N_MAG, N_AGG = 12, 24


class HeldRunner:
    """Keeps every job until the test runs it; a cancelled job is dropped, but one already taken
    (`take`) still calls back when run, as a job running when its request went stale would."""

    def __init__(self):
        self.jobs, self.cancelled = [], []

    def submit(self, slot, fn, on_done, *, priority=10, on_error=None):
        self.jobs = [job for job in self.jobs if job.slot != slot]
        self.jobs.append(SimpleNamespace(slot=slot, fn=fn, on_done=on_done, on_error=on_error))

    def cancel(self, slot):
        self.cancelled.append(slot)
        self.jobs = [job for job in self.jobs if job.slot != slot]

    def slots(self):
        return [job.slot for job in self.jobs]

    def take(self, slot):
        job = next(job for job in self.jobs if job.slot == slot)
        self.jobs.remove(job)
        return job

    def run(self, slot, job=None):
        job = job or self.take(slot)
        with torch.inference_mode():
            try:
                value = job.fn()
            except Exception as e:  # noqa: BLE001 - as the runners do
                job.on_error(e)
                return None
        job.on_done(value)
        return value

    def run_all(self):
        while self.jobs:
            self.run(self.jobs[0].slot)


def examples_of(count=24, seed=0) -> ExampleSet:
    pixels = (np.random.default_rng(seed).random((count, 1, 28, 28)) > 0.6).astype(np.uint8) * 255
    return ExampleSet("mnist", "test split", pixels, np.arange(count), None, (), "dynamic", count)


def setup(runner, make_model, dim=2):
    explorer, truth, layers = ExplorerState(), GroundTruthState(), GeometryLayers()
    work = GeometryWork(explorer, layers, truth, runner, magnification_n=N_MAG, aggregate_n=N_AGG,
                        surgery_samples=300)
    explorer.set_model(make_model(dim))
    truth.set_examples(examples_of())
    return SimpleNamespace(explorer=explorer, truth=truth, layers=layers, work=work)


def test_map_extent_is_a_square_around_the_view_with_a_quarter_margin_and_covers_it():
    view = (-1.0, 3.0, 0.0, 2.0)
    e = map_extent(view)
    assert e == pytest.approx((-2.0, 4.0, -2.0, 4.0))                   # side 4 * 1.5, centred at (1, 1)
    assert covers(e, view) and covers(e, (-1.5, 3.5, 0.0, 2.0))          # a small pan stays covered
    assert not covers(e, (-3.0, 1.0, 0.0, 2.0))                          # panned past the margin
    assert not covers(e, (0.9, 1.1, 0.9, 1.1))                           # zoomed in 20x: too coarse
    assert not covers(None, view) and not covers(e, None)


def test_the_outline_of_a_mask_runs_along_its_cells_edges():
    mask = np.zeros((4, 4), bool)
    mask[1:3, 2:4] = True                                  # a 2 x 2 block touching the grid's upper v edge
    edges = outline_segments(mask, (0.0, 4.0, -2.0, 2.0))  # unit cells: cell (i, j) is [i, i+1] x [j-2, j-1]
    assert edges.shape == (8, 2, 2)
    lengths = np.linalg.norm(edges[:, 1] - edges[:, 0], axis=1)
    np.testing.assert_allclose(lengths, 1.0)
    corners = {tuple(p) for p in edges.reshape(-1, 2).round(9)}
    assert corners == {(u, v) for u in (1.0, 2.0, 3.0) for v in (0.0, 1.0, 2.0)} - {(2.0, 1.0)}
    assert outline_segments(np.zeros((3, 3), bool), (0, 1, 0, 1)).shape == (0, 2, 2)


def test_a_2d_model_gets_the_core_magnification_map_of_the_view_and_nothing_while_off(make_model):
    t = setup(InlineRunner(), make_model)
    assert t.work.runner.submitted == []                                 # nothing is computed while off
    t.layers.set_view((-2.0, 2.0, -1.0, 1.0))
    assert t.work.runner.submitted == []
    t.layers.set_shown(magnification=True)
    shown = t.layers.magnification
    assert t.work.runner.submitted == [MAGNIFICATION] and t.layers.aggregate is None
    assert shown.extent == pytest.approx(map_extent((-2.0, 2.0, -1.0, 1.0)))
    assert shown.generation == t.explorer.model_generation and same_plane(shown.plane, t.explorer.plane)
    expected = magnification_grid(t.explorer.model, shown.extent, N_MAG).log_magnification
    np.testing.assert_allclose(shown.log_magnification, expected, rtol=1e-9)
    lo, hi = shown.finite_range()
    assert lo == pytest.approx(np.min(expected)) and hi == pytest.approx(np.max(expected))
    t.layers.set_view((-2.2, 1.8, -1.0, 1.0))                            # within the margin: no new map
    assert t.work.runner.submitted == [MAGNIFICATION]
    t.layers.set_view((3.0, 7.0, -1.0, 1.0))                             # beyond it: a new one
    assert t.work.runner.submitted == [MAGNIFICATION] * 2 and t.layers.magnification.extent[1] > 7.0


def test_a_5d_model_maps_the_shown_plane_through_its_anchor(make_model):
    t = setup(InlineRunner(), make_model, dim=5)
    t.explorer.add_pin([0.3, -0.2, 0.5, 0.1, -0.4])
    t.explorer.set_plane_choice(axes=(1, 3), anchor=t.explorer.pins[0].id)
    t.layers.set_shown(magnification=True, aggregate=True)
    plane, mag, agg = t.explorer.plane, t.layers.magnification, t.layers.aggregate
    assert same_plane(mag.plane, plane) and same_plane(agg.plane, plane)
    expected = magnification_grid(t.explorer.model, mag.extent, N_MAG, directions=plane.basis.T,
                                  anchor=plane.offset).log_magnification
    np.testing.assert_allclose(mag.log_magnification, expected, rtol=1e-9)
    mu, logvar = encode_job(t.explorer.model, t.truth.examples)
    density, _, _ = aggregate_density(mu, logvar, agg.extent, N_AGG, directions=torch.tensor(plane.basis.T))
    np.testing.assert_allclose(np.exp(agg.log_density), density.numpy(), rtol=1e-9)
    assert agg.n_images == 24 and t.layers.surgery.method == "monte carlo" and t.layers.surgery.samples == 300


def test_the_numbers_add_up_and_are_those_of_the_examples(make_model):
    t = setup(InlineRunner(), make_model)
    t.layers.set_shown(aggregate=True)
    s = t.layers.surgery
    assert s.mutual_information + s.marginal_kl == pytest.approx(s.mean_kl, rel=1e-9)
    mu, logvar = encode_job(t.explorer.model, t.truth.examples)
    assert s == elbo_surgery(mu, logvar, max_side=512)                  # 2-D: exact on a grid
    assert s.n_images == 24 and 0 <= s.mutual_information <= s.log_n + 1e-6
    text = surgery_text(s)
    assert f"I(x;z) = {s.mutual_information:.2f} nats" in text and "(24 images)" in text
    assert text in geometry_caption(t.layers)
    # the examples were encoded once, for the map and the numbers together
    assert t.work.runner.submitted == [ENCODE, AGGREGATE, NUMBERS]
    t.layers.set_view((-9.0, 9.0, -9.0, 9.0))                            # a new map; the same encodings and numbers
    assert t.work.runner.submitted == [ENCODE, AGGREGATE, NUMBERS, AGGREGATE]


def test_results_of_an_older_model_or_view_are_dropped(make_model):
    runner = HeldRunner()
    t = setup(runner, make_model)
    t.layers.set_shown(magnification=True, aggregate=True)
    assert sorted(runner.slots()) == sorted([MAGNIFICATION, ENCODE])
    old = runner.take(MAGNIFICATION)                                     # running when the model changes
    t.explorer.set_model(make_model(2, seed=1))
    assert MAGNIFICATION in runner.slots()
    runner.run(MAGNIFICATION, old)                                       # late: dropped
    assert t.layers.magnification is None
    runner.run(MAGNIFICATION)
    assert t.layers.magnification.generation == t.explorer.model_generation
    stale_view = runner.take(ENCODE)
    runner.run(ENCODE, stale_view)                                       # ...same generation: kept
    assert set(runner.slots()) == {AGGREGATE, NUMBERS}
    late = runner.take(AGGREGATE)
    t.layers.set_view((5.0, 9.0, 5.0, 9.0))                              # the view moved far meanwhile
    runner.run(AGGREGATE, late)
    assert t.layers.aggregate is None                                    # for the old view: dropped
    runner.run_all()
    assert t.layers.aggregate.extent[1] > 9.0 and t.layers.surgery is not None
    assert t.layers.computing == frozenset()


def test_switching_a_layer_off_stops_its_work_and_on_again_reuses_the_map(make_model):
    runner = HeldRunner()
    t = setup(runner, make_model)
    t.layers.set_shown(magnification=True)
    running = runner.take(MAGNIFICATION)
    t.layers.set_shown(magnification=False)
    assert MAGNIFICATION in runner.cancelled and runner.slots() == [] and t.layers.computing == frozenset()
    runner.run(MAGNIFICATION, running)            # stopped at its first decoder call: nothing arrives
    assert t.layers.magnification is None
    t.layers.set_shown(magnification=True)
    runner.run(MAGNIFICATION)
    shown = t.layers.magnification
    t.layers.set_shown(magnification=False)
    t.layers.set_shown(magnification=True)        # the map still serves: nothing new is asked for
    assert runner.slots() == [] and t.layers.magnification is shown
    t.layers.set_shown(aggregate=True)
    t.layers.set_shown(aggregate=False)
    assert {ENCODE, AGGREGATE, NUMBERS} <= set(runner.cancelled) and runner.slots() == []


def test_a_snapshot_keeps_the_pictures_until_new_ones_arrive_another_model_clears_them(make_model):
    runner = HeldRunner()
    t = setup(runner, make_model)
    t.layers.set_shown(magnification=True, aggregate=True)
    runner.run_all()
    mag, agg, numbers = t.layers.magnification, t.layers.aggregate, t.layers.surgery
    t.explorer.set_model(make_model(2, seed=1), reset_view=False)         # a snapshot of a run
    assert (t.layers.magnification, t.layers.aggregate, t.layers.surgery) == (mag, agg, numbers)
    assert "updating…" in geometry_caption(t.layers)
    runner.run_all()
    assert t.layers.magnification is not mag and t.layers.aggregate is not agg and t.layers.surgery != numbers
    assert t.layers.magnification.generation == t.explorer.model_generation == t.layers.surgery_generation
    t.explorer.set_model(make_model(2, seed=2))                           # another model: cleared at once
    assert t.layers.magnification is None and t.layers.aggregate is None and t.layers.surgery is None
    assert "computing…" in geometry_caption(t.layers)


def test_captions_say_why_there_is_nothing(make_model):
    explorer, truth, layers = ExplorerState(), GroundTruthState(), GeometryLayers()
    GeometryWork(explorer, layers, truth, InlineRunner(), magnification_n=N_MAG, aggregate_n=N_AGG)
    assert "magnification" in geometry_caption(layers)                   # what the toggles are for
    layers.set_shown(magnification=True, aggregate=True)
    assert geometry_caption(layers).startswith("No model")
    truth.set_examples(None, "No examples: the model does not say which data it was trained on.")
    explorer.set_model(make_model(2))
    caption = geometry_caption(layers)
    assert "log magnification (12×12)" in caption and "q(z) needs the test images" in caption
    assert "does not say which data" in caption and layers.aggregate is None


def test_a_failure_is_said_once_and_stays_said_until_another_model(make_model, monkeypatch):
    from latentlab.app import geometry_work

    def broken(*_):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(geometry_work, "magnification_job", broken)
    t = setup(InlineRunner(), make_model)
    messages = []
    t.explorer.events.message.connect(messages.append)
    t.layers.set_shown(magnification=True)
    assert "could not be computed (RuntimeError: out of memory)" in geometry_caption(t.layers)
    t.layers.set_view((-2.0, 2.0, -2.0, 2.0))                            # still covered: not asked again
    assert "out of memory" in geometry_caption(t.layers) and len(messages) == 1
    assert t.layers.magnification is None and t.layers.computing == frozenset()
    monkeypatch.undo()
    t.explorer.set_model(make_model(2, seed=3))
    assert "out of memory" not in geometry_caption(t.layers) and t.layers.magnification is not None
