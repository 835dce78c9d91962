"""A searched knob's values on its own scale: 0 to 1 over the range the sampler drew from,
log-scaled where it was sampled so, a categorical knob at its levels. The parallel
coordinates draw on this scale; the trade-off measures how far a knob varies along the
front on it."""

import numpy as np
import pandas as pd
from optuna.distributions import CategoricalDistribution, IntDistribution

NOT_DRAWN = -0.15  # the height of a knob a trial did not draw (cycle knobs off cyclical)


def _level_heights(values: pd.Series, distribution: CategoricalDistribution):
    levels = list(distribution.choices)
    step = 1 / max(len(levels) - 1, 1)
    heights = {level: i * step for i, level in enumerate(levels)}
    return (values.map(heights).astype(float),
            [(height, str(level)) for level, height in heights.items()])


def knob_heights(values: pd.Series, distribution) -> tuple[pd.Series, list[tuple[float, str]]]:
    """A knob's values as heights on its axis, 0 to 1 over the searched range (NaN where a
    trial did not draw it), and the axis' ticks as (height, label): a categorical knob at its
    levels, a log-sampled one on a log scale."""
    if isinstance(distribution, CategoricalDistribution):
        return _level_heights(values, distribution)

    def scaled(value):
        return np.log10(value) if distribution.log else value

    low, high = scaled(float(distribution.low)), scaled(float(distribution.high))
    span = (high - low) or 1.0  # a range of one value
    ends = [distribution.low, distribution.high]
    if distribution.log:  # the ends and the powers of ten between them
        ticks = sorted({*ends, *10.0 ** np.arange(np.ceil(low), np.floor(high) + 1)})
    else:
        ticks = np.linspace(*ends, 3)
    if isinstance(distribution, IntDistribution):
        ticks = np.unique(np.round(ticks))
    return ((scaled(values.astype(float)) - low) / span,
            [(float((scaled(tick) - low) / span), f"{tick:.3g}") for tick in ticks])
