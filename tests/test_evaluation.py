import math

import pytest
import torch

from latentlab import VAE
from latentlab.core import evaluation, objectives


@torch.no_grad()
def _exact_log_px_by_quadrature(model, x):
    """log p(x) = log ∫ p(x|z) p(z) dz on a dense grid: exact enough for a 1-D latent space."""
    z = torch.linspace(-9, 9, 40_001).reshape(-1, 1, 1)          # (G, 1, D=1)
    log_joint = model.log_likelihood(x, z) + objectives.log_standard_normal(z)  # (G, B)
    dz = 18 / 40_000
    return torch.logsumexp(log_joint, dim=0) + math.log(dz)


def test_importance_weighted_bound_approaches_the_exact_likelihood():
    torch.manual_seed(0)
    model = VAE(image_shape=(1, 3, 3), latent_dim=1, hidden_sizes=(16,))
    x = torch.rand(4, 1, 3, 3).bernoulli()
    exact = _exact_log_px_by_quadrature(model, x)
    l1 = torch.stack([evaluation.iw_log_likelihood(model, x, k=1) for _ in range(2000)]).mean(0)
    l5000 = evaluation.iw_log_likelihood(model, x, k=5000, chunk=700)
    assert (l1 < exact).all()                         # the ELBO is a strict lower bound here
    assert (l5000 <= exact + 0.02).all()              # L_k is a lower bound (up to MC noise)
    assert torch.allclose(l5000, exact, atol=0.1)     # ... and tight for large k
    assert (l5000 > l1).all()


@torch.no_grad()
def test_chunk_size_does_not_change_the_bound_beyond_noise():
    torch.manual_seed(0)
    model = VAE(image_shape=(1, 3, 3), latent_dim=1, hidden_sizes=(16,))
    x = torch.rand(4, 1, 3, 3).bernoulli()
    a = evaluation.iw_log_likelihood(model, x, k=4000, chunk=4000)
    b = evaluation.iw_log_likelihood(model, x, k=4000, chunk=333)
    assert torch.allclose(a, b, atol=0.05)


def test_active_units_counts_dimensions_whose_mean_varies():
    torch.manual_seed(0)
    means = torch.randn(1000, 4) * torch.tensor([1.0, 0.5, 0.05, 0.001])  # variances 1, .25, .0025, 1e-6
    count, variances = evaluation.active_units(means)
    assert count == 2
    assert variances[0] > 0.9 and variances[3] < 1e-5


def test_evaluate_returns_data_set_averages():
    torch.manual_seed(0)
    model = VAE(image_shape=(1, 4, 4), latent_dim=2, hidden_sizes=(8,))
    data = torch.rand(30, 1, 4, 4).bernoulli()
    result = evaluation.evaluate(model, data.split(7), iw_samples=20)
    log_px_z, kl = model(data)
    assert result.n_images == 30 and len(result.kl_per_dim) == 2
    assert result.kl == pytest.approx(kl.sum(1).mean().item(), rel=1e-5)
    assert result.neg_elbo == pytest.approx(result.kl + result.recon)
    assert result.iw_nll < result.neg_elbo + 1.0 and result.iw_nll_stderr > 0
