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


# -- exact evaluation (2-D): the quadrature's -log p(x) beside the bounds -------------------------
def test_exact_nll_is_minus_log_px_of_each_image_in_data_order():
    from test_exact import LinearGaussianVAE   # p(x) known in closed form

    model = LinearGaussianVAE()
    g = torch.Generator().manual_seed(2)
    data = (model.b + 0.6 * torch.randn(7, 6, generator=g)).reshape(7, 1, 2, 3)
    result = evaluation.evaluate(model, data.split(3), exact=True)   # batches of 3, 3 and 1
    want = -model.closed_form_log_px(data)
    got = result.per_image.exact_nll
    assert got.shape == (7,) and torch.allclose(got, want, atol=1e-4, rtol=0), (got - want).abs().max()
    assert result.exact_nll == pytest.approx(float(want.mean()), abs=1e-4)
    assert result.exact_nll_stderr == pytest.approx(float(got.std() / math.sqrt(7)))
    assert result.exact_decodes_per_image == pytest.approx(float(result.per_image.exact_decodes.mean()))
    assert result.exact_decodes_per_image >= 256 * 256 / 3       # at least its share of the global grid


def test_exact_nll_lies_below_the_iw_bound_and_the_elbo():
    """-ELBO >= -L_k >= -log p(x): both bounds from above, up to Monte Carlo noise."""
    torch.manual_seed(0)
    model = VAE(image_shape=(1, 3, 3), latent_dim=2, hidden_sizes=(16,))
    data = torch.rand(6, 1, 3, 3).bernoulli()
    result = evaluation.evaluate(model, data.split(4), iw_samples=5000, n_samples=500, exact=True)
    per = result.per_image
    assert (per.iw_nll >= per.exact_nll - 0.02).all(), per.iw_nll - per.exact_nll
    assert (per.neg_elbo >= per.exact_nll - 0.05).all(), per.neg_elbo - per.exact_nll
    assert (per.iw_nll - per.exact_nll).abs().max() < 0.2       # and L_5000 is close for this small model
    assert torch.equal(per.gap, per.neg_elbo - per.exact_nll)


def test_every_mean_is_the_mean_of_the_per_image_numbers():
    torch.manual_seed(0)
    model = VAE(image_shape=(1, 4, 4), latent_dim=2, hidden_sizes=(8,))
    data = torch.rand(11, 1, 4, 4).bernoulli()
    result = evaluation.evaluate(model, data.split(4), iw_samples=10, exact=True)
    per = result.per_image
    assert len(per) == 11
    for name in ("neg_elbo", "kl", "recon", "iw_nll", "exact_nll"):
        assert getattr(result, name) == pytest.approx(float(getattr(per, name).mean()), rel=1e-12), name
    assert torch.allclose(per.neg_elbo, per.kl + per.recon, rtol=1e-12, atol=0)
    assert "per_image" not in result.to_dict()
    assert {"exact_nll", "exact_nll_stderr", "exact_decodes_per_image"} <= set(result.to_dict())


def test_without_exact_the_exact_numbers_are_none_and_the_other_numbers_unchanged():
    torch.manual_seed(0)
    model = VAE(image_shape=(1, 4, 4), latent_dim=2, hidden_sizes=(8,))
    data = torch.rand(5, 1, 4, 4).bernoulli()
    torch.manual_seed(1)
    plain = evaluation.evaluate(model, data.split(2), iw_samples=10)
    torch.manual_seed(1)
    exact = evaluation.evaluate(model, data.split(2), iw_samples=10, exact=True)
    assert plain.exact_nll is plain.exact_nll_stderr is plain.exact_decodes_per_image is None
    assert plain.per_image.exact_nll is None and plain.per_image.gap is None
    for name in ("neg_elbo", "kl", "recon", "iw_nll"):   # the quadrature draws no random numbers
        assert torch.equal(getattr(plain.per_image, name), getattr(exact.per_image, name)), name


def test_exact_evaluation_of_a_5d_model_is_refused_before_any_work():
    model = VAE(image_shape=(1, 4, 4), latent_dim=5, hidden_sizes=(8,))

    def batches():
        raise AssertionError("no batch may be read")
        yield

    with pytest.raises(ValueError, match="exact evaluation needs a 2-D latent space; this model has 5"):
        evaluation.evaluate(model, batches(), exact=True)
