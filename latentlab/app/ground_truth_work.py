"""The background work behind the ground truth: pictures of p(z|x), the gaps, and the examples.

It listens to the explorer's state: when the selected image (the detailed encoding) or the model
changes, it asks, in this order, for
  1. a coarse picture of p(z|x) (~90 ms; 2-D models, while the true posterior is shown: hidden,
     no picture is computed and the gaps come at once) on the *live* runner, a thread of its own, so
     it follows a drawing stroke by stroke whatever else is being computed. One is in flight at a
     time; while it runs, newer pixels wait, and the newest go next (a drawing at 60 strokes a
     second still gets a picture every ~90 ms: a plain latest-wins slot would drop every result);
  2. the full picture (~1 s), once a coarse one arrived for pixels that are still current;
  3. the gaps (core.exact.image_gaps, 1-6 s), after the full picture (at once above 2-D),
on the *exact* runner, where the examples table's chunks wait behind them (lower priority).
Every result carries the request it answers and is dropped unless that request is still the
current one (same model generation, same image, same pixels); a new model cancels everything.
An M2's image is of its own predicted class (app/class_choice.py: `model_for_image`), so choosing
another class to explore changes nothing here; an M1+M2 has no image likelihood: nothing is
computed, and NO_LIKELIHOOD says why.
A job whose result is no longer wanted is also stopped where it is, at its next decoder call
(app/interrupt.py), so the next one need not wait for it, and the window closes at once.

The examples are loaded on the reader runner when the model's data set changes; the table is
computed in chunks (-ELBO, KL, reconstruction and IW-NLL first, then the exact NLL for 2-D
models), each chunk a job submitted when the previous one is delivered, so a new model or Cancel
stops it within one chunk and late chunks are recognised by a token.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from . import example_metrics
from .class_choice import NO_LIKELIHOOD, has_image_likelihood, model_for_image
from .examples import EXAMPLE_LIMIT, ExampleTable, load_examples
from .explorer_state import ExplorerState, ModelChange
from .ground_truth import GroundTruthState, TableProgress, TruePosterior
from .interrupt import Interrupted, run_stoppable
from .job_queue import JobRunner
from .jobs import ImageSource

COARSE, FULL, GAPS, TABLE, LOAD = "coarse posterior", "full posterior", "gaps", "examples table", "load examples"
PICTURE_PRIORITY, GAPS_PRIORITY, TABLE_PRIORITY = 0, 1, 10
EXAMPLE = "example"            # the encoding id of the example picked (one at a time: a new pick replaces it)
CHUNK_ROWS = {"bounds": 50, "exact": 24}     # a chunk is ~1-3 s of one core: Cancel waits at most that
PICK_RADIUS_PX = 4.0           # a click this close to a scatter point's centre (drawn 4 px wide) picks it


# -- the jobs (plain functions of their inputs, run on the runners' threads) ---------------------
def _model_input(model, pixels: np.ndarray):
    import torch

    return torch.from_numpy(np.asarray(pixels, dtype=np.float32)[None] / 255.0).to(model.device)


def picture_job(model, pixels: np.ndarray, encoding_id: str, coarse: bool) -> TruePosterior:
    from latentlab.core.exact import posterior_picture

    return TruePosterior.of(encoding_id, posterior_picture(model, _model_input(model, pixels), coarse=coarse),
                            coarse)


def gaps_job(model, pixels: np.ndarray):
    """core.exact.image_gaps; it optimises q* by gradient descent, so autograd is back on here
    (the runners run jobs in inference mode)."""
    import torch

    from latentlab.core.exact import image_gaps

    with torch.inference_mode(False), torch.enable_grad():
        return image_gaps(model, _model_input(model, pixels))


def nearest_point(points: np.ndarray, u: float, v: float, pixel_size, radius_px: float) -> int | None:
    """The index of the point (N, 2) nearest to (u, v) on screen, if within `radius_px` pixels;
    `pixel_size` (sx, sy) is the canvas units per screen pixel."""
    if points is None or not len(points):
        return None
    sx, sy = (max(abs(float(s)), 1e-12) for s in pixel_size)
    d2 = ((points[:, 0] - u) / sx) ** 2 + ((points[:, 1] - v) / sy) ** 2
    best = int(np.nanargmin(d2)) if np.isfinite(d2).any() else None
    return best if best is not None and d2[best] <= radius_px ** 2 else None


def _class_of(model):
    """The class an M2 view is fixed to (None for a VAE): the same image read as another class is
    another question."""
    return getattr(model, "y", None)


@dataclass(frozen=True, eq=False)
class _Request:
    """The ground truth asked for: this image's pixels under this model. `stop` stops its full
    picture and gaps once newer pixels come; `image_stop` (shared by the requests of one image
    under one model) also stops its coarse pictures, once another image or model comes."""

    generation: int
    encoding_id: str
    name: str                    # another example picked into the same place is another image
    pixels: np.ndarray
    model: Any
    image_stop: threading.Event
    stop: threading.Event = field(default_factory=threading.Event)
    asked: set = field(default_factory=set)      # "full", "gaps": asked for already (once each)


class GroundTruthWork:
    def __init__(self, explorer: ExplorerState, truth: GroundTruthState, live: JobRunner, exact: JobRunner,
                 reader: JobRunner, data_dir=None):
        self.explorer, self.truth = explorer, truth
        self.live, self.exact, self.reader = live, exact, reader
        self.data_dir = data_dir
        self.data: dict | None = None         # the model's data section (which examples)
        self._request: _Request | None = None
        self._coarse_flight: _Request | None = None    # the request whose coarse picture is being computed
        self._coarse_again = False
        self._tokens = itertools.count(1)
        self._table_token = 0
        self._table_stop = threading.Event()
        self._examples_key = None
        events = explorer.events
        events.model.connect(self._on_model)
        events.posterior.connect(lambda _id: self.refresh())
        events.encodings.connect(self.refresh)
        truth.events.display.connect(self._on_display)

    # ============================================================================ the selected image
    def refresh(self, keep_picture: bool = False) -> None:
        """Ask for the ground truth of the selected image if it is not the one asked for last."""
        explorer, truth = self.explorer, self.truth
        encoding = explorer.detailed_encoding()
        model = model_for_image(explorer, encoding)
        unavailable = "" if model is None or has_image_likelihood(model) else NO_LIKELIHOOD
        if model is None or encoding is None:
            dim = 0 if model is None else model.latent_dim
            if self._request is not None or truth.selected is not None or (truth.latent_dim, truth.unavailable) \
                    != (dim, unavailable):
                self._cancel_selection()
                truth.select(None, latent_dim=dim, unavailable=unavailable)
            return
        # The weights' generation: choosing another class of an M2 to explore changes nothing here.
        last, generation = self._request, explorer.weights_generation
        if last is not None and (last.generation, last.encoding_id) == (generation, encoding.id) \
                and last.pixels is encoding.pixels and _class_of(last.model) == _class_of(model):
            return
        same_image = last is not None and (last.generation, last.encoding_id, last.name) == (
            generation, encoding.id, encoding.name)
        if last is not None:
            last.stop.set()
            if not same_image:
                last.image_stop.set()
        request = self._request = _Request(generation, encoding.id, encoding.name, encoding.pixels, model,
                                           last.image_stop if same_image else threading.Event())
        self.exact.cancel(FULL)
        self.exact.cancel(GAPS)
        if not same_image:
            self.truth.select(encoding.id, encoding.name, model.latent_dim, keep_picture, unavailable)
            self.live.cancel(COARSE)          # another image: what runs for the last one is of no use
            self._coarse_flight = None
        else:
            self.truth.set_gaps_pending()     # the same image with new pixels (a drawing stroke)
        if unavailable:
            return                             # M1+M2: the state says why there is nothing
        if self._pictures_wanted():
            self._submit_coarse()
        else:                                  # no picture to wait for: the gaps at once
            self._submit_gaps(request)

    def _pictures_wanted(self) -> bool:
        """Pictures of p(z|x) are computed for 2-D models while they are shown (hidden, they would
        only take a core from everything else)."""
        return self.truth.display.shown and self._request is not None and self._request.model.latent_dim == 2

    def _on_display(self) -> None:
        request = self._request
        if request is None or not has_image_likelihood(request.model):
            return
        if self._pictures_wanted():
            if "full" not in request.asked and self._coarse_flight is None:
                self._submit_coarse()          # shown again: the pictures it skipped meanwhile
        else:
            self._submit_gaps(request)

    def _cancel_selection(self) -> None:
        if self._request is not None:
            self._request.stop.set()
            self._request.image_stop.set()
        self._request = None
        self.live.cancel(COARSE)
        self.exact.cancel(FULL)
        self.exact.cancel(GAPS)
        self._coarse_flight, self._coarse_again = None, False

    def _submit_coarse(self) -> None:
        if self._coarse_flight is not None:
            self._coarse_again = True          # the newest pixels go when this one is back
            return
        request = self._request
        self._coarse_flight, self._coarse_again = request, False
        self.live.submit(COARSE, partial(run_stoppable, request.model, request.image_stop, picture_job,
                                         request.model, request.pixels, request.encoding_id, True),
                         partial(self._on_coarse, request), priority=PICTURE_PRIORITY,
                         on_error=partial(self._on_error, request, "coarse"))

    def _on_coarse(self, request: _Request, picture: TruePosterior) -> None:
        if self._coarse_flight is request:
            self._coarse_flight = None
        current = self._request
        if current is None or current.image_stop is not request.image_stop:
            return                             # another image or model since
        self.truth.set_picture(picture)        # the same image: shown even if a stroke came since
        if not self._pictures_wanted():
            self._submit_gaps(current)
        elif current is not request or self._coarse_again:
            self._submit_coarse()
        elif "full" not in request.asked:
            request.asked.add("full")
            self.exact.submit(FULL, partial(run_stoppable, request.model, request.stop, picture_job,
                                            request.model, request.pixels, request.encoding_id, False),
                              partial(self._on_full, request), priority=PICTURE_PRIORITY,
                              on_error=partial(self._on_error, request, "full"))

    def _on_full(self, request: _Request, picture: TruePosterior) -> None:
        if request is self._request:
            self.truth.set_picture(picture)
            self._submit_gaps(request)

    def _submit_gaps(self, request: _Request) -> None:
        if "gaps" in request.asked:
            return                             # once per request
        request.asked.add("gaps")
        self.exact.submit(GAPS, partial(run_stoppable, request.model, request.stop, gaps_job, request.model,
                                        request.pixels), partial(self._on_gaps, request),
                          priority=GAPS_PRIORITY, on_error=partial(self._on_error, request, "gaps"))

    def _on_gaps(self, request: _Request, gaps) -> None:
        if request is self._request:
            self.truth.set_gaps(gaps)

    def _on_error(self, request: _Request, what: str, error: BaseException) -> None:
        if what == "coarse" and self._coarse_flight is request:
            self._coarse_flight = None
        if request is not self._request or isinstance(error, Interrupted):
            return
        text = f"{type(error).__name__}: {error}"
        if what == "gaps":
            self.truth.set_gaps(None, error=text)
        self.explorer.message(f"Could not compute the {'gaps' if what == 'gaps' else 'true posterior'} "
                              f"of {self.truth.selected_name}: {text}")

    # ============================================================================ a new model
    def _on_model(self, change: ModelChange) -> None:
        if change.class_switch:
            return     # the same weights: the image's class and the table's are each image's own
        self._cancel_selection()
        if change.model is None:
            self.truth.select(None)
        else:       # a newer state of the same run keeps the picture shown until its successor arrives
            self.refresh(keep_picture=change.snapshot)
        self._stop_table("stale" if change.snapshot and self.truth.table is not None else "")
        self._update_examples()

    # ============================================================================ the examples
    def set_data(self, data: dict | None, update: bool = True) -> None:
        """The data section of the model shown (which data set its examples come from)."""
        self.data = dict(data) if data else None
        if update:
            self._update_examples()

    def _update_examples(self) -> None:
        model, data = self.explorer.model, self.data
        key = None if model is None or data is None else (data.get("dataset"), data.get("binarize"),
                                                           tuple(model.image_shape))
        if key == self._examples_key:
            self.start_table_if_wanted()
            return
        self._examples_key = key
        self._stop_table("")
        if key is None:
            self.reader.cancel(LOAD)
            note = "" if model is None else "The model does not say which data it was trained on: no examples."
            self.truth.set_examples(None, note)
            return
        self.truth.set_examples(None, f"Loading the {key[0]} test images…")
        self.truth.set_progress(TableProgress("loading", note=f"Loading the {key[0]} test images…"))
        self.reader.submit(LOAD, partial(load_examples, data, key[2], self.data_dir),
                           partial(self._on_examples, key), priority=TABLE_PRIORITY,
                           on_error=partial(self._on_examples_failed, key))

    def _on_examples(self, key, examples) -> None:
        if key != self._examples_key:
            return
        limit = min(EXAMPLE_LIMIT, len(examples))
        more = f" (the first {limit:,} of {examples.total:,} in the table)" if examples.total > limit else ""
        how = ("grey levels, as the model was trained" if examples.binarize == "grey"
               else f"binarised as the model was trained ({examples.binarize}, seed 0, as its scatter)")
        self.truth.set_examples(examples, f"{len(examples):,} {examples.dataset} {examples.source}{more}; {how}")
        self.start_table_if_wanted()

    def _on_examples_failed(self, key, error: BaseException) -> None:
        if key == self._examples_key:
            self.truth.set_examples(None, f"No examples: {error}")

    def start_table_if_wanted(self) -> None:
        truth = self.truth
        if truth.table_wanted and truth.table is None and truth.examples is not None and not truth.progress.running:
            self.start_table()

    def start_table(self) -> None:
        """Compute the table for the current model from the start (the Compute button)."""
        truth, model = self.truth, self.explorer.model
        if model is None or truth.examples is None:
            return
        self._stop_table("")
        if not has_image_likelihood(model):
            truth.set_progress(TableProgress("failed", note=NO_LIKELIHOOD))
            return
        token = self._table_token = next(self._tokens)
        self._table_stop = threading.Event()
        rows = min(EXAMPLE_LIMIT, len(truth.examples))
        phases = ("bounds", "exact") if model.latent_dim == 2 else ("bounds",)
        truth.set_table(ExampleTable(truth.examples, rows, exact=model.latent_dim == 2))
        self._submit_chunk(token, model, phases, 0, 0)

    def _submit_chunk(self, token: int, model, phases, phase: int, start: int) -> None:
        table = self.truth.table
        name = phases[phase]
        pixels = table.examples.pixels[start:min(start + CHUNK_ROWS[name], table.rows)]
        fn = (partial(example_metrics.bound_columns, model, pixels, seed=start) if name == "bounds"
              else partial(example_metrics.exact_column, model, pixels))
        fn = partial(run_stoppable, model, self._table_stop, fn)
        self.truth.set_progress(TableProgress(name, start, table.rows))
        self.exact.submit(TABLE, fn, partial(self._on_chunk, token, model, phases, phase, start),
                          priority=TABLE_PRIORITY, on_error=partial(self._on_chunk_failed, token))

    def _on_chunk(self, token: int, model, phases, phase: int, start: int, columns: dict) -> None:
        if token != self._table_token:
            return
        table = self.truth.table
        table.fill(start, columns)
        self.truth.table_filled()
        start += len(next(iter(columns.values())))
        if start >= table.rows:
            phase, start = phase + 1, 0
        if phase < len(phases):
            self._submit_chunk(token, model, phases, phase, start)
        else:
            self._table_token = 0
            self.truth.set_progress(TableProgress("done", table.rows, table.rows))

    def _on_chunk_failed(self, token: int, error: BaseException) -> None:
        if token == self._table_token:
            self._table_token = 0
            self.truth.set_progress(TableProgress("failed", note=f"The table failed: {type(error).__name__}: {error}"))

    def cancel_table(self) -> None:
        """Stop computing the table (the Cancel button); the rows done stay."""
        self._stop_table("cancelled")

    def _stop_table(self, phase: str) -> None:
        progress = self.truth.progress
        running = self._table_token != 0
        self._table_token = 0
        self._table_stop.set()
        self.exact.cancel(TABLE)
        if phase == "cancelled" and running:
            self.truth.set_progress(TableProgress("cancelled", progress.done, progress.total))
        elif phase == "stale":
            self.truth.set_progress(TableProgress("stale"))
        elif phase == "" and self.truth.table is not None:
            self.truth.set_table(None)
            self.truth.set_progress(TableProgress(note=self.truth.examples_note))

    def stop(self) -> None:
        """Stop whatever runs, changing nothing shown (the window is closing)."""
        self._cancel_selection()
        self._table_token = 0
        self._table_stop.set()

    # ============================================================================ picking an example
    def select_example(self, row: int) -> None:
        """Show example `row` as if it were dropped: encoded, with its picture and its gaps."""
        examples = self.truth.examples
        if examples is None or self.explorer.model is None or not 0 <= row < len(examples):
            return
        shown = self.explorer.detailed_encoding()
        if shown is not None and shown.id == EXAMPLE and shown.name == examples.image_name(row):
            return                             # already the one shown (a click after a key press)
        pixels = examples.pixels[row]
        self.explorer.add_encoding(ImageSource.of_pixels(examples.image_name(row), pixels), pixels,
                                   encoding_id=EXAMPLE)

    def pick_scatter_point(self, u: float, v: float, pixel_size) -> bool:
        """A click at canvas (u, v): select the test image of the scatter point under it, if the
        scatter is shown and its points are the loaded examples. False: nothing picked."""
        explorer, examples = self.explorer, self.truth.examples
        scatter = explorer.scatter
        if (examples is None or scatter is None or not explorer.scatter_visible or explorer.model is None
                or scatter.latent_dim != explorer.plane.latent_dim or not examples.matches_scatter(scatter)):
            return False
        index = nearest_point(explorer.plane.project(scatter.means), u, v, pixel_size, PICK_RADIUS_PX)
        row = None if index is None else examples.row_of(index)
        if row is None:
            return False
        self.select_example(row)
        return True
