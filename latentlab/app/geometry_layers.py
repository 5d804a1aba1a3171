"""What the canvas shows of the latent geometry (issue 11), as one Qt-free object that says when it changes.

Two layers under everything else on the canvas, each toggled by the user:

* the **magnification** map: log sqrt(det(J^T J)) of the decoder mean on the shown plane
  (core/geometry.py), bright where a small step in z changes the image a lot (between classes),
  dark where it changes nothing (empty regions far from the data);
* the **aggregate posterior** q(z) = (1/N) sum_n q(z|x_n) of the examples (the test images as the
  model was trained on them, app/examples.py) on the plane, its holes (the prior high, q(z) low:
  where prior samples decode to images unlike the data) and the "ELBO surgery" numbers
  E KL(q(z|x) || p(z)) = I(x; z) + KL(q(z) || p(z)) (core/aggregate.py).

Maps are computed for the region the canvas shows (`view`) with a margin, so a small pan or zoom
needs no new map (`covers`). The background work that fills this is `geometry_work.GeometryWork`;
views read the state when its `events.<name>` fire (see EVENTS).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .events import EventGroup
from .plane import LatentPlane

EVENTS = (
    "shown",           # a layer was switched on or off
    "view",            # the canvas shows another region (a map may no longer cover it)
    "magnification",   # a new magnification map, or none
    "aggregate",       # a new map of q(z), or none
    "numbers",         # the ELBO surgery numbers arrived, or are being computed, or failed
    "status",          # what is being computed, or why nothing can be (a caption's worth)
)
MAGNIFICATION_N = 128          # grid cells per side of the magnification map
AGGREGATE_N = 256              # and of q(z)
MARGIN = 0.25                  # maps reach this share of the view's larger side beyond each edge
ZOOM_LIMIT = 3.0               # a map more than this many times wider than the view is made again (too coarse)
SURGERY_SAMPLES = 4000         # Monte Carlo draws of the ELBO surgery above 2-D (standard error ~1-2 %)
SURGERY_SEED = 0
SURGERY_MAX_SIDE = 512         # cells per side at most of the 2-D surgery's grid (its cost grows with the square)

Extent = tuple[float, float, float, float]     # (u_min, u_max, v_min, v_max) in canvas coordinates


def map_extent(view: Extent, margin: float = MARGIN) -> Extent:
    """The square grid to compute for a view: centred on it, its side the view's larger side plus
    `margin` of it beyond each edge (square cells, as the canvas' locked aspect shows them)."""
    u0, u1, v0, v1 = view
    half = 0.5 * max(u1 - u0, v1 - v0, 1e-9) * (1.0 + 2.0 * margin)
    cu, cv = 0.5 * (u0 + u1), 0.5 * (v0 + v1)
    return (cu - half, cu + half, cv - half, cv + half)


def covers(extent: Extent | None, view: Extent | None, zoom_limit: float = ZOOM_LIMIT) -> bool:
    """Whether a map over `extent` still serves `view`: the view lies inside it and the map is not so
    much larger that its cells look coarse (zoomed in more than `zoom_limit` x)."""
    if extent is None or view is None:
        return False
    u0, u1, v0, v1 = view
    inside = extent[0] <= u0 and u1 <= extent[1] and extent[2] <= v0 and v1 <= extent[3]
    side = max(u1 - u0, v1 - v0, 1e-12)
    return inside and (extent[1] - extent[0]) <= zoom_limit * side


def same_plane(a: LatentPlane | None, b: LatentPlane | None) -> bool:
    """The same plane through the same point (a map made on one is right for the other)."""
    return (a is not None and b is not None and a.basis.shape == b.basis.shape
            and np.array_equal(a.basis, b.basis) and np.array_equal(a.offset, b.offset))


def outline_segments(mask: np.ndarray, extent: Extent) -> np.ndarray:
    """The outline of a boolean grid mask [i, j] (cell (i, j) of `extent`) as line segments
    (K, 2, 2) in canvas coordinates: every cell edge with the mask on one side only (the grid's
    border counts as outside). Vectorised, so it is made with the map off the GUI thread, which
    then draws it as one path (a traced isocurve of a 256 x 256 mask took ~20 ms there)."""
    mask = np.asarray(mask, dtype=bool)
    n1, n2 = mask.shape
    h1, h2 = (extent[1] - extent[0]) / n1, (extent[3] - extent[2]) / n2
    padded = np.pad(mask, 1)
    i, j = np.nonzero(padded[1:, 1:-1] != padded[:-1, 1:-1])      # edges at u = e0 + i h1, cell j along v
    u, v = extent[0] + i * h1, extent[2] + j * h2
    across = np.stack([np.stack([u, v], 1), np.stack([u, v + h2], 1)], 1)
    i, j = np.nonzero(padded[1:-1, 1:] != padded[1:-1, :-1])      # edges at v = e2 + j h2, cell i along u
    u, v = extent[0] + i * h1, extent[2] + j * h2
    along = np.stack([np.stack([u, v], 1), np.stack([u + h1, v], 1)], 1)
    return np.concatenate([across, along]).reshape(-1, 2, 2)


def fits_plane(map_plane: LatentPlane, plane: LatentPlane) -> bool:
    """Whether a map made on `map_plane` may be drawn on the canvas of `plane` until its successor
    arrives: the same directions (the anchor may have moved), or both the PCA plane, which turns
    a little with every new encoding of the test set while a model trains."""
    return map_plane.basis.shape == plane.basis.shape and (
        np.array_equal(map_plane.basis, plane.basis) or map_plane.kind == plane.kind == "pca")


@dataclass(frozen=True, eq=False)
class MagnificationMap:
    """The log magnification on an n x n grid of the plane, [i, j] at cell (i, j) of `extent`."""

    log_magnification: np.ndarray      # (n, n) float64, natural log; -inf where J^T J is singular
    extent: Extent
    plane: LatentPlane
    generation: int                    # the explorer's model generation it was computed under

    def finite_range(self) -> tuple[float, float] | None:
        """The smallest and largest finite value (the colour bar's ends), or None if there are none."""
        finite = self.log_magnification[np.isfinite(self.log_magnification)]
        return (float(finite.min()), float(finite.max())) if finite.size else None


@dataclass(frozen=True, eq=False)
class AggregateMap:
    """q(z) of the examples on an n x n grid of the plane, with its holes."""

    log_density: np.ndarray            # (n, n) float64, log q(z) per unit area; -inf where it underflows
    holes: np.ndarray                  # (n, n) bool: inside the prior's 2σ disc with q(z) < 0.1 p(z)
    extent: Extent
    plane: LatentPlane
    generation: int
    n_images: int
    hole_edges: np.ndarray | None = None   # (K, 2, 2) segments of the holes' outline (outline_segments)

    def outline(self) -> np.ndarray:
        return outline_segments(self.holes, self.extent) if self.hole_edges is None else self.hole_edges

    @property
    def peak(self) -> float:
        finite = self.log_density[np.isfinite(self.log_density)]
        return float(finite.max()) if finite.size else 0.0

    @property
    def hole_cells(self) -> int:
        return int(self.holes.sum())

    def hole_share(self) -> float:
        """The share of the prior's 2σ disc (on the grid) that is a hole."""
        n1, n2 = self.holes.shape
        e = self.extent
        area = (e[1] - e[0]) * (e[3] - e[2]) / (n1 * n2)
        return min(1.0, self.hole_cells * area / (math.pi * 4.0))


@dataclass(frozen=True)
class Shown:
    magnification: bool = False
    aggregate: bool = False


class GeometryLayers:
    def __init__(self):
        self.events = EventGroup(*EVENTS)
        self.shown = Shown()
        self.view: Extent | None = None              # what the canvas shows, in canvas coordinates
        self.magnification: MagnificationMap | None = None
        self.aggregate: AggregateMap | None = None
        self.surgery = None                          # core.aggregate.Surgery of the examples, or None
        self.surgery_generation = 0                  # the model generation the numbers belong to
        self.computing: frozenset[str] = frozenset()  # of "magnification", "aggregate", "numbers"
        self.notes: dict[str, str] = {}              # per layer: why it cannot be drawn (a failure, no examples)
        self.note = ""                               # why no layer can be computed (no model)

    # -- what the user (or the view) sets ------------------------------------------------------------
    def set_shown(self, **changes) -> None:
        """set_shown(magnification=True) / (aggregate=False): switch a layer on or off."""
        new = replace(self.shown, **{k: bool(v) for k, v in changes.items()})
        if new != self.shown:
            self.shown = new
            self.events.shown.emit()

    def set_view(self, view) -> None:
        """The region the canvas shows, (u_min, u_max, v_min, v_max); ignored unless finite and not empty."""
        try:
            u0, u1, v0, v1 = (float(x) for x in view)
        except (TypeError, ValueError):
            return
        if not (np.isfinite([u0, u1, v0, v1]).all() and u0 < u1 and v0 < v1):
            return
        if (u0, u1, v0, v1) != self.view:
            self.view = (u0, u1, v0, v1)
            self.events.view.emit()

    # -- what the background work sets ---------------------------------------------------------------
    def set_magnification(self, picture: MagnificationMap | None) -> None:
        self.magnification = picture
        self.events.magnification.emit()

    def set_aggregate(self, picture: AggregateMap | None) -> None:
        self.aggregate = picture
        self.events.aggregate.emit()

    def set_surgery(self, surgery, generation: int) -> None:
        self.surgery, self.surgery_generation = surgery, generation
        self.events.numbers.emit()

    def set_computing(self, what: str, on: bool) -> None:
        new = self.computing | {what} if on else self.computing - {what}
        if new != self.computing:
            self.computing = frozenset(new)
            self.events.status.emit()

    def set_layer_note(self, layer: str, text: str) -> None:
        """Why `layer` ("magnification" or "aggregate") is not drawn ("" once it can be)."""
        if self.notes.get(layer, "") != text:
            if text:
                self.notes[layer] = text
            else:
                self.notes.pop(layer, None)
            self.events.status.emit()

    def set_note(self, note: str) -> None:
        if note != self.note:
            self.note = note
            self.events.status.emit()


# -- captions (functions of the state, for the views) -------------------------------------------------
def surgery_text(surgery) -> str:
    """'I(x;z) = 3.12 nats, KL(q(z)||p(z)) = 0.80 nats (10,000 images)', ± its standard error for
    a Monte Carlo estimate."""
    if surgery is None:
        return ""
    se = f" ± {surgery.stderr:.2f}" if surgery.stderr is not None and math.isfinite(surgery.stderr) else ""
    return (f"I(x;z) = {surgery.mutual_information:.2f}{se} nats, KL(q(z)||p(z)) = {surgery.marginal_kl:.2f}{se} nats "
            f"({surgery.n_images:,} images)")


def geometry_caption(layers: GeometryLayers, latent_dim: int = 2) -> str:
    """One line under the layer toggles: what each layer shows, or why not, or that it is coming."""
    shown = layers.shown
    if not (shown.magnification or shown.aggregate):
        return ("Layers under the canvas: where the decoder stretches space (magnification), and the "
                "aggregate posterior q(z) of the test images with its holes in the prior.")
    if layers.note:
        return layers.note
    parts = []
    plane = " on the shown plane" if latent_dim > 2 else ""
    if shown.magnification:
        if "magnification" in layers.notes:
            parts.append(layers.notes["magnification"])
        elif "magnification" in layers.computing or layers.magnification is None:
            parts.append("magnification: computing…")
        else:
            n = layers.magnification.log_magnification.shape[0]
            parts.append(f"log magnification{plane} ({n}×{n})")
    if shown.aggregate:
        if "aggregate" in layers.notes:
            parts.append(layers.notes["aggregate"])
        elif layers.surgery is not None:
            computing = "aggregate" in layers.computing or "numbers" in layers.computing
            parts.append(surgery_text(layers.surgery) + (" — updating…" if computing else ""))
        else:
            parts.append("q(z) of the test images: computing…")
    return "; ".join(parts)
