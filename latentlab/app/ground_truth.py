"""What the window shows of the ground truth, as one Qt-free object that says when it changes.

For the selected image (the explorer's detailed encoding: the newest one dropped, pasted, drawn or
picked from the examples) of a 2-D model: the true posterior p(z|x) on a grid (a coarse first
look, then the full picture) and how to draw it; for any model, the gaps of its ELBO
(core/exact.py: ELBO, ELBO*, log p(x) in 2-D, the L_k curve). And the examples: test images of
the model's data set and the table of their per-image numbers, with its progress.

Each `events.<name>` says that part changed (see EVENTS); callbacks read the state itself. The
background work that fills it is `ground_truth_work.GroundTruthWork`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .events import EventGroup
from .examples import ExampleSet, ExampleTable

EVENTS = (
    "display",      # shown / style / q* toggled
    "selection",    # another image is selected (or none); picture and gaps were cleared
    "picture",      # a new picture of p(z|x) (coarse or full), or none
    "gaps",         # the gaps arrived, or are being computed, or failed
    "examples",     # the example images changed (or why there are none)
    "table",        # rows of the table were filled, or a new table
    "progress",     # the table's progress
)
STYLES = ("heat map", "contours")
# The mass inside the 1σ and 2σ ellipses of a 2-D Gaussian: 1 - exp(-k^2 / 2). The contours of
# p(z|x) enclose its highest-density regions of the same masses, so the two are comparable.
HPD_MASSES = (1 - math.exp(-0.5), 1 - math.exp(-2.0))


def hpd_levels(density: np.ndarray, cell_area: float, masses=HPD_MASSES) -> tuple[float, ...]:
    """The density at the edge of the highest-density regions holding `masses` of the total:
    {z : p(z|x) >= level} holds that share of the mass (on the grid, by the midpoint rule)."""
    values = np.sort(np.asarray(density, dtype=np.float64).reshape(-1))[::-1]
    mass = np.cumsum(values) * cell_area
    mass = mass / mass[-1] if mass[-1] > 0 else mass
    return tuple(float(values[min(int(np.searchsorted(mass, m)), len(values) - 1)]) for m in masses)


@dataclass(frozen=True, eq=False)
class TruePosterior:
    """p(z|x) of the selected image on a grid, ready to draw."""

    encoding_id: str
    coarse: bool                                   # the quick first look
    density: np.ndarray                            # (n, n) per unit area, [i, j] at (z1[i], z2[j])
    extent: tuple[float, float, float, float]      # (z1_min, z1_max, z2_min, z2_max) of the grid's cells
    log_px: float
    levels: tuple[float, float]                    # edges of the 39 % and 86 % HPD regions (1σ, 2σ-like)
    decodes: int

    @classmethod
    def of(cls, encoding_id: str, picture, coarse: bool) -> "TruePosterior":
        """From core.exact.PosteriorPicture."""
        density = np.exp(picture.log_density.detach().cpu().double().numpy())
        n1, n2 = density.shape
        e = tuple(float(v) for v in picture.extent)
        area = (e[1] - e[0]) * (e[3] - e[2]) / (n1 * n2)
        return cls(encoding_id, coarse, density, e, float(picture.log_px), hpd_levels(density, area),
                   int(picture.decodes))


@dataclass(frozen=True)
class Display:
    shown: bool = True          # the true posterior is drawn
    style: str = "heat map"     # or "contours"
    q_star: bool = False        # the optimised q* as a dashed ellipse


@dataclass(frozen=True)
class TableProgress:
    phase: str = ""             # "", "loading", "bounds", "exact", "done", "cancelled", "stale", "failed"
    done: int = 0
    total: int = 0
    note: str = ""              # an error, or why there is no table

    @property
    def running(self) -> bool:
        return self.phase in ("bounds", "exact")

    def text(self) -> str:
        if self.phase == "bounds":
            return f"-ELBO, KL and IW-NLL: {self.done:,} of {self.total:,} images…"
        if self.phase == "exact":
            return f"exact NLL by quadrature: {self.done:,} of {self.total:,} images…"
        if self.phase == "done":
            return f"{self.total:,} images done"
        if self.phase == "cancelled":
            return f"stopped after {self.done:,} of {self.total:,} images"
        if self.phase == "stale":
            return "computed for an earlier state of the model: Compute again for the current one"
        return self.note


class GroundTruthState:
    def __init__(self):
        self.events = EventGroup(*EVENTS)
        self.display = Display()
        self.selected: str | None = None         # the encoding id whose ground truth is shown
        self.selected_name = ""
        self.latent_dim = 0                      # of the model it is computed under
        self.picture: TruePosterior | None = None
        self.gaps = None                         # core.exact.Gaps of the selected image
        self.gaps_pending = False
        self.gaps_error = ""
        self.unavailable = ""                    # why nothing exact exists for this model (M1+M2), or ""
        self.examples: ExampleSet | None = None
        self.examples_note = ""                  # where they come from, or why there are none
        self.table: ExampleTable | None = None
        self.progress = TableProgress()
        self.table_wanted = False                # the table is on screen: compute it

    # -- what the user sets -------------------------------------------------------------------------
    def set_display(self, **changes) -> None:
        new = replace(self.display, **changes)
        if new.style not in STYLES:
            raise ValueError(f"posterior style must be one of {STYLES}, not {new.style!r}")
        if new != self.display:
            self.display = new
            self.events.display.emit()

    def set_table_wanted(self, wanted: bool) -> None:
        self.table_wanted = bool(wanted)

    @property
    def exact_available(self) -> bool:
        """The true posterior and log p(x) exist for 2-D latent spaces only."""
        return self.latent_dim == 2 and not self.unavailable

    # -- what the background work sets --------------------------------------------------------------
    def select(self, encoding_id: str | None, name: str = "", latent_dim: int = 0,
               keep_picture: bool = False, unavailable: str = "") -> None:
        """Another image (or model) is shown: what was computed for the last one goes (the picture
        may stay until its successor arrives, for a newer state of the same model). `unavailable`:
        why nothing exact will come (an M1+M2), shown instead of the gaps."""
        changed = (encoding_id, latent_dim) != (self.selected, self.latent_dim)
        self.selected, self.selected_name, self.latent_dim = encoding_id, name, latent_dim
        self.unavailable = unavailable
        self.gaps, self.gaps_pending, self.gaps_error = None, encoding_id is not None and not unavailable, unavailable
        if self.picture is not None and (changed or not keep_picture):
            self.picture = None
            self.events.picture.emit()
        self.events.selection.emit()
        self.events.gaps.emit()

    def set_picture(self, picture: TruePosterior | None) -> None:
        self.picture = picture
        self.events.picture.emit()

    def set_gaps_pending(self) -> None:
        self.gaps, self.gaps_pending = None, self.selected is not None and not self.unavailable
        self.gaps_error = self.unavailable
        self.events.gaps.emit()

    def set_gaps(self, gaps, error: str = "") -> None:
        self.gaps, self.gaps_pending, self.gaps_error = gaps, False, error
        self.events.gaps.emit()

    def set_examples(self, examples: ExampleSet | None, note: str = "") -> None:
        self.examples, self.examples_note = examples, note
        self.table = None
        self.progress = TableProgress(note=note)
        self.events.examples.emit()
        self.events.table.emit()
        self.events.progress.emit()

    def set_table(self, table: ExampleTable | None) -> None:
        self.table = table
        self.events.table.emit()

    def table_filled(self) -> None:
        self.events.table.emit()

    def set_progress(self, progress: TableProgress) -> None:
        self.progress = progress
        self.events.progress.emit()


# -- captions (functions of the state, for the views) -------------------------------------------------
POSTERIOR_HINT = "True posterior p(z|x): encode an image (drop, draw, or pick one in Examples)"
NEEDS_2D = "The true posterior and log p(x) need a 2-D latent space; this model has {dim}."


def posterior_caption(truth: GroundTruthState) -> str:
    """One line under the canvas controls: what the drawn p(z|x) is, or why there is none."""
    if truth.unavailable:
        return truth.unavailable
    if truth.latent_dim not in (0, 2):
        return NEEDS_2D.format(dim=truth.latent_dim)
    if truth.selected is None:
        return POSTERIOR_HINT
    picture = truth.picture
    if picture is None or picture.encoding_id != truth.selected:
        return f"p(z|x) of {truth.selected_name}: computing…"
    if picture.coarse:
        return f"p(z|x) of {truth.selected_name}: first look; log p(x) ≈ {picture.log_px:.2f} nats"
    return f"p(z|x) of {truth.selected_name}: log p(x) = {picture.log_px:.2f} nats ({picture.decodes:,} decodes)"


def focus_box(truth: GroundTruthState, state) -> tuple[float, float, float, float] | None:
    """Where the selected image's ground truth is on the canvas: the box around its posterior's
    86 % region (2-D), its q's and q*'s 2σ ellipses, with a margin; None with nothing selected.
    A trained model's p(z|x) is often a few hundredths wide: the canvas zooms here on request."""
    from .plane import Ellipse

    encoding = state.encodings.get(truth.selected) if truth.selected is not None else None
    plane, points = state.plane, []
    picture = truth.picture
    if picture is not None and picture.encoding_id == truth.selected and truth.exact_available:
        n1, n2 = picture.density.shape
        i, j = np.nonzero(picture.density >= picture.levels[1])
        e = picture.extent
        h1, h2 = (e[1] - e[0]) / n1, (e[3] - e[2]) / n2
        points += [[e[0] + h1 * i.min(), e[2] + h2 * j.min()], [e[0] + h1 * (i.max() + 1), e[2] + h2 * (j.max() + 1)]]
    gaussians = []
    if encoding is not None and encoding.posterior is not None and encoding.posterior.mu.shape == (plane.latent_dim,):
        gaussians.append((encoding.posterior.mu, np.exp(encoding.posterior.logvar)))
    if truth.gaps is not None and len(truth.gaps.mu_star) == plane.latent_dim:
        gaussians.append((np.array(truth.gaps.mu_star), np.exp(np.array(truth.gaps.logvar_star))))
    for mu, var in gaussians:
        points += list(Ellipse.from_covariance(*plane.project_gaussian(mu, var)).outline(2.0))
    if not points:
        return None
    points = np.asarray(points, dtype=np.float64)
    lo, hi = points.min(0), points.max(0)
    pad = 0.6 * np.maximum(hi - lo, 1e-3).max()
    return (float(lo[0] - pad), float(hi[0] + pad), float(lo[1] - pad), float(hi[1] + pad))
