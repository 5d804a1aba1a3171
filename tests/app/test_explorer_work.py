"""The explorer's state with its background work, run inline (no threads, no Qt): every picture is
the model's own output, and a new model of another shape re-encodes what fits (issue 8)."""

from __future__ import annotations

import shutil

import numpy as np
import torch

import image_files as files
from latentlab.app import captions
from latentlab.app.explorer_state import DRAWING
from latentlab.app.jobs import decode_point, encode_pixels
from latentlab.core.images import load_image


def posterior_of(model, path):
    x = load_image(path, model.image_shape).to_model_input()
    with torch.no_grad():
        mu, logvar = model.encode(x)
    return mu[0].double().numpy(), logvar[0].double().numpy()


def test_the_shown_latent_and_the_pins_are_decoded_by_the_model(explorer, make_model):
    state, model = explorer.state, make_model(2)
    state.set_model(model)
    with torch.no_grad():
        np.testing.assert_array_equal(state.hover_image, decode_point(model, np.zeros(2)))   # z = 0 at once
        state.set_hover(np.array([1.5, -0.5]))
        np.testing.assert_array_equal(state.hover_image, decode_point(model, [1.5, -0.5]))
        pin = state.add_pin([0.3, 0.3])
        np.testing.assert_array_equal(state.pin_images[pin.id], decode_point(model, [0.3, 0.3]))
    assert captions.readout(state).startswith("z = (+1.50, -0.50)")
    state.set_show_sample(True)
    assert set(np.unique(state.hover_image)) <= {0, 255}                              # a Bernoulli draw


def test_a_file_is_read_prepared_and_encoded(explorer, make_model):
    state, model = explorer.state, make_model(3)
    state.set_model(model)
    explorer.work.read_files([files.sample("mnist", 5)])
    encoding, = state.encodings.values()
    mu, logvar = posterior_of(model, files.sample("mnist", 5))
    np.testing.assert_allclose(encoding.posterior.mu, mu, atol=1e-6)
    np.testing.assert_allclose(encoding.posterior.logvar, logvar, atol=1e-6)
    assert explorer.messages[-1].startswith(f"Encoded {files.sample('mnist', 5).name}: posterior mean")
    assert captions.encoded_hint(state).startswith(files.sample("mnist", 5).name)


def test_a_bad_file_gives_a_message_and_changes_nothing(explorer, make_model, tmp_path):
    state = explorer.state
    state.set_model(make_model(2))
    explorer.work.read_files([files.write_truncated(tmp_path)])
    assert state.encodings == {} and "truncated" in explorer.messages[-1]


def test_the_drawing_is_encoded_as_drawn_and_goes_when_the_pad_is_empty(explorer, make_model):
    state, model = explorer.state, make_model(2)
    state.set_model(model)
    grey = np.zeros((28, 28), np.uint8)
    grey[4:24, 13:15] = 255
    explorer.work.set_drawing(grey)
    with torch.no_grad():
        expected = encode_pixels(model, grey[None]).mu
    np.testing.assert_allclose(state.encodings[DRAWING].posterior.mu, expected)
    assert explorer.messages == []                  # no "Encoded drawing" on every stroke
    explorer.work.set_drawing(np.zeros((28, 28), np.uint8))
    assert DRAWING not in state.encodings


def test_switching_models_re_encodes_what_fits_and_names_what_was_dropped(explorer, make_model, tmp_path):
    """Issue 8: a 10-D MNIST model with an encoded image, a drawing, a pin and the (z3, z7) plane,
    then a 2-D Frey-Face-shaped model: no "mat1 and mat2" model error; the image is prepared again
    from its file at 28 x 20 and encoded; one message names what went; every caption follows."""
    state = explorer.state
    state.set_model(make_model(10))
    kept, vanishing = tmp_path / "kept.png", tmp_path / "vanishing.png"
    shutil.copy(files.sample("mnist", 0), kept)
    shutil.copy(files.sample("mnist", 1), vanishing)
    explorer.work.read_files([kept, vanishing])
    explorer.work.set_drawing(np.full((28, 28), 200, np.uint8))
    state.add_pin(np.ones(10))
    image = next(iter(state.encodings))
    state.set_plane_choice(axes=(2, 6), anchor=image)
    state.set_hover(state.plane.to_latent((0.5, 0.5)))
    assert "(z3, z7)" in captions.manifold(state) and "(10-D)" in captions.readout(state)
    vanishing.unlink()
    explorer.messages.clear()

    frey = make_model(2, image_shape=(1, 28, 20), likelihood="gaussian")
    state.set_model(frey)

    encoding, = state.encodings.values()
    assert encoding.name == "kept.png" and encoding.pixels.shape == (1, 28, 20)
    mu, _ = posterior_of(frey, kept)
    np.testing.assert_allclose(encoding.posterior.mu, mu, atol=1e-6)
    assert state.pins == [] and state.plane.labels == ("z1", "z2") and state.hover_image.shape == (28, 20)
    assert not any("Model error" in m for m in explorer.messages)
    message, = explorer.messages
    assert message.startswith("Dropped what does not fit the new model (2-D, images 1 x 28 x 20)")
    assert "1 pin" in message and "the drawing" in message and "vanishing.png" in message
    assert captions.readout(state) == captions.READOUT_HINT
    assert captions.manifold(state) == captions.MANIFOLD_PAPER
    assert captions.encoded_hint(state).startswith("kept.png:")
    assert captions.interpolation(state) == captions.INTERPOLATION_HINT
    state.clear_encodings()
    assert captions.encoded_hint(state) == captions.ENCODED_HINT


