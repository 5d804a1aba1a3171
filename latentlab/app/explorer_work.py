"""The background work that keeps an ExplorerState's pictures current, without Qt.

It listens to the state: a new hover point, pins, images, a new model or a figure to show become
jobs (app/jobs.py) on two latest-wins runners, one for the model (one torch thread) and one for
reading image files (Pillow only, so a big photo being read never delays a hover). Each job brings
its result back to the state through its own callback, with the model generation it started
under, so a result of an older model is dropped there.

On a new model everything shown is computed again: the hover image, the pins' images, every
image's posterior (its pixels first prepared again from the original when the image shape
changed) and the visible figure. What could not be kept is named in one status message, after
the images have been prepared again (so it follows the window's "Opened ..." message).
"""

from __future__ import annotations

import itertools
import threading
from functools import partial

import numpy as np

from latentlab.core.images import ImageError

from . import jobs
from .explorer_state import DRAWING, ExplorerState, ModelChange
from .analogy_inputs import AnalogyRowsFollower
from .figure_work import FigureExports, FigureUnavailable, figure_with_note
from .interrupt import Interrupted, run_stoppable
from .job_queue import JobRunner
from .paths import compare_paths
from .traversal_inputs import traversal_inputs

HOVER_PRIORITY, ENCODE_PRIORITY, BACKGROUND_PRIORITY = 0, 5, 10
HOVER, PINS, REPORT, PATHS = "hover", "pins", "model change report", "paths"   # slots; per-image slots are tuples


