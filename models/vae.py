"""Gaussian posterior helpers shared by every CVAE: reparameterisation and closed-form KL."""

import torch


def reparameterize(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """z = mean + sigma * eps, eps ~ N(0, I); differentiable in mean and logvar."""
    return mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)


def gaussian_kl(
    mean: torch.Tensor,
    logvar: torch.Tensor,
    prior_mean: torch.Tensor | None = None,
    prior_logvar: torch.Tensor | None = None,
) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || prior) per dimension, same shape as `mean`.

    The prior is N(0, I) unless given (the video CVAE's learned prior passes its own).
    """
    if prior_mean is None:
        return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar)
    return 0.5 * (
        prior_logvar
        - logvar
        + (logvar.exp() + (mean - prior_mean).pow(2)) / prior_logvar.exp()
        - 1.0
    )


def free_bits_kl(kl_per_dim: torch.Tensor, free_bits: float) -> torch.Tensor:
    """Batch-mean KL per dimension, each dimension clamped from below at `free_bits` nats.

    Kingma et al. 2016: a dimension below its floor costs nothing, so the optimiser has
    no reason to collapse it. kl_per_dim: (batch, latent) -> scalar (summed over latent).
    """
    per_dim = kl_per_dim.mean(dim=0)
    if free_bits > 0:
        per_dim = per_dim.clamp(min=free_bits)
    return per_dim.sum()
