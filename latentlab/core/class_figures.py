"""Figures of a semi-supervised model (core/m2.py) over all its classes at once. No Qt.

`class_samples`: one row per class, the same prior draws of the style z in every row, so a column
is one style written as each class (the paper's Figure 1 reading of M2: y and z apart).
`class_manifolds`: the learned 2-D style manifold (core.figures.manifold) of each class, tiled
(the paper's Figure 1 (a)). For one class, every VAE figure applies to `model.given(y)`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .figures import image_grid, manifold

MANIFOLD_GAP = 4             # px between the manifolds of two classes
MANIFOLDS_PER_ROW = 5


@torch.no_grad()
def class_samples(model, n: int = 10, seed: int = 0, sample_x: bool = False) -> np.ndarray:
    """K rows (class 0 at the top) of `n` decoded means: column j is z_j ~ N(0, I) (drawn with
    `seed`) decoded as each class; `sample_x`: a draw from each Bernoulli p(x|y, z_j) instead
    (M2 on pixels). uint8 (H, W) or (H, W, 3), 1 px between images."""
    g = torch.Generator(device=model.device).manual_seed(seed)
    z = torch.randn(n, model.latent_dim, generator=g, device=model.device)
    k = model.num_classes
    y = torch.arange(k, device=model.device)[:, None].expand(k, n)
    images = model.decode(z[None].expand(k, n, z.shape[-1]), y)          # (K, n, C, H, W)
    if sample_x:
        images = torch.bernoulli(images, generator=g)
    return image_grid(images.reshape(k * n, *images.shape[2:]), nrow=n, padding=1)


def class_manifolds(model, n: int = 10, per_row: int = MANIFOLDS_PER_ROW, gap: int = MANIFOLD_GAP) -> np.ndarray:
    """The n x n manifold of each class of a 2-D style z, left to right and top to bottom in class
    order, `per_row` in a row, `gap` px of grey between them."""
    pictures = [manifold(model.given(y), n) for y in range(model.num_classes)]
    h, w = pictures[0].shape[:2]
    per_row = min(per_row, len(pictures))
    rows = math.ceil(len(pictures) / per_row)
    out = np.full((rows * h + (rows - 1) * gap, per_row * w + (per_row - 1) * gap, *pictures[0].shape[2:]),
                  64, np.uint8)
    for i, picture in enumerate(pictures):
        r, c = divmod(i, per_row)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = picture
    return out
