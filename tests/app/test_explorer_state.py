"""ExplorerState's rules, without Qt and without background work: stable ids for pins, anchors and
interpolation ends; what a new model keeps and drops; the events each change sends."""

from __future__ import annotations

import numpy as np
import pytest

from latentlab.app.explorer_state import DRAWING, MAX_PINS, ORIGIN, ExplorerState
from latentlab.app.jobs import ImageSource, Posterior


def recorder(state: ExplorerState) -> list:
    """Every event the state sends, in order, as (name, *args)."""
    seen = []
    for name in state.events.names():
        getattr(state.events, name).connect(lambda *args, n=name: seen.append((n, *args)))
    return seen


def posterior(mu) -> Posterior:
    mu = np.asarray(mu, dtype=np.float64)
    return Posterior(mu, np.zeros_like(mu), np.zeros((28, 28), np.uint8), np.tile(mu, (4, 1)), [])


def encoded(state: ExplorerState, name: str, mu, source: ImageSource | None = None) -> str:
    """An image with a posterior mean `mu`, as the work would leave it."""
    shape = tuple(state.model.image_shape)
    encoding = state.add_encoding(source or ImageSource(name, path=f"/nowhere/{name}"), np.zeros(shape, np.uint8))
    state.set_posterior(encoding.id, posterior(mu), state.model_generation)
    return encoding.id


def test_pins_have_stable_ids_and_an_anchor_stays_on_its_pin_when_older_ones_go(make_model):
    state = ExplorerState()
    state.set_model(make_model(5))
    first = state.add_pin(np.ones(5))
    anchor = state.add_pin(np.arange(5.0))
    state.set_plane_choice(axes=(2, 4), anchor=anchor.id)
    np.testing.assert_allclose(state.plane.to_latent((0.0, 0.0)), [0, 1, 0, 3, 0])   # held at the pin
    for k in range(MAX_PINS - 1):                    # the first pin is pushed out ...
        state.add_pin(np.full(5, k + 2.0))
    assert first.id not in [p.id for p in state.pins] and state.pins[0].id == anchor.id
    assert state.plane_choice.anchor == anchor.id    # ... the anchor is still the same point ("pin 1" now)
    assert ("pin1" not in dict(state.anchor_choices())) and dict(state.anchor_choices())[anchor.id] == "pin 1"
    state.add_pin(np.zeros(5))                       # now the anchor itself goes: back to the origin
    assert state.plane_choice.anchor == ORIGIN
    np.testing.assert_allclose(state.plane.to_latent((0.0, 0.0)), 0)
    with pytest.raises(ValueError, match="5 coordinates"):
        state.add_pin([1.0, 2.0])


def test_picking_the_other_axis_swaps_the_two(make_model):
    state = ExplorerState()
    state.set_model(make_model(4))
    state.set_plane_choice(axes=(1, 1))              # x := 1 (was 0): y takes x's old value
    assert state.plane_choice.axes == (1, 0) and state.plane.labels == ("z2", "z1")
    state.set_plane_choice(axes=(1, 1))              # y := 1 (was 0): x takes y's old value
    assert state.plane_choice.axes == (0, 1)
    with pytest.raises(ValueError, match="do not exist"):
        state.set_plane_choice(axes=(0, 4))


def test_the_pca_plane_falls_back_to_axes_when_the_test_set_goes(make_model):
    state = ExplorerState()
    model = make_model(3)
    rng = np.random.default_rng(0)
    state.set_model(model, {"scatter_means": rng.normal(size=(50, 3)) * [3, 1, 0.1]})
    state.set_plane_choice(kind="pca")
    assert state.plane.kind == "pca" and state.plane.labels == ("PC1", "PC2")
    seen = recorder(state)
    state.set_scatter(None)                           # a new training run: no test set yet
    assert state.plane_choice.kind == "axes" and state.plane.labels == ("z1", "z2")
    assert [e[0] for e in seen] == ["scatter", "plane", "figures"]   # in order, each once


