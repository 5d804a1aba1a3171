"""Image grids from a model, as uint8 arrays (no Qt): samples, the learned manifold, strips.

The CLI writes them with Pillow; the GUI shows the same arrays.
"""

from __future__ import annotations

import numpy as np
import torch

from .models import VAE


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) in [0, 1] -> (B, H, W, C) uint8."""
    return (images.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def image_grid(images: torch.Tensor, nrow: int, padding: int = 1, pad_value: int = 0) -> np.ndarray:
    """Tile (B, C, H, W) images row by row into one (rows*H, nrow*W) grey or (.., 3) RGB array."""
    tiles = to_uint8(images)
    b, h, w, c = tiles.shape
    ncol = nrow
    nrows = -(-b // ncol)
    grid = np.full((nrows * (h + padding) + padding, ncol * (w + padding) + padding, c), pad_value, np.uint8)
    for i in range(b):
        r, k = divmod(i, ncol)
        y, x = padding + r * (h + padding), padding + k * (w + padding)
        grid[y:y + h, x:x + w] = tiles[i]
    return grid[..., 0] if c == 1 else grid


def manifold_latents(n: int = 20, lo: float = 0.05, hi: float = 0.95) -> torch.Tensor:
    """The AEVB Figure 4 grid: n x n evenly spaced probabilities through the Gaussian inverse CDF.

    Row 0 is the top of the picture, so z2 decreases down the rows and z1 increases along them,
    matching a plot with z2 pointing up. Returns (n*n, 2).
    """
    p = torch.linspace(lo, hi, n, dtype=torch.float64)
    values = torch.special.ndtri(p).float()
    z1 = values.repeat(n)
    z2 = values.flip(0).repeat_interleave(n)
    return torch.stack([z1, z2], dim=1)


@torch.no_grad()
def manifold(model: VAE, n: int = 20, padding: int = 0) -> np.ndarray:
    """Decoded means over the manifold grid of a 2-D model, as one image."""
    if model.latent_dim != 2:
        raise ValueError(f"the manifold figure needs a 2-D latent space; this model has {model.latent_dim} "
                         "dimensions (use prior samples instead)")
    z = manifold_latents(n).to(model.device)
    return image_grid(model.decode(z), nrow=n, padding=padding)


@torch.no_grad()
def prior_samples(model: VAE, n: int = 64, seed: int = 0, sample_x: bool = False) -> np.ndarray:
    """AEVB Figure 5: decoder means (or samples of p(x|z)) for z drawn from the prior."""
    g = torch.Generator(device=model.device).manual_seed(seed)
    z = torch.randn(n, model.latent_dim, generator=g, device=model.device)
    images = model.sample_x(z, generator=g) if sample_x else model.decode(z)
    return image_grid(images, nrow=int(np.ceil(np.sqrt(n))), padding=1)


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int, mode: str = "linear") -> torch.Tensor:
    """Points from z0 to z1 (both (D,)), `steps` of them; 'spherical' is slerp (White 2016)."""
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)[:, None]
    if mode == "linear":
        return (1 - t) * z0 + t * z1
    if mode != "spherical":
        raise ValueError(f"mode must be 'linear' or 'spherical', got {mode!r}")
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1, 1))
    if omega.abs() < 1e-6:
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def save_png(array: np.ndarray, path) -> None:
    from PIL import Image

    Image.fromarray(array).save(path)
