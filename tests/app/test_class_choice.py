"""Exploring an M2 / M1+M2 by class, without Qt (issue 12): the state shows the model as one class
at a time, a class switch is a new model that keeps the view, pins and images; an encoded image
gets q(y|x) and the style of its *own* predicted class; what is exact about it is of that class;
an M1+M2, which has no image likelihood, says so instead of failing. Tiny untrained models only."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from latentlab.app import example_metrics
from latentlab.app.examples import ExampleSet
from latentlab.app.class_choice import NO_LIKELIHOOD, class_caption, ellipse_label, model_for_image
from latentlab.app.explorer_state import DRAWING, ExplorerState
from latentlab.app.explorer_work import ExplorerWork
from latentlab.app.geometry_layers import GeometryLayers
from latentlab.app.geometry_work import GeometryWork
from latentlab.app.ground_truth import GroundTruthState, posterior_caption
from latentlab.app.ground_truth_work import COARSE, GroundTruthWork
from latentlab.app.job_queue import InlineRunner
from latentlab.app.jobs import ImageSource, ReadImage, decode_point
from latentlab.app.paths import compare_paths
from latentlab.core.exact import posterior_picture
from latentlab.core.m2 import M1M2, ClassConditioned, M2Config, PixelM2
from latentlab.core.models import VAEConfig

import image_files as files


class HeldRunner:
    """Keeps every job until the test runs it (as tests/app/test_ground_truth.py's)."""

    def __init__(self):
        self.jobs = []

    def submit(self, slot, fn, on_done, *, priority=10, on_error=None):
        self.jobs = [job for job in self.jobs if job.slot != slot] + [SimpleNamespace(slot=slot, fn=fn,
                                                                                      on_done=on_done)]

    def cancel(self, slot):
        pass

    def slots(self):
        return [job.slot for job in self.jobs]

    def run(self, slot):
        job = next(job for job in self.jobs if job.slot == slot)
        self.jobs.remove(job)
        with torch.inference_mode():
            value = job.fn()
        job.on_done(value)
        return value


def tiny_m2(seed: int = 0, num_classes: int = 10, latent_dim: int = 2) -> PixelM2:
    torch.manual_seed(seed)
    return PixelM2(M2Config(latent_dim=latent_dim, num_classes=num_classes, hidden_sizes=(16,),
                            classifier_hidden=(16,))).eval()


def tiny_m1m2(seed: int = 0) -> M1M2:
    torch.manual_seed(seed)
    m1 = VAEConfig(latent_dim=4, hidden_sizes=(16,)).to_dict()
    return M1M2(M2Config(latent_dim=2, hidden_sizes=(16,), classifier_hidden=(16,), likelihood="gaussian",
                         m1=m1)).eval()


def stroke() -> np.ndarray:
    grey = np.zeros((28, 28), np.uint8)
    grey[4:24, 12:16] = 255
    return grey


def as_input(grey: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(grey.astype(np.float32) / 255.0)[None, None]


def explorer_on(model, **kwargs):
    state = ExplorerState()
    messages: list[str] = []
    changes = []
    state.events.message.connect(messages.append)
    state.events.model.connect(changes.append)
    work = ExplorerWork(state, InlineRunner(), InlineRunner())
    state.set_model(model, **kwargs)
    return SimpleNamespace(state=state, work=work, messages=messages, changes=changes)


# -- the state -------------------------------------------------------------------------------------------
def test_an_m2_is_shown_as_its_selected_class_and_hover_decodes_that_class():
    m2 = tiny_m2()
    ex = explorer_on(m2)
    state = ex.state
    assert state.semi_model is m2 and state.selected_class == 0
    assert isinstance(state.model, ClassConditioned) and state.model.y == 0
    assert state.class_names == [str(k) for k in range(10)]
    z = np.array([0.4, -0.7])
    state.set_hover(z)
    with torch.no_grad():
        np.testing.assert_array_equal(state.hover_image, decode_point(m2.given(0), z))
        images = {}
        for k in (3, 5):
            state.set_selected_class(k)
            assert state.model.y == k
            np.testing.assert_array_equal(state.hover_image, decode_point(m2.given(k), z))
            images[k] = state.hover_image.copy()
    assert not np.array_equal(images[3], images[5])         # the same style, drawn as another digit
    assert class_caption(state).startswith("M2: class 5 — hover draws a 5")


def test_a_class_switch_is_a_new_model_that_keeps_the_view_pins_and_images():
    ex = explorer_on(tiny_m2())
    state = ex.state
    pin = state.add_pin([0.5, 0.5])
    ex.work.set_drawing(stroke())
    encoding = state.encodings[DRAWING]
    mu = encoding.posterior.mu.copy()
    resets = []
    state.events.view_reset.connect(lambda: resets.append(1))
    generation, plane = state.model_generation, state.plane
    state.set_selected_class(7)
    change = ex.changes[-1]
    assert change.class_switch and change.snapshot and change.generation == generation + 1
    assert state.model_generation == generation + 1 and state.weights_generation < state.model_generation
    assert resets == [] and state.plane is plane                   # the view stays where it was
    assert state.pins == [pin] and state.encodings[DRAWING] is encoding
    np.testing.assert_array_equal(state.encodings[DRAWING].posterior.mu, mu)    # its own style, still
    with torch.no_grad():
        np.testing.assert_array_equal(state.pin_images[pin.id], decode_point(state.semi_model.given(7), pin.z))
    state.set_selected_class(7)                                    # the same class: nothing happens
    assert state.model_generation == generation + 1


def test_the_class_is_kept_for_a_new_snapshot_clamped_to_its_range_and_checked():
    ex = explorer_on(tiny_m2())
    state = ex.state
    state.set_selected_class(8)
    state.set_model(tiny_m2(seed=1), reset_view=False)             # a newer state of the run
    assert state.selected_class == 8 and state.model.y == 8
    state.set_model(tiny_m2(num_classes=4), reset_view=False)
    assert state.selected_class == 3 and state.class_names == ["0", "1", "2", "3"]
    for bad in (4, -1, "2", 1.0, True):
        with pytest.raises(ValueError, match="0..3"):
            state.set_selected_class(bad)
    assert state.selected_class == 3


def test_class_names_come_from_the_data_or_the_scatter():
    names = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot"]
    ex = explorer_on(tiny_m2(), class_names=names)
    assert ex.state.class_names == names
    ex.state.set_model(tiny_m2(seed=2), reset_view=False)           # a snapshot brings none: kept
    assert ex.state.class_names == names
    scatter = {"scatter_means": np.zeros((3, 2)), "scatter_labels": np.arange(3), "label_names": names[::-1]}
    ex.state.set_model(tiny_m2(), scatter)
    assert ex.state.class_names == names[::-1]
    ex.state.set_selected_class(1)
    assert "class Bag — hover draws a Bag" in class_caption(ex.state)


def test_a_vae_is_shown_as_before(make_model):
    vae = make_model(2)
    ex = explorer_on(tiny_m2())
    ex.state.set_model(vae)
    state = ex.state
    assert state.model is vae and state.semi_model is None and state.class_names == []
    assert class_caption(state) == ""
    with pytest.raises(ValueError, match="VAE"):
        state.set_selected_class(1)
    ex.work.read_files([files.sample("mnist", 3)])
    encoding = next(iter(state.encodings.values()))
    assert encoding.class_probs is None and ex.messages[-1].startswith(f"Encoded {encoding.name}: posterior mean")
    assert ellipse_label(state, encoding, "x") == "x" and model_for_image(state, encoding) is vae


# -- encoded images --------------------------------------------------------------------------------------
def test_an_encoded_image_gets_q_y_x_and_the_style_of_its_own_predicted_class():
    m2 = tiny_m2()
    x = as_input(stroke())
    with torch.no_grad():
        probs = torch.softmax(m2.classify(x).double(), -1)[0].numpy()
    predicted = int(np.argmax(probs))
    other = (predicted + 1) % 10
    ex = explorer_on(m2)
    ex.state.set_selected_class(other)                    # the canvas shows another class than the image's
    source = ImageSource.of_drawing(stroke(), "stroke")          # as if read from a file called "stroke"
    ex.work.read(lambda shape: ReadImage(source, source.prepare(shape)))
    encoding = next(iter(ex.state.encodings.values()))
    np.testing.assert_allclose(encoding.class_probs, probs, atol=1e-6)
    with torch.no_grad():
        own = m2.encode(x, torch.tensor([predicted]))[0][0].double().numpy()
        shown = m2.encode(x, torch.tensor([other]))[0][0].double().numpy()
        reconstruction = decode_point(m2.given(predicted), own)
    np.testing.assert_allclose(encoding.posterior.mu, own, atol=1e-5)
    assert not np.allclose(own, shown, atol=1e-3)
    np.testing.assert_array_equal(encoding.posterior.reconstruction, reconstruction)
    name, p = str(predicted), probs[predicted]
    assert ex.messages[-1].startswith(f"Encoded stroke as {name} · {p:.2f}: posterior mean")
    assert ellipse_label(ex.state, encoding, "stroke") == f"stroke: {name} · {p:.2f}"
    assert model_for_image(ex.state, encoding).y == predicted


def test_the_true_posterior_is_of_the_images_own_class_and_a_class_switch_recomputes_nothing():
    m2 = tiny_m2()
    live, exact_runner = HeldRunner(), HeldRunner()
    ex = explorer_on(m2)
    truth = GroundTruthState()
    GroundTruthWork(ex.state, truth, live, exact_runner, InlineRunner())
    ex.work.set_drawing(stroke())
    predicted = int(np.argmax(ex.state.encodings[DRAWING].class_probs))
    ex.state.set_selected_class((predicted + 3) % 10)
    picture = live.run(COARSE)
    with torch.inference_mode():
        own = posterior_picture(m2.given(predicted), as_input(stroke()), coarse=True)
        shown = posterior_picture(m2.given((predicted + 3) % 10), as_input(stroke()), coarse=True)
    assert picture.log_px == pytest.approx(float(own.log_px), abs=1e-6)
    assert abs(float(shown.log_px) - float(own.log_px)) > 1e-3
    asked = exact_runner.slots()
    ex.state.set_selected_class((predicted + 5) % 10)
    assert live.slots() == [] and exact_runner.slots() == asked and truth.picture is picture


def test_the_examples_table_measures_each_image_as_its_own_predicted_class():
    m2 = tiny_m2()
    rng = np.random.default_rng(0)
    pixels = (rng.random((4, 1, 28, 28)) > 0.7).astype(np.uint8) * 255
    with torch.inference_mode():
        predicted = m2.predict(torch.from_numpy(pixels.astype(np.float32) / 255.0)).numpy()
        columns = example_metrics.bound_columns(m2.given(0), pixels, iw_k=20)
        again = example_metrics.bound_columns(m2.given(4), pixels, iw_k=20)      # whichever class is shown
        for i in range(len(pixels)):
            one = example_metrics.bound_columns(m2.given(int(predicted[i])), pixels[i:i + 1], iw_k=20)
            assert columns["neg_elbo"][i] == pytest.approx(one["neg_elbo"][0], rel=1e-5)
    np.testing.assert_allclose(columns["neg_elbo"], again["neg_elbo"])
    assert np.isfinite(columns["iw_nll"]).all()


# -- M1+M2: no likelihood of an image ---------------------------------------------------------------------
def test_m1m2_exact_paths_give_a_message_not_an_exception(make_model):
    m1m2 = tiny_m1m2()
    ex = explorer_on(m1m2)
    truth, live, exact_runner = GroundTruthState(), HeldRunner(), HeldRunner()
    work = GroundTruthWork(ex.state, truth, live, exact_runner, InlineRunner())
    ex.work.set_drawing(stroke())
    assert ex.state.encodings[DRAWING].class_probs.shape == (10,)
    assert live.slots() == exact_runner.slots() == []      # no picture, no gaps asked for
    assert truth.selected == DRAWING and not truth.gaps_pending and truth.gaps is None
    assert truth.gaps_error == NO_LIKELIHOOD and posterior_caption(truth) == NO_LIKELIHOOD
    assert not truth.exact_available
    pixels = np.zeros((3, 1, 28, 28), np.uint8)
    truth.set_examples(ExampleSet("mnist", "sample images", pixels, np.arange(3), None, (), "dynamic", 3))
    work.start_table()
    assert truth.table is None and truth.progress.text() == NO_LIKELIHOOD
    assert not any("Could not" in m or "Error" in m for m in ex.messages)
    ex.state.set_selected_class(2)                         # the hover and pins still work
    assert ex.state.hover_image is not None
    ex.state.set_model(make_model(2))                      # and a VAE afterwards has its ground truth again
    assert truth.unavailable == "" and truth.gaps_pending and live.slots() == [COARSE]


def test_m1m2_geometry_layers_and_paths_are_computed():
    """The decoder of an M1+M2 view (M2 into M1's decoder) has Jacobians and geodesics like a VAE's."""
    ex = explorer_on(tiny_m1m2())
    state = ex.state
    truth, layers = GroundTruthState(), GeometryLayers()
    GeometryWork(state, layers, truth, InlineRunner(), magnification_n=8, aggregate_n=16, surgery_samples=50)
    layers.set_shown(magnification=True)
    assert layers.magnification is not None and np.isfinite(layers.magnification.log_magnification).all()
    state.set_selected_class(4)                            # another class: its own map
    assert layers.magnification.generation == state.model_generation
    assert not any("Could not" in m or "Error" in m for m in ex.messages)
    with torch.inference_mode():                           # as the paths' runner runs it (fewer segments)
        comparison = compare_paths(state.model, np.array([-1.0, 0.5]), np.array([1.0, -0.5]), segments=4)
    assert all(np.isfinite(v) and v > 0 for v in comparison.lengths.values())
