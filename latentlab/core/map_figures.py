"""Pictures of latent maps as uint8 RGB arrays (no Qt, no matplotlib): the magnification map, the
aggregate posterior with the prior's circles and its holes, and the traversal grid.

They are what `latentlab figure` writes through core.figure_files (which scales and encodes them).
Grids follow core.geometry / core.aggregate: values[i, j] at (u[i], v[j]); in the picture u runs
left to right and v bottom to top, one pixel per grid cell, as on the canvas.
"""

from __future__ import annotations

import numpy as np
import torch

from .figures import image_grid

# Viridis (van der Walt & Smith, matplotlib's default; CC0) at 9 evenly spaced stops; between
# them linear interpolation, which stays within a few levels of the full 256-entry table.
_VIRIDIS_STOPS = np.array([
    (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
    (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37)], dtype=np.float64)
VIRIDIS = np.stack([np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_VIRIDIS_STOPS)), _VIRIDIS_STOPS[:, k])
                    for k in range(3)], axis=1).round().astype(np.uint8)   # (256, 3)

CIRCLE_RGB = (255, 255, 255)     # the prior's 1- and 2-sigma circles
HOLE_RGB = (255, 64, 64)         # the outline of the holes of q(z)
DENSITY_RANGE = 8.0              # nats of log q(z) below its peak that the colour map spans


def to_picture(values: np.ndarray) -> np.ndarray:
    """A grid [i, j] at (u[i], v[j]) turned into picture rows (v from the top down) and columns (u)."""
    return np.asarray(values).T[::-1]


def colour_map(values: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """(H, W) floats -> (H, W, 3) uint8 through VIRIDIS, lo..hi (default: the finite min..max)
    from dark to bright; -inf and values below lo are the darkest colour, NaN too."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    lo = float(finite.min()) if lo is None and finite.size else (0.0 if lo is None else lo)
    hi = float(finite.max()) if hi is None and finite.size else (lo if hi is None else hi)
    t = (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
    t = np.nan_to_num(t, nan=0.0, posinf=1.0, neginf=0.0).clip(0, 1)
    return VIRIDIS[(t * 255).round().astype(np.intp)]


def magnification_picture(log_magnification: np.ndarray) -> np.ndarray:
    """The log magnification map of core.geometry.magnification_grid as an RGB picture (n x n px),
    log scale from its smallest finite value (dark) to its largest (bright)."""
    return colour_map(to_picture(log_magnification))


def _outline(mask: np.ndarray) -> np.ndarray:
    """The cells of `mask` with a 4-neighbour outside it (or on the picture's edge)."""
    padded = np.pad(mask, 1, constant_values=False)
    inner = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return mask & ~inner


def aggregate_picture(density: torch.Tensor, prior: torch.Tensor, hole_mask: torch.Tensor, z1: torch.Tensor,
                      z2: torch.Tensor, centre=(0.0, 0.0), span: float = DENSITY_RANGE) -> np.ndarray:
    """q(z) from core.aggregate.aggregate_density as an RGB picture (n x n px): log q(z) over the
    `span` nats below its peak on the colour map, the prior's 1- and 2-sigma circles around
    `centre` in white, the holes (core.aggregate.holes) outlined in red."""
    q = density.double().cpu().numpy()
    with np.errstate(divide="ignore"):
        log_q = np.log(q)
    top = float(np.nanmax(log_q)) if np.isfinite(log_q).any() else 0.0
    rgb = colour_map(to_picture(log_q), top - span, top)
    u, v = z1.double().cpu().numpy(), z2.double().cpu().numpy()
    cell = max(abs(u[1] - u[0]) if len(u) > 1 else 1.0, abs(v[1] - v[0]) if len(v) > 1 else 1.0)
    r = np.hypot(u[:, None] - centre[0], v[None, :] - centre[1])
    circles = np.zeros_like(r, dtype=bool)
    for radius in (1.0, 2.0):
        circles |= np.abs(r - radius) <= 0.5 * cell
    rgb[to_picture(circles)] = CIRCLE_RGB
    rgb[to_picture(_outline(hole_mask.cpu().numpy().astype(bool)))] = HOLE_RGB
    return rgb


def traversal_picture(images: torch.Tensor, active=None, padding: int = 1) -> np.ndarray:
    """The rows of core.traversal.traversal (images (rows, steps, C, H, W)) as one grid, one row
    per dimension; with `active` (one flag per row) a 3-pixel strip at the left of each row is
    white for an active dimension and dark grey for a collapsed one."""
    rows, steps = images.shape[:2]
    grid = image_grid(images.reshape(rows * steps, *images.shape[2:]), nrow=steps, padding=padding)
    if active is None:
        return grid
    flags = [bool(a) for a in active]
    if len(flags) != rows:
        raise ValueError(f"active must hold one flag per row ({rows}), got {len(flags)}")
    strip = np.zeros((grid.shape[0], 3 + padding) + grid.shape[2:], np.uint8)
    h = images.shape[-2]
    for r, flag in enumerate(flags):
        y = padding + r * (h + padding)
        strip[y:y + h, :3] = 255 if flag else 64
    return np.concatenate([strip, grid], axis=1)
