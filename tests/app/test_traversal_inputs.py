"""The traversal figure of the explorer (issue 11), without Qt: its shape, the order of its rows by
the KL over the examples, the marks of collapsed dimensions, its anchor, span and caption, and
when it must be computed again."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab.app import traversal_inputs
from latentlab.app.examples import ExampleSet
from latentlab.app.figure_work import figure_function, figure_shape, figure_with_note
from latentlab.app.jobs import ImageSource, encode_pixels
from latentlab.core.aggregate import encode_dataset
from latentlab.core.map_figures import COLLAPSED_GREY, TraversalLayout
from latentlab.core.traversal import dimension_kl, traversal

SHAPE = (1, 12, 10)


def collapse(model, dims=()):
    """The encoder's means spread out (an untrained one's KL is below 0.01 nats everywhere), and
    q(z_u|x) = N(0, 1) for every x in `dims`: KL exactly 0 there."""
    last = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)][-1]
    d = model.latent_dim
    with torch.no_grad():
        last.weight[:d] *= 20.0
        for u in dims:
            for row in (u, d + u):
                last.weight[row] = 0.0
                last.bias[row] = 0.0
    return model


def example_set(n=30, seed=1, total=None):
    g = np.random.default_rng(seed)
    pixels = (g.random((n, *SHAPE)) < 0.3).astype(np.uint8) * 255
    return ExampleSet("mnist", "test split", pixels, np.arange(n), None, (), "dynamic", total or n)


def compute(state, examples=None):
    with torch.inference_mode():
        return figure_with_note(state, "traversal", examples)()


def rows_of(picture, layout):
    """Each row's first image (to tell rows apart) and its strip's grey."""
    return [(picture[layout.row_y(r):layout.row_y(r) + layout.h, layout.column_x(0):layout.column_x(0) + layout.w],
             int(picture[layout.row_y(r), layout.strip_x])) for r in range(layout.rows)]


def test_rows_are_ordered_by_the_kl_over_the_examples_and_collapsed_ones_are_marked(explorer, make_model):
    state = explorer.state
    model = collapse(make_model(5, image_shape=SHAPE), [1, 3])
    state.set_model(model)
    state.set_figure_settings(traversal_steps=4)
    examples = example_set()
    picture, note = compute(state, examples)
    layout = TraversalLayout(5, 4, SHAPE)
    assert picture.shape == figure_shape(state, "traversal") == layout.shape

    with torch.no_grad():
        kl = dimension_kl(*encode_dataset(model, torch.from_numpy(examples.pixels)))
        expected = traversal(model, np.zeros(5), steps=4, kl=kl)
    assert kl.active.tolist() == [True, False, True, False, True]
    order = expected.dims
    assert order[-2:] in ([1, 3], [3, 1]) and kl.kl[order[:3]].tolist() == sorted(kl.kl[order[:3]].tolist(),
                                                                                       reverse=True)
    for r, (image, strip) in enumerate(rows_of(picture, layout)):
        np.testing.assert_array_equal(image, (expected.images[r, 0, 0].clamp(0, 1) * 255).round().byte().numpy())
        assert strip == (COLLAPSED_GREY if r >= 3 else 255)
    active = ", ".join(f"z{i + 1}" for i in order[:3])
    assert note.startswith(f"3 of 5 dimensions active (KL ≥ 0.01 nats): {active}; collapsed ones grey")
    assert "KL over 30 test images" in note and "around z = 0 (no image encoded)" in note


def test_without_examples_the_anchor_image_orders_the_rows_else_dimension_order(explorer, make_model):
    state = explorer.state
    model = make_model(3, image_shape=SHAPE)
    state.set_model(model)
    picture, note = compute(state)
    layout = TraversalLayout(3, 7, SHAPE)
    assert picture.shape == layout.shape
    assert (picture[layout.images_y:, layout.strip_x:layout.strip_x + 3] == 0).all()       # no KL: no marks
    assert note.startswith("Rows in dimension order: no test images and no encoded image")

    pixels = example_set(1).pixels[0]
    state.add_encoding(ImageSource.of_pixels("digit.png", pixels), pixels)
    encoding = state.detailed_encoding()
    assert encoding is not None and encoding.name == "digit.png"
    picture, note = compute(state)
    posterior = encoding.posterior
    kl = dimension_kl(torch.tensor(posterior.mu)[None], torch.tensor(posterior.logvar)[None])
    with torch.no_grad():
        expected = traversal(model, posterior.mu, steps=7, kl=kl)
    for r, (image, _) in enumerate(rows_of(picture, layout)):
        np.testing.assert_array_equal(image, (expected.images[r, 0, 0].clamp(0, 1) * 255).round().byte().numpy())
    assert "KL of digit.png's posterior alone" in note and "around the posterior mean of digit.png" in note


def test_anchor_and_span_settings(explorer, make_model):
    state = explorer.state
    state.set_model(make_model(3, image_shape=SHAPE))
    pixels = example_set(1).pixels[0]
    state.add_encoding(ImageSource.of_pixels("digit.png", pixels), pixels)
    posterior = state.detailed_encoding().posterior
    state.set_figure_settings(traversal_span="posterior")
    inputs = traversal_inputs.traversal_inputs(state)
    np.testing.assert_array_equal(inputs.anchor, posterior.mu)
    assert inputs.span == "posterior" and inputs.span_note == ""
    assert "posterior mean ± 3σ" in compute(state)[1]

    state.set_figure_settings(traversal_anchor="origin")
    inputs = traversal_inputs.traversal_inputs(state)
    assert not inputs.anchor.any() and inputs.span == traversal_inputs.SPAN      # no posterior at 0: ±3
    assert "swept over ±3 instead" in compute(state)[1]

    pin = state.add_pin([0.5, -1.0, 2.0])
    state.set_plane_choice(anchor=pin.id)
    state.set_figure_settings(traversal_anchor="plane")
    inputs = traversal_inputs.traversal_inputs(state)
    np.testing.assert_array_equal(inputs.anchor, [0.5, -1.0, 2.0])
    assert inputs.anchor_words == "the plane's anchor, pin 1"
    with pytest.raises(ValueError, match="traversal span must be one of"):
        state.set_figure_settings(traversal_span="wide")


def test_at_most_example_cap_images_are_encoded_and_the_caption_says_how_many(explorer, make_model, monkeypatch):
    monkeypatch.setattr(traversal_inputs, "EXAMPLE_CAP", 7)
    state = explorer.state
    state.set_model(make_model(2, image_shape=SHAPE))
    inputs = traversal_inputs.traversal_inputs(state, example_set(20, total=10_000))
    assert len(inputs.examples) == 7
    assert inputs.examples_words == "the first 7 of 10,000 mnist test split images"
    assert "KL over 7 test images" in compute(state, example_set(20, total=10_000))[1]
    other = ExampleSet("mnist", "test split", np.zeros((3, 1, 28, 28), np.uint8), np.arange(3), None, (), "dynamic", 3)
    assert traversal_inputs.traversal_inputs(state, other).examples is None     # another image shape: not used


def test_the_work_computes_it_when_shown_and_again_when_its_anchor_moves(explorer, make_model, tmp_path):
    state, work = explorer.state, explorer.work
    model = collapse(make_model(3, image_shape=SHAPE))
    examples = example_set()
    work.set_examples(lambda: examples)
    state.set_model(model)
    assert state.figure_arrays["traversal"] is None                    # not shown: not computed
    state.set_visible_figure("traversal")
    first = state.figure_arrays["traversal"]
    assert first.shape == figure_shape(state, "traversal")
    assert state.figure_notes["traversal"].startswith("3 of 3 dimensions active") and "30 test images" in \
        state.figure_notes["traversal"]

    pixels = examples.pixels[4]
    state.add_encoding(ImageSource.of_pixels("test image 4", pixels), pixels)       # the new anchor
    assert "traversal" not in state.stale_figures and not np.array_equal(state.figure_arrays["traversal"], first)
    with torch.inference_mode():
        mu = encode_pixels(model, pixels).mu
    np.testing.assert_array_equal(traversal_inputs.traversal_inputs(state, examples).anchor, mu)

    state.set_visible_figure(None)
    state.set_model(make_model(3, image_shape=SHAPE, seed=1), reset_view=False)      # a training snapshot
    assert "traversal" in state.stale_figures

    assert work.exports.export_figure("traversal", tmp_path / "t.png", scale=2)
    height, width = figure_shape(state, "traversal")
    assert Image.open(tmp_path / "t.png").size == (2 * width, 2 * height)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "t.png"))[::2, ::2],
                                  figure_function(state, "traversal", examples)())
    assert explorer.messages[-1].startswith("Saved the traversal")
