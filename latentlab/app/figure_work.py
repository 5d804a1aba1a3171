"""How a figure is computed from the explorer's state, and how it is exported at print quality.

The figure tabs and the exports ask the same function, `figure_function(state, name)`, so an
exported manifold is the picture its tab shows (same model, plane and settings) whether or not
the tab was ever opened. An export runs off the GUI thread in two steps: the figure on the model
runner (a 40 x 40 manifold is 1,600 decodes), then the file encoded and written on the reader
(compressing a 2240 px PDF takes a good part of a second), each announced in the status bar.
No Qt here: the runners are the explorer's (app/job_queue.py).
"""

from __future__ import annotations

import itertools
import math
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

from latentlab.core import figure_files

from latentlab.core.map_figures import TraversalLayout

from . import analogy_inputs, jobs, traversal_inputs
from .explorer_state import ExplorerState
from .job_queue import JobRunner

EXPORT_PRIORITY = 10          # with the other background work: a hover decode goes first
TITLES = {"manifold": "manifold", "samples": "prior samples", "interpolation": "interpolation strip",
          "traversal": "traversal", "analogies": "analogies"}


class FigureUnavailable(ValueError):
    """The figure cannot be made now (no model, no interpolation ends); the message says why."""


def figure_function(state: ExplorerState, name: str, examples=None) -> Callable[[], np.ndarray]:
    """A call that computes figure `name` ("manifold", "samples", "interpolation", "traversal",
    "analogies") as the state shows it now: its model, plane and settings are taken here, so later
    changes do not reach it. `examples` (an app.examples.ExampleSet or None) order the traversal's
    rows and are the analogies' test images."""
    compute = figure_with_note(state, name, examples)
    return lambda: compute()[0]


def figure_with_note(state: ExplorerState, name: str, examples=None) -> Callable[[], tuple[np.ndarray, str]]:
    """figure_function's call returning (picture, note): the note is what only the work finds out
    and the caption must say (the traversal's active dimensions); "" for the other figures."""
    _check_available(state, name)
    model, plane, settings = state.model, state.plane, state.figure_settings
    if name == "manifold":
        return _no_note(partial(jobs.manifold_image, model, plane, settings.manifold_size))
    if name == "samples":
        return _no_note(partial(jobs.prior_samples_image, model, settings.sample_count, settings.sample_seed,
                                settings.sample_x))
    if name == "traversal":
        inputs = traversal_inputs.traversal_inputs(state, examples)
        steps = settings.traversal_steps

        def traversal():
            picture, kl = jobs.traversal_image(model, inputs.anchor, inputs.anchor_logvar, inputs.span, steps,
                                               inputs.examples, inputs.order_posterior)
            return picture, traversal_inputs.caption(inputs, steps, kl)

        return traversal
    if name == "analogies":
        inputs = _analogy_inputs(state, examples)
        return partial(analogy_inputs.analogies_image, analogy_inputs.semi_model_of(state), inputs)
    return _no_note(partial(jobs.interpolation_strip, model, state.path.copy()))


def _no_note(compute: Callable[[], np.ndarray]) -> Callable[[], tuple[np.ndarray, str]]:
    return lambda: (compute(), "")


