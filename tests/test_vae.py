import pytest
import torch
from torch.distributions import Normal, kl_divergence

from cvae_study.models.vae import gaussian_kl, kl_penalty, reparameterize


def _posterior(batch=5, latent=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    mean = torch.randn(batch, latent, generator=g) * 2
    logvar = torch.randn(batch, latent, generator=g)
    return mean, logvar


def test_gaussian_kl_matches_torch_distributions_against_standard_normal():
    mean, logvar = _posterior()
    expected = kl_divergence(
        Normal(mean, torch.exp(0.5 * logvar)), Normal(torch.zeros_like(mean), 1.0)
    )
    kl = gaussian_kl(mean, logvar)
    assert kl.shape == mean.shape
    torch.testing.assert_close(kl, expected, rtol=1e-5, atol=1e-6)


def test_gaussian_kl_is_zero_for_the_prior_itself():
    zeros = torch.zeros(2, 4)
    torch.testing.assert_close(gaussian_kl(zeros, zeros), zeros)


def test_gaussian_kl_matches_torch_distributions_against_a_given_prior():
    mean, logvar = _posterior(seed=1)
    prior_mean, prior_logvar = _posterior(seed=2)
    expected = kl_divergence(
        Normal(mean, torch.exp(0.5 * logvar)), Normal(prior_mean, torch.exp(0.5 * prior_logvar))
    )
    kl = gaussian_kl(mean, logvar, prior_mean=prior_mean, prior_logvar=prior_logvar)
    assert kl.shape == mean.shape
    torch.testing.assert_close(kl, expected, rtol=1e-5, atol=1e-5)
    # A non-standard prior really changes the answer.
    assert not torch.allclose(kl, gaussian_kl(mean, logvar))


def test_kl_penalty_free_bits_clamps_each_dimensions_batch_mean_at_the_floor():
    # Batch means per dimension: 0.1 (below the floor), 2.0 (above), 0.5 (exactly at it).
    kl_per_dim = torch.tensor([[0.0, 1.0, 0.5], [0.2, 3.0, 0.5]])
    assert kl_penalty(kl_per_dim, 0.5).item() == pytest.approx(0.5 + 2.0 + 0.5)


def test_kl_penalty_free_bits_floors_the_batch_mean_not_each_sample():
    # Per-sample clamping would give mean(1.0, 3.0) = 2.0; the batch mean 1.5 is above it.
    kl_per_dim = torch.tensor([[0.0], [3.0]])
    assert kl_penalty(kl_per_dim, 1.0).item() == pytest.approx(1.5)


def test_kl_penalty_free_bits_without_a_floor_is_the_plain_sum_of_batch_means():
    kl_per_dim = torch.tensor([[0.0, 1.0, 0.5], [0.2, 3.0, 0.1]])
    expected = kl_per_dim.sum(dim=1).mean()
    torch.testing.assert_close(kl_penalty(kl_per_dim, 0.0), expected)


def test_kl_penalty_free_bits_gives_no_gradient_to_dimensions_below_the_floor():
    kl_per_dim = torch.tensor([[0.1, 2.0]], requires_grad=True)
    kl_penalty(kl_per_dim, 0.5).backward()
    torch.testing.assert_close(kl_per_dim.grad, torch.tensor([[0.0, 1.0]]))


def test_reparameterize_with_tiny_variance_returns_the_mean():
    mean, _ = _posterior()
    z = reparameterize(mean, torch.full_like(mean, -60.0))
    torch.testing.assert_close(z, mean)


def test_reparameterize_is_differentiable_in_mean_and_logvar():
    mean, logvar = _posterior()
    mean.requires_grad_(True)
    logvar.requires_grad_(True)
    torch.manual_seed(0)
    reparameterize(mean, logvar).pow(2).sum().backward()
    assert mean.grad is not None and logvar.grad is not None
    assert mean.grad.abs().sum() > 0
    assert logvar.grad.abs().sum() > 0


def test_reparameterize_samples_have_the_posterior_mean_and_std():
    torch.manual_seed(0)
    n = 20000
    mean = torch.tensor([1.5, -2.0, 0.0]).expand(n, 3)
    std = torch.tensor([0.5, 2.0, 1.0])
    logvar = (2 * std.log()).expand(n, 3)
    z = reparameterize(mean, logvar)
    assert z.shape == (n, 3)
    torch.testing.assert_close(z.mean(dim=0), mean[0], atol=0.05, rtol=0)
    torch.testing.assert_close(z.std(dim=0), std, atol=0.05, rtol=0)


def test_kl_penalty_capacity_pulls_the_total_kl_to_the_target_from_both_sides():
    low = torch.full((4, 2), 1.0, requires_grad=True)  # total KL 2 nats
    high = torch.full((4, 2), 5.0, requires_grad=True)  # total KL 10 nats
    assert kl_penalty(low, capacity=6.0).item() == pytest.approx(4.0)
    assert kl_penalty(high, capacity=6.0).item() == pytest.approx(4.0)
    kl_penalty(low, capacity=6.0).backward()
    kl_penalty(high, capacity=6.0).backward()
    assert (low.grad < 0).all()  # descending the loss raises a KL below the target
    assert (high.grad > 0).all()  # and lowers one above it
    at_target = torch.full((4, 2), 3.0)
    assert kl_penalty(at_target, capacity=6.0).item() == pytest.approx(0.0)
