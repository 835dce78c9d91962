"""Gaussian posterior helpers shared by every CVAE: reparameterisation and closed-form KL."""

import torch


def reparameterize(mean: torch.Tensor, logvar: torch.Tensor,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """z = mean + sigma * eps, eps ~ N(0, I); differentiable in mean and logvar.

    A (CPU) generator makes eps repeatable on any device, for evaluations."""
    if generator is None:
        eps = torch.randn_like(mean)
    else:
        eps = torch.randn(mean.shape, generator=generator).to(mean.device, mean.dtype)
    return mean + torch.exp(0.5 * logvar) * eps


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


def kl_penalty(
    kl_per_dim: torch.Tensor, free_bits: float = 0.0, capacity: float = 0.0
) -> torch.Tensor:
    """The KL term a loss weights. kl_per_dim: (batch, latent) -> scalar.

    The batch-mean KL of each dimension, floored at `free_bits` nats (Kingma et al. 2016:
    a dimension below its floor costs nothing, so nothing pushes it into collapse), summed
    over dimensions. With capacity > 0 the term is |KL - capacity| (Burgess et al. 2018),
    which pulls the total KL to that many nats from either side.
    """
    per_dim = kl_per_dim.mean(dim=0)
    if free_bits > 0:
        per_dim = per_dim.clamp(min=free_bits)
    total = per_dim.sum()
    return (total - capacity).abs() if capacity > 0 else total
