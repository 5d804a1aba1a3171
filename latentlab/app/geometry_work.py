"""The background work behind the geometry layers: magnification maps, q(z) maps and the ELBO surgery.

It listens to the explorer (model, plane), the ground truth (its examples: the test images as the
model was trained on them) and the layers' state (which layers are on, the region the canvas
shows), and asks a runner of its own (one thread, one torch thread: hover decodes never wait
behind a map) for what a layer that is on lacks:

  * a magnification map (core.geometry.magnification_grid, MAGNIFICATION_N^2 Jacobians) of the
    shown plane over the view with a margin (geometry_layers.map_extent), whenever the last one
    asked for is of another model, another plane, or no longer covers the view;
  * the examples encoded (mu, logvar of q(z|x) for each), once per model generation and examples,
    kept here and shared by the two jobs that follow;
  * q(z) on the plane (core.aggregate.aggregate_density) with the prior and its holes, like the map;
  * the ELBO surgery numbers, once per model generation (exact on a grid for 2-D, Monte Carlo
    above with SURGERY_SAMPLES seeded draws: seconds at most for 10,000 images).

Every result carries the request it answers and is dropped unless that request is still the
last one asked for (same model generation, plane and region). A layer switched off cancels its
work (a running magnification stops at its next decoder call: app/interrupt.py). A new model
asks again for what is on; a snapshot of a run being trained keeps the old pictures on screen
until their successors arrive, another model clears them at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from .examples import ExampleSet
from .explorer_state import ExplorerState, ModelChange
from .geometry_layers import (AGGREGATE_N, MAGNIFICATION_N, SURGERY_MAX_SIDE, SURGERY_SAMPLES, SURGERY_SEED,
                              AggregateMap, Extent, GeometryLayers, MagnificationMap, covers, map_extent,
                              outline_segments, same_plane)
from .ground_truth import GroundTruthState
from .interrupt import Interrupted, run_stoppable
from .job_queue import JobRunner
from .plane import LatentPlane

MAGNIFICATION, ENCODE, AGGREGATE, NUMBERS = "magnification map", "encode examples", "aggregate map", "elbo surgery"
DEFAULT_VIEW: Extent = (-3.2, 3.2, -3.2, 3.2)     # before the canvas says what it shows (canvas.DEFAULT_RANGE)


# -- the jobs (plain functions of their inputs, run on the runner's thread) ---------------------------
def _directions(plane: LatentPlane):
    import torch

    return torch.from_numpy(np.ascontiguousarray(plane.basis.T, dtype=np.float64))


def magnification_job(model, plane: LatentPlane, extent: Extent, n: int) -> np.ndarray:
    """log magnification (n, n) of the plane (z = offset + u basis[0] + v basis[1]) over `extent`."""
    from latentlab.core.geometry import magnification_grid

    return magnification_grid(model, extent, n, directions=_directions(plane), anchor=plane.offset).log_magnification


def encode_job(model, examples: ExampleSet):
    """(mu, logvar) of every example, float64 on the CPU. The pixels are already as the model was
    trained on them (binarised once, seed 0): grey levels pass through unchanged."""
    import torch

    from latentlab.core.aggregate import encode_dataset

    return encode_dataset(model, torch.from_numpy(np.ascontiguousarray(examples.pixels)), binarize_mode="grey")


def aggregate_job(mu, logvar, plane: LatentPlane, extent: Extent, n: int):
    """(log q(z) (n, n), hole mask (n, n), the mask's outline) on the plane over `extent`. The plane's
    offset is orthogonal to it, so its coordinates are basis @ z and the prior seen on it is N(0, I_2)."""
    import torch

    from latentlab.core.aggregate import aggregate_density, holes, prior_density

    directions = _directions(plane)
    density, z1, z2 = aggregate_density(mu, logvar, extent, n, directions=directions)
    prior = prior_density(z1, z2)
    mask = holes(density, prior, z1, z2)
    with np.errstate(divide="ignore"):
        log_q = np.log(density.numpy())
    mask = mask.numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
    return log_q, mask, outline_segments(mask, extent)


def surgery_job(mu, logvar, samples: int, seed: int, max_side: int):
    """core.aggregate.elbo_surgery, its Monte Carlo draws seeded (the same numbers every time)."""
    import torch

    from latentlab.core.aggregate import elbo_surgery

    return elbo_surgery(mu, logvar, samples=samples, generator=torch.Generator().manual_seed(seed), max_side=max_side)


# -- requests ------------------------------------------------------------------------------------------
@dataclass(eq=False)
class _Request:
    """One map asked for: identity is what matters (a result is kept only for the last request)."""

    generation: int
    plane: LatentPlane
    extent: Extent
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass(eq=False)
class _Encoded:
    key: tuple                 # (model generation, the ExampleSet object)
    mu: object = None          # (N, D) float64 tensors once encoded
    logvar: object = None


def _fresh(done, generation: int, plane: LatentPlane, view: Extent) -> bool:
    """A map (or request) of this model and plane that covers the view: nothing new to compute."""
    return (done is not None and done.generation == generation and same_plane(done.plane, plane)
            and covers(done.extent, view))


class GeometryWork:
    def __init__(self, explorer: ExplorerState, layers: GeometryLayers, truth: GroundTruthState, runner: JobRunner,
                 magnification_n: int = MAGNIFICATION_N, aggregate_n: int = AGGREGATE_N,
                 surgery_samples: int = SURGERY_SAMPLES):
        self.explorer, self.layers, self.truth, self.runner = explorer, layers, truth, runner
        self.magnification_n, self.aggregate_n = magnification_n, aggregate_n    # smaller in tests
        self.surgery_samples = surgery_samples
        self._magnification: _Request | None = None     # the last map asked for
        self._aggregate: _Request | None = None
        self._encoded: _Encoded | None = None           # being encoded (mu None) or encoded
        self._numbers_key: tuple | None = None          # the (generation, examples) the numbers were asked for
        self._numbers_done: tuple | None = None         # and the key of those that arrived
        self._generation = explorer.model_generation     # the model this work has caught up with
        self._failed: dict[str, str] = {}               # layer -> why its last request failed (not asked again)
        explorer.events.model.connect(self._on_model)
        explorer.events.plane.connect(self.refresh)
        truth.events.examples.connect(self.refresh)
        layers.events.shown.connect(self.refresh)
        layers.events.view.connect(self.refresh)

    # ============================================================================ what is wanted
    def refresh(self) -> None:
        """Ask for what the layers that are on lack; cancel the work of those that are off."""
        explorer, layers = self.explorer, self.layers
        if explorer.model_generation != self._generation:
            return               # a new model's plane or examples event: its model event follows, and asks
        model, shown = explorer.model, layers.shown
        layers.set_note("" if model is not None else "No model: open a checkpoint or train one to see its layers.")
        flat = model is not None and model.latent_dim < 2
        if shown.magnification and model is not None and not flat:
            layers.set_layer_note("magnification", self._failed.get("magnification", ""))
            self._want_magnification()
        else:
            self._drop_magnification()
            layers.set_layer_note("magnification", "magnification needs 2 latent dimensions or more" if flat else "")
        examples = self.truth.examples
        if shown.aggregate and model is not None and examples is not None and len(examples) and not flat:
            layers.set_layer_note("aggregate", self._failed.get("aggregate", ""))
            self._want_aggregate(examples)
        else:
            self._drop_aggregate()
            why = ""
            if flat:
                why = "q(z) on a plane needs 2 latent dimensions or more"
            elif shown.aggregate and model is not None:
                why = f"q(z) needs the test images: {self.truth.examples_note or 'none are loaded'}"
            layers.set_layer_note("aggregate", why)

    def _view(self) -> Extent:
        return self.layers.view or DEFAULT_VIEW

    def _want_magnification(self) -> None:
        explorer, layers = self.explorer, self.layers
        generation, plane, view = explorer.model_generation, explorer.plane, self._view()
        if _fresh(self._magnification, generation, plane, view):
            return                                           # asked for already (or done)
        if self._magnification is None and _fresh(layers.magnification, generation, plane, view):
            return                                           # switched on again over a map that still serves
        if self._magnification is not None:
            self._magnification.stop.set()
        self._failed.pop("magnification", None)
        request = self._magnification = _Request(generation, plane, map_extent(view))
        model = explorer.model
        layers.set_computing("magnification", True)
        self.runner.submit(MAGNIFICATION, partial(run_stoppable, model, request.stop, magnification_job, model,
                                                  plane, request.extent, self.magnification_n),
                           partial(self._on_magnification, request), priority=0,
                           on_error=partial(self._on_error, "magnification", request))

    def _on_magnification(self, request: _Request, log_magnification: np.ndarray) -> None:
        if request is not self._magnification:
            return                                           # an older model, plane or view, or switched off
        self.layers.set_magnification(MagnificationMap(log_magnification, request.extent, request.plane,
                                                       request.generation))
        self.layers.set_computing("magnification", False)

    def _drop_magnification(self) -> None:
        if self._magnification is not None:
            self._magnification.stop.set()
            self._magnification = None
            self.runner.cancel(MAGNIFICATION)
        self.layers.set_computing("magnification", False)

    # ---------------------------------------------------------------------------- q(z)
    def _want_aggregate(self, examples: ExampleSet) -> None:
        explorer, layers = self.explorer, self.layers
        generation = explorer.model_generation
        key = (generation, examples)
        encoded = self._encoded
        if encoded is None or encoded.key != key:
            self._encoded = _Encoded(key)
            layers.set_computing("aggregate", True)
            self.runner.submit(ENCODE, partial(encode_job, explorer.model, examples),
                               partial(self._on_encoded, self._encoded), priority=1,
                               on_error=partial(self._on_error, "aggregate", self._encoded))
            return
        if encoded.mu is None:
            return                                           # the maps follow the encoding
        plane, view = explorer.plane, self._view()
        if not (_fresh(self._aggregate, generation, plane, view)
                or (self._aggregate is None and _fresh(layers.aggregate, generation, plane, view))):
            self._failed.pop("aggregate", None)
            request = self._aggregate = _Request(generation, plane, map_extent(view))
            layers.set_computing("aggregate", True)
            self.runner.submit(AGGREGATE, partial(aggregate_job, encoded.mu, encoded.logvar, plane, request.extent,
                                                  self.aggregate_n),
                               partial(self._on_aggregate, request, len(encoded.mu)), priority=1,
                               on_error=partial(self._on_error, "aggregate", request))
        if self._numbers_key != key:
            self._numbers_key = key                          # the object itself identifies the request
            layers.set_computing("numbers", True)
            self.runner.submit(NUMBERS, partial(surgery_job, encoded.mu, encoded.logvar, self.surgery_samples,
                                                SURGERY_SEED, SURGERY_MAX_SIDE),
                               partial(self._on_numbers, key), priority=2,
                               on_error=partial(self._on_error, "numbers", key))

    def _on_encoded(self, encoded: _Encoded, value) -> None:
        if encoded is not self._encoded:
            return
        encoded.mu, encoded.logvar = value
        self.refresh()

    def _on_aggregate(self, request: _Request, n_images: int, value) -> None:
        if request is not self._aggregate:
            return
        log_q, mask, edges = value
        self.layers.set_aggregate(AggregateMap(log_q, mask, request.extent, request.plane, request.generation,
                                               n_images, edges))
        self.layers.set_computing("aggregate", False)

    def _on_numbers(self, key: tuple, surgery) -> None:
        if key is not self._numbers_key:
            return
        self._numbers_done = key
        self.layers.set_surgery(surgery, key[0])
        self.layers.set_computing("numbers", False)

    def _drop_aggregate(self) -> None:
        """q(z) is off (or cannot be drawn): its waiting jobs go. The encoded examples stay for when
        it comes back; the numbers are asked for again then (they may have been cancelled)."""
        if self._aggregate is not None:
            self._aggregate.stop.set()
        self._aggregate = None
        if self._encoded is not None and self._encoded.mu is None:
            self._encoded = None                             # its encoding is cancelled below
        if self._numbers_key is not self._numbers_done:
            self._numbers_key = None
        for slot in (ENCODE, AGGREGATE, NUMBERS):
            self.runner.cancel(slot)
        for what in ("aggregate", "numbers"):
            self.layers.set_computing(what, False)

    # ============================================================================ failures, models
    def _on_error(self, what: str, request, error: BaseException) -> None:
        current = {"magnification": (self._magnification,), "aggregate": (self._aggregate, self._encoded),
                   "numbers": (self._numbers_key,)}[what]
        if isinstance(error, Interrupted) or not any(request is c for c in current):
            return                                           # stopped on purpose, or no longer wanted
        layer = "magnification" if what == "magnification" else "aggregate"
        text = f"{type(error).__name__}: {error}"
        self.layers.set_computing(what, False)
        self._failed[layer] = (f"{'the magnification map' if what == 'magnification' else 'q(z)'} "
                               f"could not be computed ({text})")
        self.layers.set_layer_note(layer, self._failed[layer])
        self.explorer.message(f"Could not compute the {layer} layer: {text}")

    def _on_model(self, change: ModelChange) -> None:
        """A new model: everything is asked for again. A snapshot of the run being trained keeps the
        pictures (and numbers) shown until their successors arrive; another model clears them."""
        self._generation = change.generation
        self._drop_magnification()
        self._drop_aggregate()
        self._encoded, self._numbers_key, self._numbers_done = None, None, None
        self._failed.clear()
        layers = self.layers
        if not change.snapshot or change.model is None:
            if layers.magnification is not None:
                layers.set_magnification(None)
            if layers.aggregate is not None:
                layers.set_aggregate(None)
            if layers.surgery is not None:
                layers.set_surgery(None, 0)
        self.refresh()

    def stop(self) -> None:
        """Stop whatever runs, changing nothing shown (the window is closing)."""
        self._drop_magnification()
        self._drop_aggregate()
