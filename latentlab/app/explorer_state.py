"""What the latent explorer shows, as one Qt-free object that says when anything changes.

`ExplorerState` holds the model (and a generation counter that changes with every model, so late
results of an older model are recognised), the latent plane (two axes or the PCA plane, anchored
at the origin, a pin or an image's posterior mean: chosen *by stable id*), the pins, the encoded
images, the point under the mouse and its image, mean-or-sample, the interpolation between two
pins or images (chosen by stable id) and its path, the encoded test set, the figures' settings and
pictures, and which figures are stale. Views render it and send requests (`add_pin`,
`set_plane_choice`, ...); no widget keeps a piece of it (a combobox index, a checkbox).

Each `events.<name>` says that part changed (see EVENTS); callbacks read the state itself. The
rules for a new model live in `set_model`: what still fits is kept, what does not is dropped and
named. The background work that computes images and posteriors is `explorer_work.ExplorerWork`.

An M2 or M1+M2 is shown one class at a time (`semi_model`, `selected_class`, `class_names`;
app/class_choice.py): `model` is then its view of the selected class, a VAE of the style z.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .class_choice import ClassChoice
from .encodings import Encoding, encoded_message
from .events import EventGroup
from .jobs import ImageSource, Posterior, interpolation_path
from .paths import MODES, PathComparison
from .plane import LatentPlane
from .scatter import Scatter

ORIGIN = "origin"          # the anchor id of the prior mean, z = 0
DRAWING = "drawing"        # the id of the drawing pad's image
MAX_ENCODINGS = 8          # images kept; the oldest goes first
MAX_PINS = 12
FIGURES = ("manifold", "samples", "interpolation", "traversal", "analogies")

# Emitted after every change, in this order, once per change however many parts it touched.
EVENTS = (
    "scatter",          # the encoded test set (or its visibility: scatter_visible)
    "plane",            # the plane choice or the plane itself
    "pins",             # pins added, removed or cleared (they are anchors and ends too)
    "pin_images",       # decoded images of the pins
    "encodings",        # images added or removed, or one got its first posterior (new anchor/end)
    "endpoints",        # the interpolation's ends, or their candidates
    "path",             # the interpolation path (or whether it is drawn), or the three paths compared
    "hover",            # the latent under the mouse
    "hover_image",      # the image decoded there
    "show_sample",      # mean or sample of p(x|z)
    "figure_settings",  # manifold size, sample count/seed, strip steps/mode
    "figures",          # a figure's picture, or the stale set, or the visible figure
    "view_reset",       # the canvas should show the prior's disc and the test set again
)
ARG_EVENTS = (
    "model",            # (ModelChange) a new model or a snapshot; after all the parts it changed
    "pixels",           # (encoding id) an image has new pixels to encode
    "posterior",        # (encoding id) an image has a new posterior
    "message",          # (str) for the status bar
)


@dataclass(frozen=True)
class PlaneChoice:
    """What the user chose: the kind of plane, its two axes (0-based) and the anchor's id."""

    kind: str = "axes"                 # "axes" or "pca"
    axes: tuple[int, int] = (0, 1)
    anchor: str = ORIGIN               # ORIGIN, a pin id or an encoding id


@dataclass(frozen=True)
class Pin:
    id: str
    z: np.ndarray                      # (D,)


@dataclass(frozen=True)
class FigureSettings:
    manifold_size: int = 20            # n x n grid
    sample_count: int = 100
    sample_seed: int = 0
    sample_x: bool = False             # prior samples: draws from p(x|z) instead of means
    steps: int = 10                    # interpolation strip, ends included
    mode: str = "linear"               # or "spherical", "geodesic" (app/paths.py MODES)
    traversal_steps: int = 7           # images per dimension's row: -3, -2, ..., +3
    traversal_span: str = "prior"      # "prior": z_i over -3 .. +3; "posterior": the anchor's mean ± 3σ
    traversal_anchor: str = "image"    # the selected image's posterior mean, "plane": the plane's anchor, "origin"
    analogy_rows: int = 5              # M2's analogies: the selected image, then test images (5 fit a 1280 x 720 window)
    analogy_seed: int = 0              # which test images: 0 the first, else drawn (core.analogies.example_rows)


