"""Ground truth in 2-D: log p(x) by quadrature, the true posterior, and the gaps of the ELBO."""

from __future__ import annotations

import math

import pytest
import torch

from latentlab import VAE, load_checkpoint
from latentlab.core import exact
from latentlab.core.exact import image_gaps, log_marginal, posterior_grid, quadrature


class LinearGaussianVAE(VAE):
    """p(x|z) = N(W z + b, s^2 I): p(x) = N(b, W W^T + s^2 I) is known in closed form."""

    def __init__(self, pixels=(1, 2, 3), s=0.4, seed=0):
        super().__init__(image_shape=pixels, latent_dim=2, hidden_sizes=(4,), likelihood="gaussian",
                         gaussian_variance="fixed", gaussian_fixed_std=s)
        g = torch.Generator().manual_seed(seed)
        p = math.prod(pixels)
        self.W = torch.randn(p, 2, generator=g, dtype=torch.float32) * 0.8
        self.b = torch.rand(p, generator=g)

    def decode(self, z):
        # in float64, so the comparison measures the quadrature, not float32 rounding of the mean
        lead = z.shape[:-1]
        return (z.reshape(-1, 2).double() @ self.W.double().T + self.b.double()).reshape(*lead, *self.image_shape)

    def closed_form_log_px(self, x):
        """log N(x; b, W W^T + s^2 I) by a float64 Cholesky (torch's MultivariateNormal.log_prob is
        off by about 3e-4 nats for a covariance this ill-conditioned)."""
        w, b = self.W.double(), self.b.double()
        cov = w @ w.T + self.config.gaussian_fixed_std ** 2 * torch.eye(len(b), dtype=torch.float64)
        chol = torch.linalg.cholesky(cov)
        d = (x.flatten(1).double() - b).T                                    # (P, B)
        maha = (torch.linalg.solve_triangular(chol, d, upper=False) ** 2).sum(0)
        return -0.5 * maha - torch.log(torch.diagonal(chol)).sum() - 0.5 * len(b) * math.log(2 * math.pi)


def test_quadrature_matches_the_closed_form_of_a_linear_gaussian_decoder():
    model = LinearGaussianVAE()
    g = torch.Generator().manual_seed(1)
    x = (model.b + 0.7 * torch.randn(5, 6, generator=g)).reshape(5, 1, 2, 3)
    got = log_marginal(model, x)
    want = model.closed_form_log_px(x)
    assert torch.allclose(got, want, atol=1e-4, rtol=0), (got - want).abs().max()


def test_a_narrow_posterior_is_refined_until_it_matches_the_closed_form():
    model = LinearGaussianVAE(pixels=(1, 4, 4), s=0.02, seed=3)   # posterior sd about 0.01: narrower than a cell
    g = torch.Generator().manual_seed(5)
    noise = 0.02 * torch.randn(1, 1, 4, 4, generator=g, dtype=torch.float64)
    x = (model.decode(torch.tensor([[0.7, -1.1]])) + noise).reshape(1, 1, 4, 4)
    q = quadrature(model, x)[0]
    assert q.decodes > 0                                          # the global grid alone was not enough
    assert abs(q.log_px - float(model.closed_form_log_px(x))) < 1e-4


def test_the_posterior_grid_integrates_to_one():
    model = LinearGaussianVAE()
    x = model.b.reshape(1, 1, 2, 3) + 0.3
    q = quadrature(model, x)[0]
    log_density, z1, z2 = posterior_grid(model, x, q.mass_box, 200)
    area = (z1[1] - z1[0]) * (z2[1] - z2[0])
    assert log_density.shape == (200, 200) and z1.shape == (200,)
    assert float(log_density.exp().sum() * area) == pytest.approx(1.0, abs=1e-4)


@pytest.fixture(scope="module")
def mnist2d():
    from latentlab.core.shipped import shipped_models_dir

    return load_checkpoint(shipped_models_dir() / "mnist-2d.pt").model


@pytest.fixture(scope="module")
def digits():
    from dataset_files import read_samples

    images, _ = read_samples("mnist")
    g = torch.Generator().manual_seed(0)
    return torch.bernoulli(torch.as_tensor(images[:4]).float().div(255).unsqueeze(1), generator=g)


def test_refining_every_grid_twice_moves_the_result_by_less_than_a_hundredth_of_a_nat(mnist2d, digits):
    coarse = log_marginal(mnist2d, digits, n_global=128)
    fine = log_marginal(mnist2d, digits, n_global=256)
    assert (coarse - fine).abs().max() < 0.01


def test_the_iw_bound_and_the_elbo_sit_below_log_px(mnist2d, digits):
    gaps = image_gaps(mnist2d, digits[0], steps=100)
    ks = [k for k, _ in gaps.iw_curve]
    values = [v for _, v in gaps.iw_curve]
    assert ks[0] == 1 and ks[-1] == 5000
    assert gaps.elbo <= gaps.elbo_star + 0.05 <= gaps.log_px + 0.05       # ELBO <= ELBO* <= log p(x)
    assert values[0] == pytest.approx(gaps.elbo, abs=0.5)                # L_1 is the ELBO (MC estimate)
    assert values[-1] <= gaps.log_px + 0.05 and values[-1] > values[0]   # L_k rises towards log p(x)
    assert gaps.amortisation_gap >= -0.05 and gaps.approximation_gap >= -0.05
    # KL(q || p(z|x)) integrated on the grid is the gap between log p(x) and the ELBO
    assert gaps.kl_q_posterior == pytest.approx(gaps.log_px - gaps.elbo, abs=0.02)


def test_elbo_star_is_deterministic_given_a_seed(mnist2d, digits):
    a = image_gaps(mnist2d, digits[1], seed=3, steps=50, ks=(1, 10))
    b = image_gaps(mnist2d, digits[1], seed=3, steps=50, ks=(1, 10))
    assert a.elbo_star == b.elbo_star and a.mu_star == b.mu_star and a.iw_curve == b.iw_curve


def test_exact_evaluation_needs_a_2d_latent_space():
    model = VAE(latent_dim=5, hidden_sizes=(8,))
    with pytest.raises(ValueError, match="needs a 2-D latent space"):
        log_marginal(model, torch.zeros(1, 1, 28, 28))
    gaps = image_gaps(model, torch.zeros(1, 1, 28, 28).bernoulli(), steps=5, ks=(1, 10))
    assert gaps.log_px is None and gaps.approximation_gap is None and gaps.kl_q_posterior is None
