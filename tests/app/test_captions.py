"""Captions as functions of the state: the draws' names, and why a spherical path leaves the data."""

from __future__ import annotations

import numpy as np
import pytest

from latentlab.app import captions
from latentlab.app.captions import check_path, path_note, path_warning, sample_label


def test_draws_from_q_are_s1_to_s4_not_the_axes_names():
    assert [sample_label(i) for i in range(4)] == ["s1", "s2", "s3", "s4"]


def test_the_check_measures_the_angle_and_the_far_point():
    path = np.array([[2.0, 0.0], [0.0, 9.0], [-1.0, 0.0]])
    check = check_path(path)
    assert check.angle == pytest.approx(180.0) and check.end_norms == (2.0, 1.0)
    assert (check.far_index, check.far_norm) == (1, 9.0) and check.far and check.opposite


def set_path(explorer, make_model, a, b, mode):
    state = explorer.state
    state.set_model(make_model(len(a)))
    state.add_pin(a)
    state.add_pin(b)
    state.set_figure_settings(mode=mode)
    return state


def test_slerp_between_nearly_opposite_ends_of_unequal_length_says_how_far_it_goes(explorer, make_model):
    state = set_path(explorer, make_model, [2.0, 0.1], [-1.0, 0.0], "spherical")
    norms = np.linalg.norm(state.path, axis=1)
    assert norms.max() > 15                                        # the strip's middle is far off the canvas
    warning = path_warning(state)
    assert warning.startswith("Far from the data: these ends are 177° apart")
    assert f"|z| = {norms.max():.1f}" in warning and "|z| = 2.0 and 1.0" in warning
    assert path_note(state) == (f"|z| = {norms.max():.1f}", int(np.argmax(norms)))
    state.set_figure_settings(mode="linear")                       # a linear path stays between its ends
    assert path_warning(state) == "" and path_note(state) == ("", None)


def test_opposite_ends_of_equal_length_are_ill_defined_but_not_far(explorer, make_model):
    state = set_path(explorer, make_model, [1.5, 0.05, 0.0], [-1.5, 0.0, 0.05], "spherical")
    assert np.linalg.norm(state.path, axis=1).max() < 1.6
    assert path_warning(state).startswith("These ends are nearly opposite (")
    assert path_note(state) == ("", None)                          # nothing to mark on the canvas


def test_an_ordinary_spherical_path_gets_no_warning(explorer, make_model):
    state = set_path(explorer, make_model, [1.0, 0.5], [-0.5, 1.2], "spherical")
    assert captions.path_warning(state) == ""
