"""The three paths between the interpolation's ends (app/paths.py), and the strip that follows the
geodesic (explorer state and work, inline runners: no threads, no Qt)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab.app import captions
from latentlab.app.paths import PathComparison, compare_paths
from latentlab.core.figures import interpolate
from latentlab.core.geometry import decoded_length


def test_the_three_paths_join_the_ends_and_their_lengths_are_the_decoded_lengths(make_model):
    model = make_model(3, seed=4)
    z0, z1 = np.array([-1.5, 0.5, 0.2]), np.array([1.2, -0.8, 0.4])
    comparison = compare_paths(model, z0, z1, generation=7, segments=8)
    assert comparison.generation == 7 and set(comparison.paths) == {"linear", "spherical", "geodesic"}
    for mode, path in comparison.paths.items():
        assert path.shape == (9, 3)
        np.testing.assert_array_equal(path[0], z0)
        np.testing.assert_array_equal(path[-1], z1)
        with torch.no_grad():
            assert comparison.lengths[mode] == pytest.approx(decoded_length(model, torch.from_numpy(path)), rel=1e-6)
    line = interpolate(torch.from_numpy(z0), torch.from_numpy(z1), 9, "linear").numpy()
    np.testing.assert_allclose(comparison.paths["linear"], line)
    # the geodesic minimises the decoded energy, and a path of less energy on the same steps is
    # never longer (Cauchy-Schwarz: length^2 <= S * energy, with equality on the line's even steps)
    assert comparison.lengths["geodesic"] < comparison.lengths["linear"]
    assert 0 < comparison.shortening() < 1


def test_resampling_keeps_the_ends_and_spaces_the_steps_evenly():
    path = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [2.0, 1.0], [2.0, 2.0]])
    comparison = PathComparison(path[0], path[-1], 1, {"geodesic": path}, {"geodesic": 4.0})
    np.testing.assert_allclose(comparison.resampled("geodesic", 3), [[0, 0], [2, 0], [2, 2]])
    out = comparison.resampled("geodesic", 9)
    assert out.shape == (9, 2)
    np.testing.assert_allclose(np.linalg.norm(np.diff(out, axis=0), axis=1), 0.5)


def test_the_strip_follows_the_geodesic_once_it_is_found(explorer, make_model):
    state, model = explorer.state, make_model(2, seed=1)
    state.set_model(model)
    state.add_pin([-2.0, 0.5])
    state.add_pin([2.0, -0.5])
    assert state.path is not None and state.path_comparison is None   # linear, not drawn yet: nothing asked
    state.set_figure_settings(mode="geodesic", steps=7)
    comparison = state.path_comparison
    assert comparison is not None and comparison.joins(state.end_points())
    np.testing.assert_allclose(state.path, comparison.resampled("geodesic", 7))
    assert "geodesic" in captions.interpolation(state) and "shorter than the line" in captions.interpolation(state)


def test_paths_of_other_ends_or_an_older_model_are_dropped(explorer, make_model):
    state = explorer.state
    state.set_model(make_model(2, seed=1))
    state.add_pin([-1.0, 0.0])
    state.add_pin([1.0, 0.0])
    ends = state.end_points()
    other = compare_paths(state.model, np.array([0.0, 1.0]), ends[1], state.model_generation, segments=4)
    state.set_path_comparison(other)
    assert state.path_comparison is None
    old = compare_paths(state.model, *ends, generation=state.model_generation - 1, segments=4)
    state.set_path_comparison(old)
    assert state.path_comparison is None
    state.set_path_comparison(compare_paths(state.model, *ends, generation=state.model_generation, segments=4))
    assert state.shown_comparison() is not None
    state.add_pin([0.0, 2.0])              # new ends (the last two pins): those paths are not theirs
    assert state.shown_comparison() is None


def test_a_geodesic_strip_waits_for_its_path_and_says_so(make_model):
    from latentlab.app.explorer_state import ExplorerState
    from latentlab.app.explorer_work import ExplorerWork
    from latentlab.app.job_queue import InlineRunner

    class Held:                            # a runner that keeps its jobs until told
        def __init__(self):
            self.jobs = []

        def submit(self, slot, fn, on_done, priority=0, on_error=None):
            self.jobs.append((fn, on_done))

        def cancel(self, slot):
            pass

    held = Held()
    state = ExplorerState()
    ExplorerWork(state, InlineRunner(), InlineRunner(), held)
    state.set_model(make_model(2, seed=2))
    state.add_pin([-1.0, 1.0])
    state.add_pin([1.0, -1.0])
    state.set_visible_figure("interpolation")
    state.set_figure_settings(mode="geodesic")
    assert state.path is None and state.geodesic_pending()
    assert captions.interpolation(state).endswith("finding the geodesic…")
    assert state.figure_arrays["interpolation"] is not None     # the last strip stays meanwhile
    assert len(held.jobs) == 1
    fn, on_done = held.jobs.pop()
    on_done(fn())
    assert state.path is not None and not state.geodesic_pending()
    assert state.figure_arrays["interpolation"].shape[1] == 10 * 29 + 1     # the strip of the geodesic
    state.set_model(make_model(2, seed=3), reset_view=False)                # a newer state of the run
    assert len(held.jobs) == 1 and state.path is not None   # asked again; the last geodesic serves meanwhile


def test_a_geodesic_no_longer_wanted_stops_at_its_next_decoder_call_and_says_nothing(make_model):
    from latentlab.app.explorer_state import ExplorerState
    from latentlab.app.explorer_work import ExplorerWork
    from latentlab.app.interrupt import Interrupted
    from latentlab.app.job_queue import InlineRunner

    jobs = []

    class Held:
        def submit(self, slot, fn, on_done, priority=0, on_error=None):
            jobs.append((fn, on_done, on_error))

        def cancel(self, slot):
            pass

    state = ExplorerState()
    messages = []
    state.events.message.connect(messages.append)
    work = ExplorerWork(state, InlineRunner(), InlineRunner(), Held())
    state.set_model(make_model(2, seed=2))
    state.add_pin([-1.0, 1.0])
    state.add_pin([1.0, -1.0])
    state.set_figure_settings(mode="geodesic")
    state.add_pin([0.0, 2.0])                       # new ends: the first geodesic is of no use
    (first, _, first_error), (second, on_done, _) = jobs
    with pytest.raises(Interrupted):
        first()
    first_error(Interrupted())
    assert messages == []                           # stopped on purpose: nothing to say
    work.stop()                                     # the window closes
    with pytest.raises(Interrupted):
        second()
