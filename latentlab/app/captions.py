"""The explorer's captions, as functions of its state, so that no caption outlives what it describes.

The views set these texts whenever the part of the state they describe changes; tests check them
without a window. (Before, a caption was set once by whatever action last touched it, and a new
model left "(z3, z7)" under a 2-D manifold or the name of an image that was gone.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .explorer_state import ExplorerState
from .plane import log_prior_density

READOUT_HINT = "z = –   move over the canvas to decode; click to pin"
ENCODED_HINT = "Drop image files on the canvas, paste one (Ctrl+V), or draw."
MANIFOLD_PAPER = ("Decoded means of z = Φ⁻¹(p) for p evenly spaced in (0.05, 0.95) on both axes "
                  "(Kingma & Welling 2014, Fig. 4): equal steps of prior probability, not of z.")
PRIOR_SAMPLES = "z ~ N(0, I), decoded (Kingma & Welling 2014, Fig. 5). Works for any latent dimension."
INTERPOLATION_HINT = "Pin two points (click the canvas) or encode two images to interpolate between them."


def readout(state: ExplorerState) -> str:
    """z under the mouse with log p(z) and p(z); long vectors are cut so the line fits beside a
    narrow canvas (the pins' CSV export has them in full)."""
    z = state.hover
    if z is None or state.model is None:
        return READOUT_HINT
    shown = ", ".join(f"{v:+.2f}" for v in z[:4]) + (f", … ({len(z)}-D)" if len(z) > 4 else "")
    log_p = log_prior_density(z)
    return f"z = ({shown})   log p(z) = {log_p:.2f}   p(z) = {np.exp(log_p):.3g}"


def encoded_hint(state: ExplorerState) -> str:
    encoding = state.detailed_encoding()
    if encoding is None:
        return ENCODED_HINT
    return (f"{encoding.name}: input after preprocessing, its reconstruction (decoded posterior mean), "
            "and decoded draws from q(z|x) (x marks on the canvas).")


def manifold(state: ExplorerState) -> str:
    plane = state.plane
    if state.model is None or plane.latent_dim <= 2:
        return MANIFOLD_PAPER
    return (f"The grid spans the plane shown on the canvas ({plane.labels[0]}, {plane.labels[1]}); "
            "the other coordinates are held at the plane's anchor.")


def interpolation(state: ExplorerState) -> str:
    names = dict(state.endpoint_choices())
    start, end = (names.get(i, "?") for i in state.endpoints)
    if state.path is None:
        return f"{start} → {end}: finding the geodesic…" if state.geodesic_pending() else INTERPOLATION_HINT
    settings = state.figure_settings
    text = f"{start} → {end}, {len(state.path)} steps, {settings.mode} (the path is drawn on the canvas)."
    comparison = state.shown_comparison()
    if comparison is not None:
        lengths = comparison.lengths
        text += (f" Decoded length (how much the image changes along the path): linear {lengths['linear']:.1f}, "
                 f"spherical {lengths['spherical']:.1f}, geodesic {lengths['geodesic']:.1f}"
                 f" ({100 * comparison.shortening():.0f} % shorter than the line).")
    return text


def sample_label(index: int) -> str:
    """The name of draw `index` (0-based) from q(z|x): s1, s2, ... on the canvas and under the
    thumbnails alike (z1, z2 name the latent axes)."""
    return f"s{index + 1}"


# -- interpolation paths that leave the data ---------------------------------------------------------
FAR_RATIO = 1.5            # the path's largest |z| over its longer end's: past this its middle leaves the data
OPPOSITE_DEGREES = 150.0   # ends this far apart (seen from the origin) make slerp's path ill-defined


@dataclass(frozen=True)
class PathCheck:
    """How far an interpolation path strays from its ends (norms in latent space, all D dims)."""

    angle: float                       # degrees between the two ends, seen from the origin
    end_norms: tuple[float, float]
    far_index: int                     # the step with the largest |z|
    far_norm: float

    @property
    def far(self) -> bool:
        return self.far_norm > FAR_RATIO * max(self.end_norms)

    @property
    def opposite(self) -> bool:
        return self.angle > OPPOSITE_DEGREES


def check_path(path: np.ndarray) -> PathCheck:
    """The check of a path (steps, D) from its first point to its last."""
    path = np.asarray(path, dtype=np.float64)
    norms = np.linalg.norm(path, axis=1)
    a, b = path[0], path[-1]
    denominator = norms[0] * norms[-1]
    cos = float(a @ b / denominator) if denominator > 0 else 1.0
    far_index = int(np.argmax(norms))
    return PathCheck(math.degrees(math.acos(max(-1.0, min(1.0, cos)))), (float(norms[0]), float(norms[-1])),
                     far_index, float(norms[far_index]))


def path_warning(state: ExplorerState) -> str:
    """Why a spherical path's middle images look like nothing the model has seen, or "".

    Slerp keeps |z| between the ends' norms only when the ends are not nearly opposite: between
    ends about 180° apart of unequal length it divides by sin(angle) ~ 0 and swings out far from
    the origin, where neither the prior nor the data put any mass (a 2-D model's test set lies
    within |z| of about 3), and the decoder draws near-blank or saturated frames.
    """
    if state.path is None or state.figure_settings.mode != "spherical" or len(state.path) < 2:
        return ""
    check = check_path(state.path)
    n0, n1 = check.end_norms
    if check.far:
        return (f"Far from the data: these ends are {check.angle:.0f}° apart, so the spherical path swings out "
                f"to |z| = {check.far_norm:.1f} (its ends are at |z| = {n0:.1f} and {n1:.1f}), where neither the "
                "prior nor the encoded data are: the middle images show the decoder where it learned nothing. "
                "A linear path stays between the ends.")
    if check.opposite:
        return (f"These ends are nearly opposite ({check.angle:.0f}° apart): the spherical path's direction is "
                "ill-defined, and a small move of either end swings it to the other side of the origin.")
    return ""


def path_note(state: ExplorerState) -> tuple[str, int | None]:
    """The canvas' note at the far point of a path that leaves the data: ("|z| = 19.3", step), or ("", None)."""
    if not path_warning(state):
        return "", None
    check = check_path(state.path)
    return (f"|z| = {check.far_norm:.1f}", check.far_index) if check.far else ("", None)