class ExplorerWork:
    def __init__(self, state: ExplorerState, model_runner: JobRunner, reader: JobRunner,
                 paths_runner: JobRunner | None = None):
        self.state = state
        self.model_runner = model_runner
        self.reader = reader
        # The geodesic takes 0.2-1 s of optimisation: on a runner of its own, so it never holds
        # up a hover decode (default: the model runner, for tests that pass only two).
        self.paths_runner = paths_runner or model_runner
        self._paths_asked = None            # (generation, z0, z1) of the paths asked for last
        self._paths_stop = threading.Event()   # stops the geodesic in flight (newer ends, closing)
        self._sample_seeds = itertools.count(1)
        self._reads = itertools.count(1)
        self._dropped: list[str] = []       # to report once the images of a new model are prepared
        # Figures and canvas pictures written to files: computed on the model runner, written on the reader.
        self.exports = FigureExports(state, model_runner, reader)
        self._traversal_key = None          # the anchor of the traversal last computed
        self._analogy_rows = AnalogyRowsFollower(state)   # the analogies follow the selected image
        events = state.events
        events.model.connect(self._on_model)
        events.hover.connect(self.decode_hover)
        events.show_sample.connect(self.decode_hover)
        events.pins.connect(self.decode_pins)
        events.pixels.connect(self.encode)
        events.figures.connect(self.update_visible_figure)
        # The ends can change or move while the strip waits for its geodesic (no path either side:
        # no `path` event), so their own events ask too; compare_paths asks once per ends and model.
        for event in (events.path, events.endpoints, events.posterior):
            event.connect(self.compare_paths)
        for event in (events.plane, events.encodings, events.posterior):
            event.connect(self._check_traversal_anchor)

    # ============================================================================ a new model
    def _on_model(self, change: ModelChange) -> None:
        if change.model is None:
            self.model_runner.cancel(HOVER)
            return
        self.decode_hover()
        self.decode_pins()
        self.compare_paths()
        for encoding in list(self.state.encodings.values()):
            if encoding.pixels is not None:
                self.encode(encoding.id)
        self._dropped.extend(change.dropped)
        self._reprepare(change.reprepare, change.generation)

    def _reprepare(self, encoding_ids, generation: int) -> None:
        """Prepare images again from their originals for the current model's image shape; then
        say in one message what was dropped (the report runs after them: same priority, later)."""
        shape = tuple(self.state.model.image_shape)
        for encoding_id in encoding_ids:
            encoding = self.state.encodings.get(encoding_id)
            if encoding is None:
                continue
            self.reader.submit(("prepare", encoding_id), partial(encoding.source.prepare, shape),
                               partial(self._on_prepared, encoding_id, generation), priority=ENCODE_PRIORITY,
                               on_error=partial(self._on_prepare_failed, encoding_id, generation))
        if self._dropped or encoding_ids:
            self.reader.submit(REPORT, lambda: None, partial(self._report, generation),
                               priority=ENCODE_PRIORITY, on_error=self._model_error)

    def _on_prepared(self, encoding_id: str, generation: int, prepared) -> None:
        self.state.set_pixels(encoding_id, prepared.pixels, generation)

    def _on_prepare_failed(self, encoding_id: str, generation: int, error: BaseException) -> None:
        encoding = self.state.encodings.get(encoding_id)
        if encoding is None or not self.state.is_current(generation):
            return
        # An ImageError's message names the file already ("x.png no longer exists ...").
        self._dropped.append(str(error) if isinstance(error, ImageError)
                             else f"{encoding.name} ({type(error).__name__}: {error})")
        self.state.remove_encoding(encoding_id)

    def _report(self, generation: int, _=None) -> None:
        if not self.state.is_current(generation) or not self._dropped:
            return
        dropped, self._dropped = self._dropped, []
        model = self.state.model
        shape = " x ".join(str(s) for s in model.image_shape)
        self.state.message(f"Dropped what does not fit the new model ({model.latent_dim}-D, images {shape}): "
                           + "; ".join(dropped))

    # ============================================================================ hover and pins
    def decode_hover(self) -> None:
        """Decode the latent shown (the mouse's, or the plane's origin). On every mouse move."""
        state = self.state
        model, z = state.model, state.shown_latent()
        if model is None or z is None:
            return
        sample = state.show_sample
        seed = next(self._sample_seeds) if sample else None
        self.model_runner.submit(HOVER, lambda: jobs.decode_point(model, z, sample, seed),
                                 partial(state.set_hover_image, generation=state.model_generation),
                                 priority=HOVER_PRIORITY, on_error=self._model_error)

    def decode_pins(self) -> None:
        state = self.state
        model, pins = state.model, list(state.pins)
        if model is None:
            return
        ids = [p.id for p in pins]
        zs = np.array([p.z for p in pins])
        self.model_runner.submit(PINS, lambda: jobs.decode_points(model, zs) if len(zs) else [],
                                 partial(self._on_pin_images, ids, state.model_generation),
                                 priority=BACKGROUND_PRIORITY, on_error=self._model_error)

    def _on_pin_images(self, ids, generation, images) -> None:
        self.state.set_pin_images(ids, images, generation)

    # ============================================================================ images
    def read_files(self, paths) -> None:
        """Read, prepare and encode image files (drops, File > Encode image...)."""
        for path in paths:
            self.read(lambda shape, p=str(path): jobs.read_file(p, shape))

    def read(self, read_fn) -> None:
        """Run `read_fn(image_shape) -> jobs.ReadImage` on the reader, then show and encode the image."""
        if self.state.model is None:
            self.state.message("Open a model first: there is nothing to encode with")
            return
        shape = tuple(self.state.model.image_shape)
        slot = ("read", next(self._reads))      # every file its own slot: none replaces another
        self.reader.submit(slot, partial(read_fn, shape), self._on_read, priority=ENCODE_PRIORITY,
                           on_error=self._read_error)

    def _on_read(self, read: jobs.ReadImage) -> None:
        state = self.state
        if state.model is None:
            return
        pixels = read.prepared.pixels
        if pixels.shape != tuple(state.model.image_shape):
            # The model changed while the file was read: prepare it again for this one.
            encoding = state.add_encoding(read.source, None, read.prepared.notes)
            self._reprepare([encoding.id], state.model_generation)
            return
        state.add_encoding(read.source, pixels, read.prepared.notes)

    def _read_error(self, error: BaseException) -> None:
        self.state.message(str(error) if isinstance(error, ImageError)
                           else f"Could not read the image: {type(error).__name__}: {error}")

    def set_drawing(self, grey) -> None:
        """The drawing pad's pixels (uint8 (H, W)); an empty pad removes the drawing."""
        state = self.state
        if state.model is None:
            return
        if not grey.any():
            state.remove_encoding(DRAWING)
            return
        source = jobs.ImageSource.of_drawing(grey)
        try:
            prepared = source.prepare(state.model.image_shape)
        except ValueError as e:      # the pad has not followed the model's image size yet
            state.message(str(e))
            return
        state.add_encoding(source, prepared.pixels, encoding_id=DRAWING)

    def encode(self, encoding_id: str) -> None:
        state = self.state
        encoding = state.encodings.get(encoding_id)
        if state.model is None or encoding is None or encoding.pixels is None:
            return
        # An M2 encodes with the whole model: q(y|x), and the style of the class it reads (jobs.encode_pixels).
        model = state.model if state.semi_model is None else state.semi_model
        pixels = encoding.pixels
        self.model_runner.submit(("encode", encoding_id), lambda: jobs.encode_pixels(model, pixels),
                                 partial(self._on_encoded, encoding_id, state.model_generation),
                                 priority=ENCODE_PRIORITY, on_error=self._model_error)

    def _on_encoded(self, encoding_id: str, generation: int, posterior: jobs.Posterior) -> None:
        self.state.set_posterior(encoding_id, posterior, generation)

    # ============================================================================ figures
    def set_examples(self, examples) -> None:
        """`examples() -> app.examples.ExampleSet | None`: the test images that order the
        traversal's rows (the explorer's examples; the view says when they change)."""
        self.exports.examples = examples

    def update_visible_figure(self) -> None:
        """Compute the figure shown, if it is stale (the exports use the same figure_function)."""
        state = self.state
        name = state.claim_stale_visible_figure()
        if name is None:
            return
        generation = state.model_generation
        if name == "interpolation" and state.path is None:
            if not state.geodesic_pending():     # else: computed when the geodesic arrives
                state.set_figure_array(name, None, generation)
            return
        examples = self.exports.examples()
        try:
            fn = figure_with_note(state, name, examples)
        except FigureUnavailable as e:      # the analogies of a VAE, or without images: the page says why
            state.set_figure_array(name, None, generation, str(e))
            return
        if name == "interpolation":
            state.show_path()
        if name == "traversal":
            self._traversal_key = traversal_inputs(state, examples).anchor_key()
        self.model_runner.submit(("figure", name), fn, partial(self._on_figure, name, generation),
                                 priority=BACKGROUND_PRIORITY, on_error=self._model_error)

    def _on_figure(self, name: str, generation: int, result) -> None:
        array, note = result
        self.state.set_figure_array(name, array, generation, note)

    def _check_traversal_anchor(self, *_) -> None:
        """The traversal follows its anchor (the selected image, the plane's anchor), which moves
        with the images and the plane: stale when the anchor it was computed at is no longer it."""
        state = self.state
        if state.model is None or self._traversal_key is None or "traversal" in state.stale_figures:
            return
        if traversal_inputs(state, self.exports.examples()).anchor_key() != self._traversal_key:
            self._traversal_key = None
            state.refresh_figure("traversal")

    # ============================================================================ the three paths
    def compare_paths(self, *_) -> None:
        """The straight line, slerp and the geodesic between the interpolation's ends, with their
        decoded lengths (app/paths.py), once per model and pair of ends, while they are wanted."""
        state = self.state
        if state.model is None or not state.paths_wanted():
            return
        z0, z1 = state.end_points()
        key = (state.model_generation, z0.tobytes(), z1.tobytes())
        if key == self._paths_asked:
            return
        self._paths_asked = key
        self._paths_stop.set()              # the geodesic of older ends or an older model is of no use
        self._paths_stop = threading.Event()
        model, generation = state.model, state.model_generation
        self.paths_runner.submit(PATHS, partial(run_stoppable, model, self._paths_stop, compare_paths, model,
                                                z0.copy(), z1.copy(), generation),
                                 state.set_path_comparison, priority=BACKGROUND_PRIORITY,
                                 on_error=self._paths_error)

    def stop(self) -> None:
        """Stop the geodesic in flight at its next decoder call (the window is closing)."""
        self._paths_stop.set()

    def _paths_error(self, error: BaseException) -> None:
        if isinstance(error, Interrupted):
            return                          # stopped on purpose: newer ends asked, or closing
        self._paths_asked = None            # asked again at the next change
        self.state.message(f"Could not find the geodesic: {type(error).__name__}: {error}")

    # ============================================================================ errors
    def _model_error(self, error: BaseException) -> None:
        self.state.message(f"Model error: {type(error).__name__}: {error}")
