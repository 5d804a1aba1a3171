"""The explorer's captions, as functions of its state, so that no caption outlives what it describes.

The views set these texts whenever the part of the state they describe changes; tests check them
without a window. (Before, a caption was set once by whatever action last touched it, and a new
model left "(z3, z7)" under a 2-D manifold or the name of an image that was gone.)
"""

from __future__ import annotations

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
    if state.path is None:
        return INTERPOLATION_HINT
    names = dict(state.endpoint_choices())
    start, end = (names.get(i, "?") for i in state.endpoints)
    settings = state.figure_settings
    return (f"{start} → {end}, {len(state.path)} steps, {settings.mode} "
            "(the path is drawn on the canvas).")