def test_a_snapshot_during_training_keeps_everything_and_re_encodes(explorer, make_model):
    state = explorer.state
    first, second = make_model(2, seed=1), make_model(2, seed=2)
    state.set_model(first)
    explorer.work.read_files([files.sample()])
    pin = state.add_pin([0.5, -0.5])
    explorer.messages.clear()
    state.set_model(second, reset_view=False)
    encoding, = state.encodings.values()
    np.testing.assert_allclose(encoding.posterior.mu, posterior_of(second, files.sample())[0], atol=1e-6)
    with torch.no_grad():
        np.testing.assert_array_equal(state.pin_images[pin.id], decode_point(second, [0.5, -0.5]))
    assert explorer.messages == []                  # nothing dropped, nothing announced again


def test_figures_are_computed_when_shown_and_again_after_a_new_model(explorer, make_model):
    from latentlab.core import figures as core_figures

    state, model = explorer.state, make_model(2)
    state.set_model(model)
    assert state.figure_arrays["manifold"] is None          # not shown: not computed
    state.set_visible_figure("manifold")
    with torch.no_grad():
        np.testing.assert_array_equal(state.figure_arrays["manifold"], core_figures.manifold(model, 20))
    state.set_figure_settings(manifold_size=5)
    assert state.figure_arrays["manifold"].shape == (5 * 28, 5 * 28)
    state.set_visible_figure("interpolation")               # no ends: nothing to show
    assert state.figure_arrays["interpolation"] is None and not state.path_shown
    state.add_pin([-1.0, 0.0])
    state.add_pin([1.0, 0.0])
    assert state.figure_arrays["interpolation"].shape == (28 + 2, 10 * 29 + 1) and state.path_shown
    other = make_model(2, seed=3)
    state.set_model(other)
    with torch.no_grad():
        strip = core_figures.image_grid(other.decode(torch.tensor(state.path, dtype=torch.float32)), 10, 1)
    np.testing.assert_array_equal(state.figure_arrays["interpolation"], strip)


class DeferredRunner:
    """A runner that keeps jobs until `run()`: the order a thread could give them, made explicit."""

    def __init__(self):
        self.jobs = []

    def submit(self, slot, fn, on_done, *, priority=10, on_error=None):
        self.jobs = [job for job in self.jobs if job[0] != slot] + [(slot, fn, on_done, on_error)]   # latest wins

    def cancel(self, slot):
        self.jobs = [job for job in self.jobs if job[0] != slot]

    def run(self):
        while self.jobs:
            slot, fn, on_done, on_error = self.jobs.pop(0)
            with torch.inference_mode():
                try:
                    value = fn()
                except Exception as e:  # noqa: BLE001 - as the queue does
                    on_error(e)
                    continue
            on_done(value)


def test_work_that_finishes_after_a_model_change_is_redone_for_the_new_model(make_model):
    """A file read for the old image shape is prepared again for the new one, not refused."""
    from latentlab.app.explorer_state import ExplorerState
    from latentlab.app.explorer_work import ExplorerWork

    state, model_runner, reader = ExplorerState(), DeferredRunner(), DeferredRunner()
    messages = []
    state.events.message.connect(messages.append)
    work = ExplorerWork(state, model_runner, reader)
    state.set_model(make_model(2))
    work.read_files([files.sample()])
    frey = make_model(2, image_shape=(1, 28, 20))
    state.set_model(frey)                  # while the file is being read at 28 x 28
    reader.run()                           # read at 28 x 28, then prepared again at 28 x 20
    model_runner.run()
    encoding, = state.encodings.values()
    assert encoding.pixels.shape == (1, 28, 20)
    np.testing.assert_allclose(encoding.posterior.mu, posterior_of(frey, files.sample())[0], atol=1e-6)
    assert not any("Model error" in m for m in messages)
