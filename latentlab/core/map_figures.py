"""Pictures of latent maps as uint8 RGB arrays (no Qt, no matplotlib): the magnification map, the
aggregate posterior with the prior's circles and its holes, and the traversal grid (grey or RGB as
the model's images, with its labels drawn in core.pixel_text's font: `traversal_figure`).

They are what `latentlab figure` writes through core.figure_files (which scales and encodes them).
Grids follow core.geometry / core.aggregate: values[i, j] at (u[i], v[j]); in the picture u runs
left to right and v bottom to top, one pixel per grid cell, as on the canvas.
"""

from __future__ import annotations

import numpy as np
import torch

from .figures import image_grid, to_uint8
from .pixel_text import ADVANCE, GLYPH_H, draw_text, text_size

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
ACTIVE_GREY, COLLAPSED_GREY = 255, 64      # the traversal's strip (and label) of an active / collapsed row
COLLAPSED_TEXT_GREY = 120
DIVIDER_GREY = 128               # the line between the last active and the first collapsed row


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


# -- the labelled traversal (the window's figure and `latentlab figure --kind traversal`) ---------
def _kl_text(kl: float) -> str:
    """A KL in nats in 4 characters: 0.00 .. 9.99, 10.0 .. 99.9, 100 .. 9999."""
    for digits, limit in ((2, 9.995), (1, 99.95), (0, 9999.5)):
        if kl < limit:
            return f"{max(kl, 0.0):.{digits}f}"
    return "9999"


class TraversalLayout:
    """Where everything of a labelled traversal goes, known before any decoding (the export dialog
    offers sizes first): a header line with the swept values over the first, middle and last
    columns and "KL nats" over the labels; then one row per dimension: its label ("z12 3.21"),
    the 3-px strip (white: active, dark: collapsed), the decoded images 1 px apart."""

    def __init__(self, latent_dim: int, steps: int, image_shape, padding: int = 1):
        _, self.h, self.w = (int(v) for v in image_shape)
        self.rows, self.steps, self.pad = int(latent_dim), int(steps), padding
        self.scale = max(1, self.h // 14)                  # 14 px letters beside a 28 px digit
        self.name_chars = 1 + len(str(self.rows))          # "z" and the widest dimension number
        self.label_chars = self.name_chars + 1 + 4         # "z12 3.21"
        label_width = max(text_size(" " * self.label_chars, self.scale)[1], text_size("KL nats", self.scale)[1])
        self.label_x = self.scale
        self.strip_x = self.label_x + label_width + 3 * self.scale
        self.images_x = self.strip_x + 3 + 2 * padding
        self.row_h = max(self.h, GLYPH_H * self.scale)
        self.header_h = GLYPH_H * self.scale + 2 * self.scale
        self.images_y = self.header_h + padding
        self.width = self.images_x + self.steps * (self.w + padding)
        self.height = self.images_y + self.rows * (self.row_h + padding)

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    def row_y(self, r: int) -> int:
        return self.images_y + r * (self.row_h + self.pad)

    def column_x(self, k: int) -> int:
        return self.images_x + k * (self.w + self.pad)


def traversal_figure(images: torch.Tensor, dims, kl=None, span: float | str = 3.0, latent_dim: int | None = None,
                     padding: int = 1) -> np.ndarray:
    """The rows of core.traversal.traversal (images (rows, steps, C, H, W) of dimensions `dims`)
    labelled: each row "z<d> <KL in nats>" (d 1-based), its strip white when the dimension is
    active and dark when collapsed (then its label grey, and a grey line above the first
    collapsed row); over the columns the swept values (-s, 0, +s or -3σ, μ, +3σ of the anchor's
    posterior for span "posterior"). `kl` a core.traversal.DimensionKL, or None: no KL, no marks.
    uint8 (H, W) for grey images, (H, W, 3) for RGB; its shape is TraversalLayout's."""
    rows, steps, c = images.shape[0], images.shape[1], images.shape[2]
    if len(dims) != rows:
        raise ValueError(f"dims must name one dimension per row ({rows}), got {len(dims)}")
    layout = TraversalLayout(latent_dim or rows, steps, images.shape[2:], padding)
    tiles = to_uint8(images.reshape(rows * steps, *images.shape[2:]))       # (rows * steps, H, W, C)
    picture = np.zeros((layout.height, layout.width, c), np.uint8)
    s = layout.scale
    draw_text(picture, "KL nats", s, layout.label_x, 255, s)
    _draw_column_values(picture, layout, span)
    previous_active = True
    for r, dim in enumerate(dims):
        y = layout.row_y(r)
        for k in range(steps):
            x = layout.column_x(k)
            picture[y:y + layout.h, x:x + layout.w] = tiles[r * steps + k]
        active = True if kl is None else bool(kl.active[dim])
        name = f"z{dim + 1}".ljust(layout.name_chars)
        label = name + (" " + _kl_text(float(kl.kl[dim])) if kl is not None else "")
        ty = y + (layout.h - GLYPH_H * s) // 2 if layout.h >= GLYPH_H * s else y
        draw_text(picture, label, ty, layout.label_x, 255 if active else COLLAPSED_TEXT_GREY, s)
        if kl is not None:
            picture[y:y + layout.h, layout.strip_x:layout.strip_x + 3] = ACTIVE_GREY if active else COLLAPSED_GREY
            if previous_active and not active and r > 0:
                picture[y - padding:y] = DIVIDER_GREY
        previous_active = active
    return picture[..., 0] if c == 1 else picture


def _draw_column_values(picture: np.ndarray, layout: TraversalLayout, span) -> None:
    """The swept values over the first, middle (odd steps) and last columns, at the label scale
    when they fit side by side, else at 1, else not at all."""
    if span == "posterior":
        texts = ["-3σ", "μ", "+3σ"]
    else:
        texts = [f"-{float(span):g}", "0", f"+{float(span):g}"]
    columns = [0, layout.steps // 2, layout.steps - 1] if layout.steps % 2 else [0, None, layout.steps - 1]
    room = layout.steps * (layout.w + layout.pad)
    for scale in (layout.scale, 1):
        widths = [text_size(t, scale)[1] for t, k in zip(texts, columns) if k is not None]
        if sum(widths) + 2 * ADVANCE * scale <= room:
            break
    else:
        return
    y = layout.scale + GLYPH_H * (layout.scale - scale)       # bottoms aligned with "KL nats"
    for text, k in zip(texts, columns):
        if k is None:
            continue
        width = text_size(text, scale)[1]
        x = layout.column_x(k)
        left = x if k == 0 else (x + layout.w - width if k == layout.steps - 1 else x + (layout.w - width) // 2)
        draw_text(picture, text, y, left, 255, scale)
