"""Three paths between the interpolation's two ends, and how long each is once decoded. No Qt.

A straight line in latent space is not the shortest way between two images: where the decoder
stretches space (between classes, say) a small step in z is a large change of the image. The
decoded length of a path, sum_i ||mean(z_{i+1}) - mean(z_i)|| over its steps (core.geometry
.decoded_length, in the units of the decoder's output: pixel intensities in [0, 1]), measures it,
and the geodesic (core.geometry.geodesic: the curve of least decoded energy, Arvanitidis, Hansen
& Hauberg 2018) is the path that makes it shortest. `compare_paths` computes the straight line,
the slerp path and the geodesic with the same number of segments, so their lengths compare.

The geodesic is found in the whole latent space (not only on the shown plane): the canvas draws
its projection, and above 2-D that projection may bend where the path leaves the plane.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MODES = ("linear", "spherical", "geodesic")
SEGMENTS = 32               # the pieces of every path compared (the geodesic's discretisation)


@dataclass(frozen=True, eq=False)
class PathComparison:
    """The three paths (each (SEGMENTS + 1, D), float64) between z0 and z1 under one model, and
    their decoded lengths; `generation` is the model's in the explorer state."""

    z0: np.ndarray
    z1: np.ndarray
    generation: int
    paths: dict[str, np.ndarray]
    lengths: dict[str, float]
    iterations: int = 0         # L-BFGS iterations the geodesic took

    def joins(self, ends: tuple[np.ndarray, np.ndarray] | None) -> bool:
        """Whether these are the paths between `ends` (the state's end points now)."""
        return ends is not None and np.array_equal(ends[0], self.z0) and np.array_equal(ends[1], self.z1)

    def resampled(self, mode: str, steps: int) -> np.ndarray:
        """`steps` points (ends included) along path `mode`, evenly spaced in its parameter. The
        geodesic minimises energy, so it moves at a nearly constant decoded speed: evenly spaced
        in its parameter is evenly spaced in the images."""
        path = self.paths[mode]
        t = np.linspace(0.0, 1.0, len(path))
        s = np.linspace(0.0, 1.0, int(steps))
        out = np.stack([np.interp(s, t, path[:, d]) for d in range(path.shape[1])], axis=1)
        out[0], out[-1] = path[0], path[-1]          # the ends exactly, as the other modes have them
        return out

    def shortening(self) -> float:
        """How much shorter the geodesic is than the straight line, as a fraction (0.15 = 15 %)."""
        line = self.lengths["linear"]
        return 0.0 if line <= 0 else 1.0 - self.lengths["geodesic"] / line


def compare_paths(model, z0, z1, generation: int = 0, segments: int = SEGMENTS) -> PathComparison:
    """The straight line, slerp and the geodesic from z0 to z1 (each (D,)), with decoded lengths.

    Runs the geodesic's optimiser, so it needs autograd: the explorer's runners run jobs in
    inference mode, which is switched off here (as app/ground_truth_work.gaps_job does)."""
    import torch

    from latentlab.core.figures import interpolate
    from latentlab.core.geometry import decoded_length, geodesic

    a = np.asarray(z0, dtype=np.float64).reshape(-1)
    b = np.asarray(z1, dtype=np.float64).reshape(-1)
    with torch.inference_mode(False), torch.enable_grad():
        found = geodesic(model, torch.from_numpy(a), torch.from_numpy(b), segments=segments)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    paths = {mode: interpolate(ta, tb, segments + 1, mode).numpy() for mode in ("linear", "spherical")}
    geodesic_points = found.points.detach().cpu().double().numpy()
    geodesic_points[0], geodesic_points[-1] = a, b     # exactly the ends (found in the model's float32)
    paths["geodesic"] = geodesic_points
    with torch.no_grad():
        lengths = {mode: float(decoded_length(model, torch.from_numpy(p))) for mode, p in paths.items()}
    return PathComparison(a, b, generation, paths, lengths, found.iterations)