def test_interpolation_ends_are_chosen_by_id_and_keep_the_users_choice(make_model):
    state = ExplorerState()
    state.set_model(make_model(2))
    a, b, c = (state.add_pin(np.full(2, v)) for v in (1.0, 2.0, 3.0))
    assert state.endpoints == (b.id, c.id)            # new candidates: the newest two
    state.set_endpoints(a.id, c.id)
    np.testing.assert_allclose(state.path[[0, -1]], [[1, 1], [3, 3]])
    state.remove_encoding("nothing")                  # no change of candidates: the choice stays
    image = encoded(state, "seven.png", [-1.0, 0.5])  # a new candidate: images come first, pins last
    assert [label for _, label in state.endpoint_choices()] == ["seven.png", "pin 1", "pin 2", "pin 3"]
    assert state.endpoints == (b.id, c.id)
    state.set_endpoints(image, a.id)
    state.clear_pins()                                # its end went: no strip, no path
    assert state.endpoints == (image, image) and state.path is None and state.end_points() is None
    with pytest.raises(ValueError, match="unknown"):
        state.set_endpoints(image, "pin99")


def test_a_snapshot_of_the_same_run_keeps_everything(make_model):
    state = ExplorerState()
    state.set_model(make_model(5), reset_view=True)
    pin = state.add_pin(np.ones(5))
    image = encoded(state, "three.png", np.arange(5.0))
    state.set_plane_choice(axes=(2, 3), anchor=image)
    state.set_hover(np.full(5, 0.5))
    generation = state.model_generation
    seen = recorder(state)
    change = state.set_model(make_model(5, seed=1), reset_view=False)
    assert change.snapshot and change.dropped == () and change.reprepare == ()
    assert state.model_generation == generation + 1
    assert [p.id for p in state.pins] == [pin.id] and list(state.encodings) == [image]
    assert state.plane_choice.axes == (2, 3) and state.plane_choice.anchor == image
    assert state.encodings[image].posterior is not None        # shown until the new one arrives
    np.testing.assert_allclose(state.hover, 0.5)
    assert [e[0] for e in seen] == ["figures", "model"]        # nothing else to redraw
    # A result computed with the previous model arrives late: it is ignored.
    state.set_posterior(image, posterior(np.zeros(5)), generation)
    np.testing.assert_allclose(state.encodings[image].posterior.mu, np.arange(5.0))


def test_a_model_of_another_dimension_and_image_shape_keeps_what_fits(make_model):
    """10-D MNIST-shaped -> 2-D Frey-shaped: pins of 10 coordinates go, files are prepared again
    for 28 x 20, the 28 x 28 drawing goes; the plane, the anchor and the hover start afresh."""
    state = ExplorerState()
    state.set_model(make_model(10))
    state.add_pin(np.ones(10))
    image = encoded(state, "three.png", np.arange(10.0))
    state.add_encoding(ImageSource.of_drawing(np.full((28, 28), 9, np.uint8)), np.zeros((1, 28, 28), np.uint8),
                       encoding_id=DRAWING)
    state.set_plane_choice(axes=(2, 6), anchor=image)
    state.set_hover(np.ones(10))
    seen = recorder(state)
    change = state.set_model(make_model(2, image_shape=(1, 28, 20)))
    assert change.reprepare == (image,) and change.dropped == ("1 pin of another dimension", "the drawing")
    assert state.pins == [] and list(state.encodings) == [image]
    assert state.encodings[image].pixels is None and state.encodings[image].posterior is None
    assert state.plane_choice.anchor == ORIGIN and state.plane.labels == ("z1", "z2")
    assert state.hover is None and state.shown_latent().shape == (2,)
    names = [e[0] for e in seen]
    assert names[-1] == "model" and names.count("model") == 1          # last: the work starts from here
    assert {"pins", "encodings", "plane", "hover", "view_reset"} <= set(names)


def test_a_model_opens_on_the_two_axes_its_test_set_spreads_along_most(make_model):
    """A 20-D model whose z1 collapsed must not open on a line of points."""
    state = ExplorerState()
    rng = np.random.default_rng(0)
    means = rng.normal(size=(200, 5)) * np.array([0.01, 1.0, 0.2, 2.0, 0.5])
    state.set_model(make_model(5), {"scatter_means": means})
    assert state.plane_choice.axes == (3, 1) and state.plane.labels == ("z4", "z2")
    state.set_model(make_model(5))                 # no test set: z1, z2
    assert state.plane_choice.axes == (0, 1)
    state.set_model(make_model(2), {"scatter_means": means[:, :2]})
    assert state.plane.labels == ("z1", "z2")
