"""The aggregate posterior q(z): its density on a grid, its holes, and the ELBO surgery split."""

import math

import pytest
import torch

from latentlab.core.aggregate import (aggregate_density, elbo_surgery, encode_dataset, holes, prior_density,
                                      project)
from latentlab.core.models import VAE
from latentlab.core.objectives import kl_per_dim


def _posteriors(n=50, d=2, seed=0, scale=0.3):
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(n, d, generator=g, dtype=torch.float64)
    logvar = 2 * torch.log(scale * (0.5 + torch.rand(n, d, generator=g, dtype=torch.float64)))
    return mu, logvar


def _brute_force(mu2, cov, z1, z2):
    """sum_n N(u; m_n, C_n) / N at every grid point, every component at every point."""
    u = torch.stack(torch.meshgrid(z1, z2, indexing="ij"), -1).reshape(-1, 1, 2)
    dists = torch.distributions.MultivariateNormal(mu2, covariance_matrix=cov)
    return dists.log_prob(u).exp().mean(1).reshape(len(z1), len(z2))


def test_density_integrates_to_one_over_a_wide_box():
    mu, logvar = _posteriors(200)
    density, z1, z2 = aggregate_density(mu, logvar, (-7, 7, -7, 7), 200)
    cell = (14 / 200) ** 2
    assert density.shape == (200, 200)
    assert float(density.sum() * cell) == pytest.approx(1.0, abs=1e-4)


def test_density_equals_a_brute_force_sum_on_a_tiny_case():
    mu, logvar = _posteriors(5)
    density, z1, z2 = aggregate_density(mu, logvar, (-2, 2, -1.5, 2.5), 6)
    cov = torch.diag_embed(logvar.exp())
    assert torch.allclose(density, _brute_force(mu, cov, z1, z2), rtol=1e-10, atol=1e-14)
    assert z1[0] == pytest.approx(-2 + 4 / 12) and z2[-1] == pytest.approx(2.5 - 4 / 12)


def test_a_rotated_plane_of_a_higher_dimensional_space_projects_the_covariances():
    mu, logvar = _posteriors(7, d=4)
    q, _ = torch.linalg.qr(torch.randn(4, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64))
    anchor = torch.tensor([0.3, -0.2, 0.1, 0.5], dtype=torch.float64)
    density, z1, z2 = aggregate_density(mu, logvar, (-3, 3, -3, 3), 5, directions=q, anchor=anchor)
    means = (mu - anchor) @ q
    cov = q.T @ torch.diag_embed(logvar.exp()) @ q
    assert abs(float(cov[0, 0, 1])) > 1e-3          # really the full-covariance path
    assert torch.allclose(density, _brute_force(means, cov, z1, z2), rtol=1e-10, atol=1e-14)


def test_small_posteriors_on_a_rotated_plane_are_added_on_patches_and_broad_ones_by_rows():
    # sigmas from 0.02 (a patch of 9 x 9 cells) to 1.5 (more than the grid: every row)
    g = torch.Generator().manual_seed(4)
    mu = 1.5 * torch.randn(60, 3, generator=g, dtype=torch.float64)
    logvar = 2 * torch.log(torch.logspace(math.log10(0.02), math.log10(1.5), 60, dtype=torch.float64))[:, None]
    logvar = logvar + torch.tensor([0.0, 0.5, -0.3], dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(3, 2, generator=g, dtype=torch.float64))
    density, z1, z2 = aggregate_density(mu, logvar, (-5, 5, -4, 4), 200, directions=q)
    means, cov = mu @ q, q.T @ torch.diag_embed(logvar.exp()) @ q
    assert torch.allclose(density, _brute_force(means, cov, z1, z2), rtol=1e-9, atol=1e-12)


def test_an_axis_plane_is_the_marginal_of_those_two_coordinates():
    mu, logvar = _posteriors(20, d=3)
    axes = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    density, _, _ = aggregate_density(mu, logvar, (-3, 3, -3, 3), 8, directions=axes)
    direct, _, _ = aggregate_density(mu[:, 1:], logvar[:, 1:], (-3, 3, -3, 3), 8)
    assert torch.allclose(density, direct)


def test_bad_shapes_are_named():
    mu, logvar = _posteriors(3, d=3)
    with pytest.raises(ValueError, match="directions"):
        aggregate_density(mu, logvar, (-1, 1, -1, 1), 4)
    with pytest.raises(ValueError, match="extent"):
        aggregate_density(mu[:, :2], logvar[:, :2], (1, -1, -1, 1), 4)
    with pytest.raises(ValueError, match="anchor"):
        project(mu, logvar, torch.eye(3)[:, :2], anchor=[0.0, 1.0])


