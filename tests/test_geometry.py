"""Latent geometry: the decoder's magnification and geodesics, checked against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from latentlab import VAE
from latentlab.core.figures import interpolate
from latentlab.core.geometry import (decoded_length, geodesic, log_magnification, magnification,
                                     magnification_grid, path_energy)


class LinearVAE(VAE):
    """A VAE whose decoder mean is W z + b: J = W everywhere, and straight lines are geodesics."""

    def __init__(self, latent_dim=3, pixels=(1, 2, 3), seed=0):
        super().__init__(image_shape=pixels, latent_dim=latent_dim, hidden_sizes=(4,))
        g = torch.Generator().manual_seed(seed)
        self.W = torch.randn(math.prod(pixels), latent_dim, generator=g)
        self.b = torch.rand(math.prod(pixels), generator=g)

    def decode(self, z):
        lead = z.shape[:-1]
        return (z.reshape(-1, self.latent_dim) @ self.W.T + self.b).reshape(*lead, *self.image_shape)


class BumpVAE(VAE):
    """Mean (z1, z2, h b(z), h b(z)) with a Gaussian bump b at `centre`: the decoder stretches
    space around the bump, so the shortest decoded path between its two sides goes around it."""

    def __init__(self, latent_dim=2, height=3.0, centre=(0.0, 0.0)):
        super().__init__(image_shape=(1, 2, 2), latent_dim=latent_dim, hidden_sizes=(4,))
        self.height, self.centre = height, torch.tensor(centre)

    def decode(self, z):
        lead = z.shape[:-1]
        z = z.reshape(-1, self.latent_dim)[:, :2]
        bump = self.height * torch.exp(-((z - self.centre) ** 2).sum(1, keepdim=True) / 0.5)
        return torch.cat([z, bump, bump], 1).reshape(*lead, *self.image_shape)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """These models are tiny: a second intra-op thread only waits for the first (seconds of it on
    a loaded 2-core machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def small_vae(likelihood="bernoulli", latent_dim=2, seed=0):
    torch.manual_seed(seed)
    model = VAE(image_shape=(1, 5, 5), latent_dim=latent_dim, hidden_sizes=(16,), likelihood=likelihood)
    with torch.no_grad():                       # larger weights: a clearly nonlinear decoder
        for p in model.decoder.parameters():
            p.mul_(3.0)
    return model.eval()


def sqrt_det_gram(m: torch.Tensor) -> float:
    m = m.double()
    return float(torch.det(m.T @ m).sqrt())


# -- magnification ---------------------------------------------------------------------------------
def test_magnification_of_a_linear_decoder_is_sqrt_det_wtw_everywhere():
    model = LinearVAE(latent_dim=3)
    z = torch.randn(7, 3, generator=torch.Generator().manual_seed(1)) * 2
    got = magnification(model, z)
    assert got.shape == (7,)
    assert torch.allclose(got, torch.full((7,), sqrt_det_gram(model.W), dtype=got.dtype), rtol=1e-5)


def test_magnification_with_directions_is_sqrt_det_of_w_times_the_directions():
    model = LinearVAE(latent_dim=3)
    a = torch.tensor([[1.0, 0.5], [0.0, 2.0], [-1.0, 0.3]])
    got = magnification(model, torch.zeros(4, 3), directions=a)
    assert torch.allclose(got, torch.full((4,), sqrt_det_gram(model.W @ a), dtype=got.dtype), rtol=1e-5)
    # and it is not the full-space value
    assert abs(got[0].item() - sqrt_det_gram(model.W)) > 0.1


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_magnification_is_that_of_the_decoder_mean_not_the_logits(likelihood):
    model = small_vae(likelihood)
    z = torch.tensor([[0.3, -0.7], [1.5, 0.2]])
    for point, got in zip(z, magnification(model, z)):
        jac = torch.autograd.functional.jacobian(lambda p: model.decode(p[None]).flatten(), point)
        assert got.item() == pytest.approx(sqrt_det_gram(jac), rel=1e-4)
        logits = torch.autograd.functional.jacobian(lambda p: model.decode_raw(p[None]).flatten(), point)
        assert got.item() != pytest.approx(sqrt_det_gram(logits), rel=1e-2)


def test_magnification_in_batches_equals_all_at_once_and_keeps_the_mode():
    model = small_vae(latent_dim=3).train()
    z = torch.randn(11, 3, generator=torch.Generator().manual_seed(2))
    a = torch.linalg.qr(torch.randn(3, 2, generator=torch.Generator().manual_seed(3)))[0]
    for directions in (None, a):
        whole = magnification(model, z, directions, batch=1000)
        assert torch.allclose(magnification(model, z, directions, batch=3), whole, rtol=1e-6)
        assert torch.allclose(magnification(model, z[4:5], directions, batch=1), whole[4:5], rtol=1e-6)
    assert model.training
    assert log_magnification(model, z[:2]) == pytest.approx(torch.log(magnification(model, z[:2])), rel=1e-9)


def test_log_magnification_is_minus_infinity_where_the_decoder_is_flat():
    model = LinearVAE(latent_dim=2)
    model.W[:, 1] = 2 * model.W[:, 0]            # rank 1: det(W^T W) = 0
    assert torch.isneginf(log_magnification(model, torch.zeros(2, 2))).all()
    assert (magnification(model, torch.zeros(2, 2)) == 0).all()


@pytest.mark.parametrize("z, directions, batch, words", [
    (torch.zeros(3), None, 10, "z must be latent points of shape (N, 3)"),
    (torch.zeros(2, 2), None, 10, "got shape (2, 2)"),
    (torch.tensor([[0.0, math.nan, 0.0]]), None, 10, "z holds values that are not finite"),
    (torch.zeros(2, 3), torch.zeros(2, 2), 10, "directions must be a (3, k) matrix"),
    (torch.zeros(2, 3), torch.zeros(3, 4), 10, "directions must be a (3, k) matrix"),
    (torch.zeros(2, 3), torch.zeros(3), 10, "directions must be a (3, k) matrix"),
    (torch.zeros(2, 3), None, 0, "batch must be a whole number"),
])
def test_bad_shapes_are_refused_by_name(z, directions, batch, words):
    with pytest.raises(ValueError) as e:
        magnification(LinearVAE(latent_dim=3), z, directions, batch=batch)
    assert words in str(e.value)


# -- the map on the canvas' plane ------------------------------------------------------------------
def test_magnification_grid_of_a_2d_model_is_the_magnification_at_the_cell_centres():
    model = small_vae()
    grid = magnification_grid(model, (-2, 2, -1, 3), 4)
    assert grid.log_magnification.shape == (4, 4) and isinstance(grid.log_magnification, np.ndarray)
    assert np.allclose(grid.u, [-1.5, -0.5, 0.5, 1.5]) and np.allclose(grid.v, [-0.5, 0.5, 1.5, 2.5])
    i, j = 3, 1                                   # indexed [i, j] at (u[i], v[j])
    point = torch.tensor([[grid.u[i], grid.v[j]]], dtype=torch.float32)
    assert grid.magnification[i, j] == pytest.approx(magnification(model, point).item(), rel=1e-6)
    assert grid.log_magnification.std() > 0.1     # a nonlinear decoder: the map is not flat


def test_magnification_grid_on_a_plane_of_a_3d_model_uses_anchor_and_directions():
    model = BumpVAE(latent_dim=3, centre=(1.0, 0.5))
    directions = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    anchor = torch.tensor([1.0, 0.5, 7.0])        # the bump sits at the anchor: the grid's centre
    grid = magnification_grid(model, (-1, 1, -1, 1), 5, directions=directions, anchor=anchor)
    centre = magnification(model, anchor[None], directions).item()
    assert grid.magnification[2, 2] == pytest.approx(centre, rel=1e-6)
    # J = [I; g; g] with g the bump's gradient: det(J^T J) = 1 + 2 |g|^2, 1 at the top, more on its flanks
    assert centre == pytest.approx(1.0, rel=1e-5)
    assert grid.magnification[3, 2] == pytest.approx(grid.magnification[1, 2], rel=1e-5)
    g = 3.0 * 4 * 0.4 * math.exp(-2 * 0.4 ** 2)                  # |grad h b| at r = 0.4 (cell [3, 2])
    assert grid.magnification[3, 2] == pytest.approx(math.sqrt(1 + 2 * g ** 2), rel=1e-5)
    # the third direction does not count: the 3-D magnification of this decoder is 0
    assert magnification(model, anchor[None]).item() == 0
    with pytest.raises(ValueError, match="directions"):
        magnification_grid(model, (-1, 1, -1, 1), 5)
    with pytest.raises(ValueError, match="anchor must be one latent point"):
        magnification_grid(model, (-1, 1, -1, 1), 5, directions=directions, anchor=torch.zeros(2))
    with pytest.raises(ValueError, match="extent"):
        magnification_grid(model, (1, -1, -1, 1), 5, directions=directions)


# -- paths and geodesics ---------------------------------------------------------------------------
def test_decoded_length_of_a_straight_line_under_a_linear_decoder_is_the_norm_of_w_times_the_step():
    model = LinearVAE(latent_dim=3)
    z0, z1 = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([-1.0, 0.0, 2.0])
    line = interpolate(z0, z1, 9)
    expected = float((model.W.double() @ (z1 - z0).double()).norm())
    assert decoded_length(model, line) == pytest.approx(expected, rel=1e-6)
    assert path_energy(model, line) == pytest.approx(expected ** 2, rel=1e-5)   # equal steps
    with pytest.raises(ValueError, match="points must hold at least the two ends"):
        decoded_length(model, line[:1])


def test_the_geodesic_of_a_linear_decoder_is_the_straight_line():
    model = LinearVAE(latent_dim=3)
    z0, z1 = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([-1.0, 0.0, 2.0])
    path = geodesic(model, z0, z1, segments=16)
    assert path.points.shape == (17, 3)
    assert torch.allclose(path.points, interpolate(z0, z1, 17), atol=1e-4)
    assert path.energy == pytest.approx(path.straight_energy, rel=1e-5)
    assert path.length == pytest.approx(path.straight_length, rel=1e-5)


def test_the_geodesic_goes_around_a_bump_with_ends_fixed_and_is_shorter():
    model = BumpVAE()
    z0, z1 = torch.tensor([-2.0, 0.2]), torch.tensor([2.0, 0.4])
    path = geodesic(model, z0, z1, segments=32)
    assert torch.equal(path.points[0], z0) and torch.equal(path.points[-1], z1)
    line = interpolate(z0, z1, 33)
    # measured, not taken from the optimiser
    assert path.energy == pytest.approx(path_energy(model, path.points), rel=1e-9)
    assert path.length == pytest.approx(decoded_length(model, path.points), rel=1e-9)
    assert path.straight_length == pytest.approx(decoded_length(model, line), rel=1e-9)
    assert path.energy < 0.5 * path_energy(model, line)
    assert path.length < 0.8 * decoded_length(model, line)
    assert path.points[16, 1] > 0.8                 # it went round the bump, on the far side
    assert path.iterations > 0


def test_on_a_small_nonlinear_vae_the_geodesic_beats_the_straight_line_and_slerp_and_repeats():
    model = small_vae()
    z0, z1 = torch.tensor([-1.5, 1.0]), torch.tensor([1.2, -0.8])
    path = geodesic(model, z0, z1, segments=32, steps=100)
    line, arc = interpolate(z0, z1, 33), interpolate(z0, z1, 33, "spherical")
    assert torch.equal(path.points[0], z0) and torch.equal(path.points[-1], z1)
    assert path_energy(model, path.points) < path_energy(model, line)
    assert decoded_length(model, path.points) < decoded_length(model, line)
    assert decoded_length(model, path.points) < decoded_length(model, arc)
    again = geodesic(model, z0, z1, segments=32, steps=100)
    assert torch.equal(again.points, path.points)
    assert all(p.grad is None for p in model.parameters())      # only the curve was optimised


def test_a_geodesic_with_directions_stays_on_the_plane():
    model = BumpVAE(latent_dim=3)
    d = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    z0, z1 = torch.tensor([-2.0, 0.2, 0.7]), torch.tensor([2.0, 0.4, 0.7])
    path = geodesic(model, z0, z1, segments=16, directions=d)
    assert torch.equal(path.points[:, 2], interpolate(z0, z1, 17)[:, 2])   # only d1, d2 moved it
    assert path.length < 0.8 * path.straight_length


@pytest.mark.parametrize("kwargs, words", [
    (dict(z0=torch.zeros(3)), "z0 must be one latent point of shape (2,)"),
    (dict(z1=torch.zeros(1, 2)), "z1 must be one latent point"),
    (dict(segments=0), "segments must be a whole number"),
    (dict(steps=-1), "steps must be a whole number"),
    (dict(lr=0.0), "lr must be a positive number"),
    (dict(directions=torch.zeros(3, 2)), "directions must be a (2, k) matrix"),
])
def test_geodesic_refuses_bad_input_by_name(kwargs, words):
    args = dict(z0=torch.zeros(2), z1=torch.ones(2)) | kwargs
    with pytest.raises(ValueError) as e:
        geodesic(BumpVAE(), **args)
    assert words in str(e.value)
