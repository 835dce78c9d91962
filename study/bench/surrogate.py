"""A learning curve for a config the landscape did not train: Gaussian-process weights.

A Gaussian process (constant mean, ARD squared-exponential kernel, Gaussian noise; its
hyperparameters fit by maximising the marginal likelihood of the final epoch's values)
over the configs in the unit cube: ranges scaled to [0, 1] (log ranges in log), numeric
choices by their log, other choices one-hot, the cycle keys of a non-cyclical config at
the middle. Its posterior mean is a weighted sum of the measured values, and the same
weights applied to every epoch's values give the whole curve, so a predicted curve has
the shape of its neighbours' curves. Leave-one-out predictions come in closed form
(Rasmussen & Williams 2006, eq. 5.12).

The values are fit in log space (an output warping, Snelson et al. 2004): most configs
score near the task's floor and a few far above it, and the log spreads the floor out so
the kernel is not fit to the outliers alone (`bench search` reports the leave-one-out rank
correlation with and without it).
"""

import math
from typing import Any

import torch

FIT_STEPS = 300
WARP_OFFSET = 0.05  # of the values' range, below the lowest value: log's origin


def encoder(space: dict[str, dict]) -> list[tuple[str, Any]]:
    """The features of a space description (spaces.describe()["searched"])."""
    columns = []
    for key, entry in space.items():
        if "choices" not in entry:
            columns.append((key, entry))
        elif all(isinstance(c, int | float) and c > 0 for c in entry["choices"]):
            low, high = min(entry["choices"]), max(entry["choices"])
            columns.append((key, {"low": low, "high": high, "log": True}))
        else:
            columns += [((key, choice), None) for choice in entry["choices"]]
    return columns


def encode(columns: list[tuple[str, Any]], params: dict[str, Any]) -> list[float]:
    row = []
    for column, entry in columns:
        if entry is None:  # one-hot: (key, choice)
            key, choice = column
            row.append(float(params.get(key) == choice))
        elif column not in params:
            row.append(0.5)  # a cycle key of a non-cyclical config: it changes nothing
        else:
            low, high, value = entry["low"], entry["high"], params[column]
            if entry["log"]:
                low, high, value = math.log(low), math.log(high), math.log(value)
            row.append((value - low) / (high - low) if high > low else 0.5)
    return row


class CurveSurrogate:
    """Fit on configs x curves (N x E); predicts curves for new configs."""

    def __init__(self, space: dict[str, dict], params: list[dict[str, Any]],
                 curves: list[list[float]], warp: bool = True):
        self.columns = encoder(space)
        self.x = torch.tensor([encode(self.columns, p) for p in params], dtype=torch.float64)
        self.y = torch.tensor(curves, dtype=torch.float64)  # N x E, as measured
        low, spread = float(self.y.min()), float(self.y.max() - self.y.min()) or 1.0
        self.origin = low - WARP_OFFSET * spread if warp else None
        fitted = self._warp(self.y)
        self.mean = fitted.mean(0)
        self._fit(fitted[:, -1])
        kernel = self._kernel(self.x, self.x) + self.noise * torch.eye(len(self.x),
                                                                       dtype=torch.float64)
        self.inverse = torch.linalg.inv(kernel)
        self.alpha = self.inverse @ (fitted - self.mean)  # N x E

    def _warp(self, values: torch.Tensor) -> torch.Tensor:
        return values if self.origin is None else (values - self.origin).log()

    def _unwarp(self, values: torch.Tensor) -> torch.Tensor:
        return values if self.origin is None else values.exp() + self.origin

    def _kernel(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        scaled = (a[:, None, :] - b[None, :, :]) / self.lengthscales
        return self.signal * torch.exp(-0.5 * (scaled ** 2).sum(-1))

    def _fit(self, target: torch.Tensor) -> None:
        """Marginal-likelihood fit of log lengthscales, log signal and log noise variance."""
        centred = target - target.mean()
        scale = float(centred.var()) or 1.0
        log_lengths = torch.zeros(self.x.shape[1], dtype=torch.float64, requires_grad=True)
        log_signal = torch.tensor(math.log(scale), dtype=torch.float64, requires_grad=True)
        log_noise = torch.tensor(math.log(scale / 10), dtype=torch.float64, requires_grad=True)
        optimiser = torch.optim.Adam([log_lengths, log_signal, log_noise], lr=0.05)
        eye = torch.eye(len(self.x), dtype=torch.float64)
        for _ in range(FIT_STEPS):
            optimiser.zero_grad()
            self.lengthscales, self.signal = log_lengths.exp(), log_signal.exp()
            kernel = self._kernel(self.x, self.x) + (log_noise.exp() + 1e-9) * eye
            factor = torch.linalg.cholesky(kernel)
            solved = torch.cholesky_solve(centred[:, None], factor)
            loss = 0.5 * (centred[:, None] * solved).sum() + factor.diagonal().log().sum()
            loss.backward()
            optimiser.step()
        self.lengthscales = log_lengths.detach().exp()
        self.signal = log_signal.detach().exp()
        self.noise = log_noise.detach().exp() + 1e-9

    def predict(self, params: dict[str, Any]) -> list[float]:
        x = torch.tensor([encode(self.columns, params)], dtype=torch.float64)
        return self._unwarp(self.mean + self._kernel(x, self.x) @ self.alpha)[0].tolist()

    def leave_one_out(self) -> torch.Tensor:
        """Each config's curve predicted from all the others (N x E)."""
        return self._unwarp(self._warp(self.y) - self.alpha / self.inverse.diagonal()[:, None])

    def relevance(self) -> dict[str, float]:
        """1 / lengthscale per feature: which knobs the fit found the values depend on."""
        names = [c if isinstance(c, str) else f"{c[0]}={c[1]}" for c, _ in self.columns]
        return {name: round(1 / float(length), 3)
                for name, length in zip(names, self.lengthscales, strict=True)}