FIGURE_OF_SETTING = {"manifold_size": "manifold", "sample_count": "samples", "sample_seed": "samples",
                     "sample_x": "samples", "steps": "interpolation", "mode": "interpolation",
                     "traversal_steps": "traversal", "traversal_span": "traversal", "traversal_anchor": "traversal",
                     "analogy_rows": "analogies", "analogy_seed": "analogies"}
TRAVERSAL_SPANS, TRAVERSAL_ANCHORS = ("prior", "posterior"), ("image", "plane", "origin")


@dataclass(frozen=True)
class ModelChange:
    """What `set_model` did, for the work that follows it."""

    model: Any
    generation: int
    snapshot: bool                     # reset_view=False: a newer state of the same run
    reprepare: tuple[str, ...] = ()    # encodings whose pixels must be prepared for the new image shape
    dropped: tuple[str, ...] = ()      # what no longer fits, in words
    class_switch: bool = False         # the same M2 shown as another class (set_selected_class)


class ExplorerState:
    def __init__(self):
        self.events = EventGroup(*EVENTS, *ARG_EVENTS)
        self.model = None
        self.model_generation = 0
        self.weights_generation = 0                       # as model_generation, but kept by a class switch
        self.scatter: Scatter | None = None
        self.scatter_visible = True
        self.plane_choice = PlaneChoice()
        self.plane = LatentPlane.axes(2)
        self.pins: list[Pin] = []
        self.pin_images: dict[str, np.ndarray] = {}
        self.encodings: dict[str, Encoding] = {}          # oldest first
        self.hover: np.ndarray | None = None              # None: nothing hovered yet (z at the plane's origin is shown)
        self.hover_image: np.ndarray | None = None
        self.show_sample = False
        self.endpoints: tuple[str | None, str | None] = (None, None)
        self.path: np.ndarray | None = None               # (steps, D) between the ends, or None
        self.path_shown = False                           # drawn once the strip has been computed
        # The straight line, slerp and the geodesic between the ends, with their decoded lengths
        # (app/paths.py; computed in the background). A newer model keeps the last until its own come.
        self.path_comparison: PathComparison | None = None
        self.figure_settings = FigureSettings()
        self.figure_arrays: dict[str, np.ndarray | None] = dict.fromkeys(FIGURES)
        self.figure_notes: dict[str, str] = dict.fromkeys(FIGURES, "")   # what the job found (the traversal's KL)
        self.stale_figures: set[str] = set(FIGURES)
        self.visible_figure: str | None = None
        self._ids = itertools.count(1)
        self._end_candidates: list[str] = []
        self._dirty: set[str] = set()
        self._messages: list[str] = []
        self._classes = ClassChoice()                     # an M2's class shown (app/class_choice.py)

    # ============================================================================ the model
    @property
    def latent_dim(self) -> int:
        return self.plane.latent_dim

    semi_model = property(lambda self: self._classes.semi_model)      # the M2 / M1+M2 shown, or None
    selected_class = property(lambda self: self._classes.selected)    # its class, shown as `model`
    class_names = property(lambda self: list(self._classes.names))

    def set_selected_class(self, k: int) -> None:
        """Show the M2 as class `k`: a new model for everything shown (a new generation: hover,
        pins, figures, layers and paths are computed again) that keeps the view, pins and images."""
        k = self._classes.checked(k)
        if k != self._classes.selected:
            self._classes.selected = k
            self._change_model(self._classes.view(), None, False, class_switch=True)
        self._flush()

    def set_model(self, model, scatter: dict | Scatter | None = None, reset_view: bool = True,
                  class_names=None) -> ModelChange:
        """Show `model` (a VAE, an M2 / M1+M2 as its selected class, or None). reset_view=False is a
        snapshot of the run being trained: the plane and the view stay. Either way, what fits the
        new model stays (pins and anchors of its dimension; images, prepared again when its image
        shape differs) and the rest goes. `class_names`: an M2's classes (else the scatter's names)."""
        if class_names is None and scatter is not None:
            class_names = scatter.names if isinstance(scatter, Scatter) else scatter.get("label_names")
        return self._change_model(self._classes.take(model, class_names), scatter, reset_view)

    def _change_model(self, model, scatter, reset_view: bool, class_switch: bool = False) -> ModelChange:
        self.model = model
        self.model_generation += 1
        self.weights_generation = self.weights_generation if class_switch else self.model_generation
        self.stale_figures = set(FIGURES)
        self._mark("figures")
        if model is None:
            self.hover_image = None
            self._mark("hover_image")
            return self._finish_model_change(ModelChange(None, self.model_generation, not reset_view))
        dim, shape = model.latent_dim, tuple(model.image_shape)
        dropped = []
        pins = [p for p in self.pins if p.z.shape == (dim,)]
        if len(pins) < len(self.pins):
            gone = len(self.pins) - len(pins)
            dropped.append(f"{gone} pin{'s' if gone > 1 else ''} of another dimension")
            self.pins = pins
            self.pin_images = {p.id: self.pin_images[p.id] for p in pins if p.id in self.pin_images}
            self._mark("pins", "pin_images")
        reprepare = []
        for encoding in list(self.encodings.values()):
            if encoding.posterior is not None and encoding.posterior.mu.shape != (dim,):
                encoding.posterior = None          # no ellipse of another dimension meanwhile
                self._mark("encodings")
            if encoding.pixels is not None and encoding.pixels.shape == shape:
                continue
            if encoding.source.fits(shape):
                encoding.pixels, encoding.posterior = None, None
                reprepare.append(encoding.id)
            else:
                dropped.append(f"the {encoding.name}" if encoding.id == DRAWING else encoding.name)
                self._forget_encoding(encoding.id)
            self._mark("encodings")
        new_space = dim != self.plane.latent_dim
        if reset_view or scatter is not None or (self.scatter is not None and self.scatter.latent_dim != dim):
            self._store_scatter(scatter)   # a new model: its own test set, or none
        if reset_view or new_space:
            self.plane_choice = PlaneChoice(axes=self._default_axes(dim))
            self._mark("plane", "view_reset")
        if self.hover is not None and self.hover.shape != (dim,):
            self.hover = None
            self._mark("hover")
        self._update_plane()
        self._update_endpoints()
        return self._finish_model_change(ModelChange(model, self.model_generation, not reset_view,
                                                     tuple(reprepare), tuple(dropped), class_switch))

    def _default_axes(self, dim: int) -> tuple[int, int]:
        """The plane a model opens on: z1, z2, unless its test set shows that other axes carry
        more. A 20-D model whose z1 collapsed would otherwise open on a line of points: the two
        axes along which the posterior means vary most (the active units' measure) are chosen."""
        if dim <= 2 or self.scatter is None or self.scatter.latent_dim != dim or len(self.scatter.means) < 2:
            return (0, 1 if dim > 1 else 0)
        spread = np.nan_to_num(self.scatter.means.var(axis=0), nan=-1.0)
        first, second = np.argsort(-spread, kind="stable")[:2]
        return (int(first), int(second))

    def _finish_model_change(self, change: ModelChange) -> ModelChange:
        self._flush()
        self.events.model.emit(change)
        return change

    def is_current(self, generation: int) -> bool:
        """Whether work started under model `generation` still applies."""
        return generation == self.model_generation and self.model is not None

    # ============================================================================ the test set
    def set_scatter(self, scatter: dict | Scatter | None) -> None:
        """Replace the encoded test set (e.g. re-encoded during training); the view is not moved."""
        self._store_scatter(scatter)
        self._update_plane()
        self._flush()

    def set_scatter_visible(self, visible: bool) -> None:
        if visible != self.scatter_visible:
            self.scatter_visible = visible
            self._mark("scatter")
        self._flush()

    def pca_available(self) -> bool:
        """A PCA plane needs a test set of two points or more, and is offered above two dimensions."""
        dim = self.latent_dim if self.model is None else self.model.latent_dim
        return self.scatter is not None and len(self.scatter.means) >= 2 and dim > 2

    def _store_scatter(self, scatter) -> None:
        if scatter is not None and not isinstance(scatter, Scatter):
            scatter = Scatter.from_extras(scatter)
        if scatter is not None and self.model is not None and scatter.latent_dim != self.model.latent_dim:
            self._messages.append(f"The encoded test set has {scatter.latent_dim} dimensions but the model has "
                                  f"{self.model.latent_dim}; not shown")
            scatter = None
        if scatter is None and self.scatter is None:
            return
        self.scatter = scatter
        if self.plane_choice.kind == "pca" and not self.pca_available():
            self.plane_choice = replace(self.plane_choice, kind="axes")
        self._mark("scatter", "plane")

    # ============================================================================ the plane
    def set_plane_choice(self, kind: str | None = None, axes: tuple[int, int] | None = None,
                         anchor: str | None = None) -> None:
        """Choose the plane (the view is reset to it). Picking for one axis the other axis' value
        swaps the two rather than making a degenerate plane."""
        choice = self.plane_choice
        kind = choice.kind if kind is None else kind
        if kind not in ("axes", "pca"):
            raise ValueError(f"plane kind must be 'axes' or 'pca', not {kind!r}")
        if kind == "pca" and not self.pca_available():
            kind = "axes"                          # no test set to take components of
        i, j = choice.axes if axes is None else (int(axes[0]), int(axes[1]))
        if not (0 <= i < self.latent_dim and 0 <= j < self.latent_dim):
            raise ValueError(f"axes {i + 1} and {j + 1} do not exist in a {self.latent_dim}-D latent space")
        if i == j and self.latent_dim > 1:
            i, j = (i, choice.axes[0]) if i != choice.axes[0] else (choice.axes[1], j)
        anchor = choice.anchor if anchor is None else anchor
        if anchor != ORIGIN and self.point_of(anchor) is None:
            raise ValueError(f"unknown anchor {anchor!r}")
        new = PlaneChoice(kind, (i, j), anchor)
        if new != choice:
            self.plane_choice = new
            self._mark("plane", "view_reset")
            self._update_plane()
        self._flush()

    def anchor_choices(self) -> list[tuple[str, str]]:
        """(id, label) of every place the plane can be anchored, the origin first."""
        return [(ORIGIN, "0 (prior mean)"),
                *((e.id, f"posterior mean of {e.name}") for e in self.encodings.values() if e.posterior is not None),
                *((p.id, f"pin {i + 1}") for i, p in enumerate(self.pins))]

    def point_of(self, item_id: str | None) -> np.ndarray | None:
        """The latent of a pin, or an encoded image's posterior mean; None for anything else."""
        for pin in self.pins:
            if pin.id == item_id:
                return pin.z
        encoding = self.encodings.get(item_id) if item_id is not None else None
        return None if encoding is None or encoding.posterior is None else encoding.posterior.mu

    def _compute_plane(self) -> LatentPlane:
        if self.model is None:
            return self.plane
        dim = self.model.latent_dim
        if dim <= 2:
            return LatentPlane.axes(dim, 0, 1 if dim > 1 else 0)
        choice = self.plane_choice
        anchor = self.point_of(choice.anchor)
        if choice.kind == "pca" and self.pca_available():
            return LatentPlane.pca(self.scatter.means, anchor)
        return LatentPlane.axes(dim, *choice.axes, anchor)

    def _update_plane(self) -> None:
        if self.plane_choice.anchor != ORIGIN and self.point_of(self.plane_choice.anchor) is None \
                and not self._anchor_pending():
            self.plane_choice = replace(self.plane_choice, anchor=ORIGIN)   # its pin or image is gone
            self._mark("plane")
        plane = self._compute_plane()
        old = self.plane
        if (plane.kind, plane.labels) == (old.kind, old.labels) and plane.basis.shape == old.basis.shape \
                and np.array_equal(plane.basis, old.basis) and np.array_equal(plane.offset, old.offset):
            return
        self.plane = plane
        self._mark("plane")
        if plane.latent_dim > 2 or old.latent_dim != plane.latent_dim:
            self._stale("manifold")      # the grid spans the plane
        if self.path is not None:
            self._mark("path")           # drawn in the plane's coordinates

    def _anchor_pending(self) -> bool:
        """An anchor image being encoded again (new model) keeps its place meanwhile."""
        encoding = self.encodings.get(self.plane_choice.anchor)
        return encoding is not None and encoding.posterior is None

    def request_view_reset(self) -> None:
        self._mark("view_reset")
        self._flush()

    # ============================================================================ hover
    def set_hover(self, z: np.ndarray | None) -> None:
        """The latent under the mouse (D,), or None. On every mouse move: keep it short."""
        self.hover = z
        self._dirty.add("hover")
        self._flush()

    def shown_latent(self) -> np.ndarray | None:
        """The latent whose image is shown: the hovered one, else the plane's origin."""
        if self.model is None:
            return None
        return self.hover if self.hover is not None else self.plane.to_latent((0.0, 0.0))

    def set_hover_image(self, image: np.ndarray | None, generation: int) -> None:
        if self.is_current(generation):
            self.hover_image = image
            self._dirty.add("hover_image")
            self._flush()

    def set_show_sample(self, sample: bool) -> None:
        if bool(sample) != self.show_sample:
            self.show_sample = bool(sample)
            self._mark("show_sample")
        self._flush()

    # ============================================================================ pins
    def add_pin(self, z) -> Pin:
        """Pin a latent point (D,); past MAX_PINS the oldest goes."""
        z = np.array(z, dtype=np.float64).reshape(-1)
        if self.model is not None and z.shape != (self.model.latent_dim,):
            raise ValueError(f"a pin needs {self.model.latent_dim} coordinates, not {z.size}")
        if len(self.pins) >= MAX_PINS:
            old = self.pins.pop(0)
            self.pin_images.pop(old.id, None)
        pin = Pin(f"pin{next(self._ids)}", z)
        self.pins.append(pin)
        self._pins_changed()
        return pin

    def clear_pins(self) -> None:
        if self.pins:
            self.pins, self.pin_images = [], {}
            self._mark("pin_images")
            self._pins_changed()
        self._flush()

    def set_pin_images(self, pin_ids: list[str], images: list[np.ndarray], generation: int) -> None:
        if not self.is_current(generation):
            return
        alive = {p.id for p in self.pins}
        self.pin_images = {i: image for i, image in zip(pin_ids, images) if i in alive}
        self._mark("pin_images")
        self._flush()

    def _pins_changed(self) -> None:
        self._mark("pins")
        self._update_plane()
        self._update_endpoints()
        self._flush()

    # ============================================================================ encoded images
    def add_encoding(self, source: ImageSource, pixels: np.ndarray | None, notes: list[str] | None = None,
                     encoding_id: str | None = None) -> Encoding:
        """Show an image (pixels prepared for the current model, or None to have them prepared
        again); `encoding_id` replaces an image of that id (the drawing). The newest is last."""
        encoding_id = encoding_id or f"image{next(self._ids)}"
        while len(self.encodings) >= MAX_ENCODINGS and encoding_id not in self.encodings:
            self._forget_encoding(next(iter(self.encodings)))
        newest = next(reversed(self.encodings), None) == encoding_id
        encoding = self.encodings.pop(encoding_id, None)   # re-inserted: the newest is shown in detail
        if encoding is None:
            encoding = Encoding(encoding_id, source.name, source, pixels, notes=list(notes or []))
        else:
            if source.name != encoding.name:      # another example picked into the same place
                encoding.name, encoding.notes, encoding.announced = source.name, list(notes or []), False
                newest = False                    # the image list shows its name
            encoding.source, encoding.pixels = source, pixels
        self.encodings[encoding_id] = encoding
        if not newest:       # a new stroke on the drawing changes only its pixels: no list to redraw
            self._mark("encodings")
        self._flush()
        if pixels is not None:
            self.events.pixels.emit(encoding_id)
        return encoding

    def set_pixels(self, encoding_id: str, pixels: np.ndarray, generation: int) -> None:
        """Pixels prepared again for the current model's image shape."""
        encoding = self.encodings.get(encoding_id)
        if encoding is None or not self.is_current(generation) or pixels.shape != tuple(self.model.image_shape):
            return
        encoding.pixels = pixels
        self.events.pixels.emit(encoding_id)

    def set_posterior(self, encoding_id: str, posterior: Posterior, generation: int) -> None:
        encoding = self.encodings.get(encoding_id)
        if encoding is None or not self.is_current(generation) or posterior.mu.shape != (self.latent_dim,):
            return
        first = encoding.posterior is None
        encoding.posterior = posterior
        if not encoding.announced and encoding.id != DRAWING:
            encoding.announced = True
            self._messages.append(encoded_message(encoding, self.class_names))
        if self.plane_choice.anchor == encoding_id:
            self._update_plane()
        if first:
            self._mark("encodings")         # a new anchor and end to choose
            self._update_endpoints()
        elif encoding_id in self.endpoints:
            self._update_path()             # an end moved
        self._flush()
        self.events.posterior.emit(encoding_id)

    def remove_encoding(self, encoding_id: str) -> None:
        if encoding_id in self.encodings:
            self._forget_encoding(encoding_id)
            self._mark("encodings")
            self._update_plane()
            self._update_endpoints()
        self._flush()

    def clear_encodings(self) -> None:
        for encoding_id in list(self.encodings):
            self._forget_encoding(encoding_id)
        self._mark("encodings")
        self._update_plane()
        self._update_endpoints()
        self._flush()

    def detailed_encoding(self) -> Encoding | None:
        """The image shown in detail (input, reconstruction, q(z|x) draws): the newest encoded one."""
        encoded = [e for e in self.encodings.values() if e.posterior is not None and e.pixels is not None]
        return encoded[-1] if encoded else None

    def _forget_encoding(self, encoding_id: str) -> None:
        self.encodings.pop(encoding_id, None)
        if self.plane_choice.anchor == encoding_id:
            self.plane_choice = replace(self.plane_choice, anchor=ORIGIN)
            self._mark("plane")

    # ============================================================================ interpolation
    def endpoint_choices(self) -> list[tuple[str, str]]:
        """(id, label) of what a strip can run between: encoded images, then pins."""
        return [*((e.id, e.name) for e in self.encodings.values() if e.posterior is not None),
                *((p.id, f"pin {i + 1}") for i, p in enumerate(self.pins))]

    def set_endpoints(self, start: str | None, end: str | None) -> None:
        ids = [i for i, _ in self.endpoint_choices()]
        for end_id in (start, end):
            if end_id is not None and end_id not in ids:
                raise ValueError(f"unknown interpolation end {end_id!r}")
        if (start, end) != self.endpoints:
            self.endpoints = (start, end)
            self._mark("endpoints")
            self._update_path()
        self._flush()

    def end_points(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The latents at the two ends, or None without two distinct ends."""
        start, end = self.endpoints
        if start is None or end is None or start == end:
            return None
        a, b = self.point_of(start), self.point_of(end)
        return None if a is None or b is None else (a, b)

    def _update_endpoints(self) -> None:
        """Candidates changed (or moved). New candidates: the last two are chosen (the newest pins or
        images, most likely what the user wants); otherwise the user's choice stays while it exists."""
        ids = [i for i, _ in self.endpoint_choices()]
        start, end = self.endpoints
        if ids != self._end_candidates:
            added = any(i not in self._end_candidates for i in ids)
            if added or start not in ids or end not in ids:
                start = ids[max(0, len(ids) - 2)] if ids else None
                end = ids[-1] if ids else None
            self._end_candidates = ids
            self._mark("endpoints")
        if (start, end) != self.endpoints:
            self.endpoints = (start, end)
            self._mark("endpoints")
        self._update_path()

    def _update_path(self) -> None:
        ends, settings = self.end_points(), self.figure_settings
        if ends is None:
            path = None
        elif settings.mode == "geodesic":      # None until the geodesic between these ends is found
            comparison = self.path_comparison
            path = comparison.resampled("geodesic", settings.steps) if comparison is not None \
                and comparison.joins(ends) else None
        else:
            path = interpolation_path(*ends, settings.steps, settings.mode)
        if (path is None) != (self.path is None) or (path is not None and (
                path.shape != self.path.shape or not np.array_equal(path, self.path))):
            self.path = path
            if path is None:
                self.path_shown = False     # drawn again once a new strip is computed
            self._mark("path")
            self._stale("interpolation")

    def geodesic_pending(self) -> bool:
        """The strip waits for the geodesic between its two ends."""
        return self.figure_settings.mode == "geodesic" and self.path is None and self.end_points() is not None

    def paths_wanted(self) -> bool:
        """Whether the three paths between the ends are worth computing now: there are two ends,
        and the path is drawn on the canvas or the strip follows the geodesic."""
        return self.end_points() is not None and (self.path_shown or self.figure_settings.mode == "geodesic")

    def set_path_comparison(self, comparison: PathComparison) -> None:
        """The three paths, computed for the ends and model they name; dropped when those are gone."""
        if not self.is_current(comparison.generation) or not comparison.joins(self.end_points()):
            return
        self.path_comparison = comparison
        self._mark("path")
        self._update_path()
        self._flush()

    def shown_comparison(self) -> PathComparison | None:
        """The paths compared between the ends shown now (perhaps of an earlier state of the run)."""
        comparison = self.path_comparison
        return comparison if comparison is not None and comparison.joins(self.end_points()) else None

    def show_path(self) -> None:
        """The strip was computed: its path is drawn on the canvas from now on."""
        if not self.path_shown and self.path is not None:
            self.path_shown = True
            self._mark("path")
        self._flush()

    # ============================================================================ figures
    def set_figure_settings(self, **changes) -> None:
        new = replace(self.figure_settings, **changes)
        if new.mode not in MODES:
            raise ValueError(f"interpolation mode must be one of {', '.join(MODES)}, not {new.mode!r}")
        if new.traversal_span not in TRAVERSAL_SPANS or new.traversal_anchor not in TRAVERSAL_ANCHORS:
            raise ValueError(f"traversal span must be one of {TRAVERSAL_SPANS} and anchor one of {TRAVERSAL_ANCHORS}, "
                             f"not {new.traversal_span!r} and {new.traversal_anchor!r}")
        old, self.figure_settings = self.figure_settings, new
        changed = {FIGURE_OF_SETTING[k] for k in changes if getattr(old, k) != getattr(new, k)}
        if changed:
            self._mark("figure_settings")
            for name in changed:
                self._stale(name)
            if "interpolation" in changed:
                self._update_path()
        self._flush()

    def set_visible_figure(self, name: str | None) -> None:
        if name != self.visible_figure:
            self.visible_figure = name
            self._mark("figures")
        self._flush()

    def claim_stale_visible_figure(self) -> str | None:
        """The visible figure if it needs computing (then no longer stale), else None. Figures are
        computed only when shown: a 40 x 40 manifold is 1,600 decodes, and during training a new
        model arrives every second."""
        name = self.visible_figure
        if name is None or name not in self.stale_figures or self.model is None:
            return None
        self.stale_figures.discard(name)
        return name

    def set_figure_array(self, name: str, array: np.ndarray | None, generation: int, note: str = "") -> None:
        if self.is_current(generation):
            self.figure_arrays[name] = array
            self.figure_notes[name] = note
            self._mark("figures")
            self._flush()

    def refresh_figure(self, name: str) -> None:
        """Figure `name` must be computed again: something it depends on outside this state
        changed (the traversal: the test images that order its rows, or its anchor)."""
        self._stale(name)
        self._flush()

    def _stale(self, name: str) -> None:
        self.stale_figures.add(name)
        self._mark("figures")

    # ============================================================================ messages & events
    def message(self, text: str) -> None:
        self._messages.append(text)
        self._flush()

    def _mark(self, *names: str) -> None:
        self._dirty.update(names)

    def _flush(self) -> None:
        """Emit the events of everything changed since the last flush, in EVENTS order. A callback
        may change the state again: that change is flushed by its own call."""
        while self._dirty or self._messages:
            dirty, self._dirty = self._dirty, set()
            for name in EVENTS:
                if name in dirty:
                    getattr(self.events, name).emit()
            messages, self._messages = self._messages, []
            for text in messages:
                self.events.message.emit(text)

