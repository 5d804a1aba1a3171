import math

import torch

from latentlab.core import objectives


def test_analytic_kl_matches_a_monte_carlo_estimate():
    torch.manual_seed(0)
    mu, logvar = torch.randn(4, 3), torch.randn(4, 3) * 0.5
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    z = q.sample((200_000,))
    mc = (q.log_prob(z) - p.log_prob(z)).mean(0)
    assert torch.allclose(objectives.kl_per_dim(mu, logvar), mc, atol=0.02)
    assert torch.allclose(objectives.kl_per_dim(mu, logvar), torch.distributions.kl_divergence(q, p), atol=1e-5)


def test_kl_is_zero_only_at_the_prior():
    assert objectives.kl_per_dim(torch.zeros(2, 4), torch.zeros(2, 4)).abs().max() == 0
    assert (objectives.kl_per_dim(torch.ones(2, 4), torch.zeros(2, 4)) > 0).all()


def test_likelihoods_match_torch_distributions():
    torch.manual_seed(1)
    x = torch.rand(5, 1, 4, 4).bernoulli()
    logits = torch.randn(3, 5, 1, 4, 4)
    expected = torch.distributions.Bernoulli(logits=logits).log_prob(x).flatten(-3).sum(-1)
    assert torch.allclose(objectives.bernoulli_log_likelihood(x, logits), expected, atol=1e-5)
    xg, mean, logvar = torch.rand(5, 1, 4, 4), torch.rand(5, 1, 4, 4), torch.randn(1, 4, 4)
    expected = torch.distributions.Normal(mean, (0.5 * logvar).exp()).log_prob(xg).flatten(-3).sum(-1)
    assert torch.allclose(objectives.gaussian_log_likelihood(xg, mean, logvar), expected, atol=1e-4)


def test_reparameterised_samples_have_the_right_moments_and_gradients():
    mu = torch.tensor([[1.0, -2.0]], requires_grad=True)
    logvar = torch.tensor([[0.0, math.log(4.0)]], requires_grad=True)
    z = objectives.reparameterize(mu, logvar, n_samples=100_000)
    assert z.shape == (100_000, 1, 2)
    assert torch.allclose(z.mean(0), mu.detach(), atol=0.03)
    assert torch.allclose(z.std(0), torch.tensor([[1.0, 2.0]]), atol=0.03)
    z.sum().backward()
    assert mu.grad is not None and logvar.grad is not None


def test_elbo_terms_split_and_beta():
    log_px_z = torch.tensor([[-10.0, -20.0], [-30.0, -40.0]])  # (N=2, B=2)
    kl = torch.tensor([[1.0, 2.0], [3.0, 4.0]])                # (B=2, D=2)
    t = objectives.elbo_terms(log_px_z, kl, beta=0.5)
    assert t.recon.item() == 25.0 and t.kl.item() == 5.0
    assert t.neg_elbo.item() == 30.0 and t.loss.item() == 27.5
    assert t.kl_per_dim.tolist() == [2.0, 3.0]


def test_kl_warmup_is_linear_then_constant():
    assert objectives.kl_weight(0, 1.0, 100) == 0.0
    assert objectives.kl_weight(50, 2.0, 100) == 1.0
    assert objectives.kl_weight(500, 2.0, 100) == 2.0
    assert objectives.kl_weight(0, 1.0, 0) == 1.0  # off