def test_holes_are_where_the_prior_is_high_and_q_low():
    # All the data sits in the right half-plane: the left half of the prior's 2-sigma disc is a hole.
    mu = torch.tensor([[1.5, y] for y in torch.linspace(-2, 2, 9).tolist()], dtype=torch.float64)
    logvar = torch.full_like(mu, 2 * math.log(0.4))
    density, z1, z2 = aggregate_density(mu, logvar, (-4, 4, -4, 4), 64)
    prior = prior_density(z1, z2)
    mask = holes(density, prior, z1, z2)
    at = lambda a, b: mask[int(torch.argmin((z1 - a).abs())), int(torch.argmin((z2 - b).abs()))]  # noqa: E731
    assert at(-1.0, 0.0) and at(-0.5, 1.0)          # prior high, no data
    assert not at(1.5, 0.0)                         # data
    assert not at(-3.5, 0.0)                        # no data, but outside the prior's 2 sigma
    assert torch.equal(mask, holes(density, prior))  # the disc from the prior's level is the same disc


def test_surgery_adds_up_and_identical_posteriors_carry_no_information():
    mu = torch.tensor([[0.5, -0.3]], dtype=torch.float64).repeat(40, 1)
    logvar = torch.tensor([[-1.0, -0.5]], dtype=torch.float64).repeat(40, 1)
    kl = float(kl_per_dim(mu[:1], logvar[:1]).sum())
    for s in (elbo_surgery(mu, logvar), elbo_surgery(mu, logvar, method="monte carlo", samples=2000,
                                                     generator=torch.Generator().manual_seed(0))):
        assert s.mean_kl == pytest.approx(kl)
        assert s.mutual_information + s.marginal_kl == pytest.approx(s.mean_kl)
        assert s.marginal_kl == pytest.approx(kl, abs=1e-3)
        assert s.mutual_information == pytest.approx(0.0, abs=1e-3)


def test_well_separated_tiny_posteriors_carry_log_n_nats():
    n = 25
    grid = torch.stack(torch.meshgrid(torch.arange(5.0), torch.arange(5.0), indexing="ij"), -1).reshape(-1, 2)
    mu = (grid - 2.0).double()
    logvar = torch.full_like(mu, 2 * math.log(0.02))
    s = elbo_surgery(mu, logvar)
    assert s.method == "grid" and s.grid_mass == pytest.approx(1.0, abs=1e-6)
    assert s.mutual_information == pytest.approx(math.log(n), abs=1e-3)
    assert s.mutual_information <= s.log_n + 1e-6
    mc = elbo_surgery(torch.cat([mu, torch.zeros(n, 1, dtype=torch.float64)], 1),
                      torch.cat([logvar, torch.zeros(n, 1, dtype=torch.float64)], 1),
                      samples=500, generator=torch.Generator().manual_seed(1))
    assert mc.method == "monte carlo" and mc.samples == 500 and mc.stderr is not None
    assert mc.mutual_information == pytest.approx(math.log(n), abs=1e-3)


def test_monte_carlo_agrees_with_the_grid_in_two_dimensions():
    mu, logvar = _posteriors(30, scale=0.5)
    grid = elbo_surgery(mu, logvar)
    mc = elbo_surgery(mu, logvar, method="monte carlo", samples=20000, generator=torch.Generator().manual_seed(2))
    assert abs(grid.marginal_kl - mc.marginal_kl) < 4 * mc.stderr + 1e-3
    assert 0 < grid.mutual_information < math.log(30)


def test_encode_dataset_batches_like_one_pass():
    torch.manual_seed(0)
    model = VAE(image_shape=(1, 6, 6), latent_dim=3, hidden_sizes=(16,))
    images = torch.randint(0, 256, (23, 1, 6, 6), dtype=torch.uint8)
    mu, logvar = encode_dataset(model, images, batch_size=5)
    with torch.no_grad():
        whole_mu, whole_logvar = model.encode(images.float() / 255)
    assert mu.shape == (23, 3) and mu.dtype == torch.float64
    assert torch.allclose(mu, whole_mu.double(), atol=1e-6) and torch.allclose(logvar, whole_logvar.double(), atol=1e-6)