def figure_shape(state: ExplorerState, name: str, examples=None) -> tuple[int, int]:
    """(height, width) in pixels of figure `name` at scale 1, without computing it (the export
    dialog offers sizes before any work); the tiling of core.figures.image_grid. `examples`: as
    for figure_function (the analogies' rows)."""
    _check_available(state, name)
    _, height, width = state.model.image_shape
    settings = state.figure_settings
    if name == "manifold":
        n = settings.manifold_size
        return n * height, n * width
    if name == "samples":
        columns = math.ceil(math.sqrt(settings.sample_count))
        rows = -(-settings.sample_count // columns)
        return rows * (height + 1) + 1, columns * (width + 1) + 1
    if name == "traversal":
        return TraversalLayout(state.model.latent_dim, settings.traversal_steps, state.model.image_shape).shape
    if name == "analogies":
        return analogy_inputs.layout(state, _analogy_inputs(state, examples)).shape
    return height + 2, len(state.path) * (width + 1) + 1


def _check_available(state: ExplorerState, name: str) -> None:
    if name not in TITLES:
        raise ValueError(f"no figure called {name!r}")
    if state.model is None:
        raise FigureUnavailable("open a model first")
    if name == "interpolation" and state.path is None:
        raise FigureUnavailable("the interpolation needs two ends: pin two points (click the canvas) "
                                "or encode two images")
    if name == "analogies" and analogy_inputs.semi_model_of(state) is None:
        raise FigureUnavailable(analogy_inputs.NEEDS_M2)


def _analogy_inputs(state: ExplorerState, examples) -> "analogy_inputs.AnalogyInputs":
    inputs = analogy_inputs.analogy_inputs(state, examples)
    if len(inputs) == 0:
        raise FigureUnavailable(analogy_inputs.NEEDS_ROWS)
    return inputs


class FigureExports:
    """Figures and canvas pictures written to files in the background, with a status message
    when each starts, is saved or fails. Exports never replace each other (each has its slot)."""

    def __init__(self, state: ExplorerState, model_runner: JobRunner, writer: JobRunner):
        self.state = state
        self.model_runner = model_runner
        self.writer = writer
        self.examples: Callable[[], object] = lambda: None     # the explorer's test images (ExplorerWork sets it)
        self._ids = itertools.count(1)

    def export_figure(self, name: str, path, scale: int = figure_files.DEFAULT_SCALE,
                      format: str | None = None) -> bool:
        """Compute figure `name` now (its tab need not be open) and write it to `path` at `scale`
        (format: from `format`, else the suffix). False, with a message, when it cannot start."""
        title = TITLES.get(name, name)
        try:
            path = figure_files.check_figure_path(path)
            fmt = figure_files.figure_format(path, format)
            examples = self.examples()
            width, height = figure_files.scaled_size(figure_shape(self.state, name, examples), scale)
            compute = figure_function(self.state, name, examples)
        except ValueError as e:
            self.state.message(f"Could not export the {title}: {e}")
            return False
        size = f"{width} x {height} px ({scale}x)"
        self.state.message(f"Exporting the {title}, {size}…")
        self.model_runner.submit(("export", next(self._ids)), compute,
                                 lambda array: self.write(title, path, partial(figure_files.figure_bytes, array,
                                                                               scale, fmt), size),
                                 priority=EXPORT_PRIORITY, on_error=partial(self._failed, title))
        return True

    def export_picture(self, title: str, path, paint: Callable[[], Callable[[], bytes]], size: str = "") -> bool:
        """A picture the GUI paints (the canvas): the path is checked first, then `paint()` runs
        here (it must: Qt paints on the GUI thread) and returns the encoder, which runs on the writer."""
        try:
            path = figure_files.check_figure_path(path)
            encode = paint()
        except ValueError as e:
            self.state.message(f"Could not export the {title}: {e}")
            return False
        self.write(title, path, encode, size)
        return True

    def write(self, title: str, path, encode: Callable[[], bytes], size: str = "") -> None:
        """Encode (`encode()` -> the file's bytes) and write `path` on the writer thread; the
        status bar says when it is saved or why not."""
        path = Path(path)
        saved = f"Saved the {title}" + (f", {size}," if size else "") + f" to {path}"
        self.writer.submit(("export", next(self._ids)),
                           lambda: figure_files.write_figure_file(path, encode()),
                           lambda _: self.state.message(saved),
                           priority=EXPORT_PRIORITY, on_error=partial(self._failed, title))

    def _failed(self, title: str, error: BaseException) -> None:
        reason = str(error) if isinstance(error, (OSError, ValueError)) else f"{type(error).__name__}: {error}"
        self.state.message(f"Could not export the {title}: {reason}")
