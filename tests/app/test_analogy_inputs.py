"""The analogies figure of the explorer (issue 12), without Qt: which model it draws, its rows (the
selected image first, then test images as the CLI picks them), its shape before any work, what it
says when it cannot be made, and when it must be computed again."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab.app import analogy_inputs
from latentlab.app.examples import ExampleSet
from latentlab.app.figure_work import FigureUnavailable, figure_function, figure_shape, figure_with_note
from latentlab.app.jobs import ImageSource
from latentlab.core.analogies import AnalogiesLayout, analogies_figure, analogy_rows, example_rows
from latentlab.core.m2 import M2Config, PixelM2

NAMES = tuple(str(k) for k in range(10))


def tiny_m2(seed=0):
    torch.manual_seed(seed)
    return PixelM2(M2Config(hidden_sizes=(16,), classifier_hidden=(16,))).eval()


def example_set(n=30, seed=1, labels=True):
    g = np.random.default_rng(seed)
    pixels = (g.random((n, 1, 28, 28)) < 0.3).astype(np.uint8) * 255
    return ExampleSet("mnist", "test split", pixels, np.arange(n), np.arange(n) % 10 if labels else None,
                      NAMES if labels else (), "dynamic", n)


def drawing(seed=3):
    g = np.random.default_rng(seed)
    return ((g.random((28, 28)) < 0.2) * 255).astype(np.uint8)


def test_the_semi_supervised_model_is_found_behind_the_explorers_view(explorer, make_model):
    state = explorer.state
    assert analogy_inputs.semi_model_of(state) is None                      # no model
    state.set_model(make_model(2))
    assert analogy_inputs.semi_model_of(state) is None                      # a VAE
    m2 = tiny_m2()
    state.set_model(m2.given(3))
    assert analogy_inputs.semi_model_of(state) is m2                        # the view's model
    assert analogy_inputs.semi_model_of(SimpleNamespace(semi_model=m2, model=None)) is m2   # after the class selector
    assert analogy_inputs.semi_model_of(SimpleNamespace(model=m2)) is m2


def test_a_vae_or_no_images_is_a_figure_that_says_what_it_needs(explorer, make_model):
    state = explorer.state
    state.set_model(make_model(2))
    with pytest.raises(FigureUnavailable, match="Analogies need an M2 model \\(Train → M2, or open trained/m2-2d.pt\\)"):
        figure_shape(state, "analogies")
    state.set_model(tiny_m2().given(0))
    with pytest.raises(FigureUnavailable, match="need images"):
        figure_with_note(state, "analogies", None)
    state.set_visible_figure("analogies")                  # the work sets no picture and that note
    assert state.figure_arrays["analogies"] is None and "need images" in state.figure_notes["analogies"]


def test_the_rows_are_the_selected_image_then_test_images_as_the_cli_picks_them(explorer):
    state, work = explorer.state, explorer.work
    m2 = tiny_m2()
    state.set_model(m2.given(0))
    examples = example_set()
    state.set_figure_settings(analogy_rows=5, analogy_seed=0)
    inputs = analogy_inputs.analogy_inputs(state, examples)
    assert len(inputs) == 5 and inputs.own is None and inputs.test_rows == 5
    np.testing.assert_array_equal(inputs.pixels, examples.pixels[:5])
    np.testing.assert_array_equal(inputs.labels, examples.labels[:5])

    work.set_drawing(drawing())                            # inline runners: encoded at once
    state.set_figure_settings(analogy_seed=4)
    inputs = analogy_inputs.analogy_inputs(state, examples)
    assert inputs.own == "drawing" and inputs.labels[0] == -1 and inputs.test_rows == 4
    np.testing.assert_array_equal(inputs.pixels[0], state.encodings["drawing"].pixels)
    rows = example_rows(30, 5, 4)[:4]                      # the CLI's --n 5 --seed 4, less one row
    np.testing.assert_array_equal(inputs.pixels[1:], examples.pixels[rows])
    np.testing.assert_array_equal(inputs.labels[1:], examples.labels[rows])
    assert "drawn with seed 4" in inputs.examples_words

    alone = analogy_inputs.analogy_inputs(state, None)     # no test images: the drawing alone
    assert len(alone) == 1 and alone.own == "drawing"
    with torch.inference_mode():
        picture, note = figure_with_note(state, "analogies", None)()
    assert picture.shape == figure_shape(state, "analogies", None) == AnalogiesLayout(1, (1, 28, 28), NAMES).shape
    assert note.startswith("Row 1: drawing, classified as ") and "framed" in note


def test_the_figure_is_the_cores_labelled_picture_of_those_rows(explorer):
    state = explorer.state
    m2 = tiny_m2(seed=2)
    state.set_model(m2.given(5))
    examples = example_set(12)
    state.set_figure_settings(analogy_rows=3)
    with torch.inference_mode():
        picture = figure_function(state, "analogies", examples)()
        rows = analogy_rows(m2, torch.from_numpy(examples.pixels[:3]).float() / 255, labels=examples.labels[:3])
    np.testing.assert_array_equal(picture, analogies_figure(rows, NAMES))
    assert picture.shape == figure_shape(state, "analogies", examples)
    inputs = analogy_inputs.analogy_inputs(state, example_set(12, labels=False))
    assert (inputs.labels == -1).all() and inputs.class_names is None      # no labels: the classifier's guess


def test_the_figure_follows_the_selected_image_its_settings_and_a_new_model(explorer):
    state, work = explorer.state, explorer.work
    state.set_model(tiny_m2().given(0))
    state.set_visible_figure("analogies")
    assert state.figure_arrays["analogies"] is None        # no images yet
    work.set_drawing(drawing(1))                           # shown: computed at once (inline runners)
    first = state.figure_arrays["analogies"]
    assert first is not None and first.shape == AnalogiesLayout(1, (1, 28, 28), NAMES).shape
    state.set_visible_figure(None)                         # not shown: only marked stale
    work.set_drawing(drawing(2))                           # a new stroke: row 1 changed
    assert "analogies" in state.stale_figures
    state.set_visible_figure("analogies")
    second = state.figure_arrays["analogies"]
    assert second is not None and not np.array_equal(second, first)
    state.set_figure_settings(analogy_seed=1)
    assert state.figure_arrays["analogies"] is not second  # computed again (the view is on it)
    snapshot = tiny_m2(seed=9)
    state.set_model(snapshot.given(0), reset_view=False)   # a newer state of the run being trained
    with torch.inference_mode():
        expected = figure_function(state, "analogies", None)()
    np.testing.assert_array_equal(state.figure_arrays["analogies"], expected)


def test_the_export_writes_the_figure_and_a_vae_gets_a_message(explorer, make_model, tmp_path):
    state, work = explorer.state, explorer.work
    state.set_model(tiny_m2().given(0))
    work.set_examples(lambda: example_set(6))
    assert work.exports.export_figure("analogies", tmp_path / "a.png", scale=2)
    with torch.inference_mode():
        expected = figure_function(state, "analogies", example_set(6))()
    image = np.asarray(Image.open(tmp_path / "a.png"))
    assert image.shape == (2 * expected.shape[0], 2 * expected.shape[1])
    np.testing.assert_array_equal(image[::2, ::2], expected)
    state.set_model(make_model(2))
    assert not work.exports.export_figure("analogies", tmp_path / "b.png")
    assert explorer.messages[-1] == ("Could not export the analogies: Analogies need an M2 model "
                                     "(Train → M2, or open trained/m2-2d.pt)")
    assert not (tmp_path / "b.png").exists()


def test_a_picked_image_that_does_not_fit_is_not_a_row(explorer):
    state = explorer.state
    state.set_model(tiny_m2().given(0))
    source = ImageSource.of_drawing(np.zeros((28, 28), np.uint8), "blank")
    state.add_encoding(source, None)                       # no pixels (being prepared again): not selected
    assert analogy_inputs.own_image(state) is None
