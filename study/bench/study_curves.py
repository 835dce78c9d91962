"""How both search benches measure a study: its best-so-far curve over a budget of epochs,
and the epochs it needs to reach a target.

`bench sweep` measures real studies this way (bench.real_sweeps), `bench search` studies
replayed on a landscape (bench.search_ratios); the two are compared arm by arm, so they
share the arms' names, the budget's trial count and the target's share.
"""

from collections.abc import Sequence

import numpy as np

SEARCH_TRIALS = 12  # a budget is the epochs of this many full-length trials
REACH = 0.95  # the target: this share of the best value
# The two searches both benches run, by the names their results carry: the sweep's default
# (TPE with ASHA) and random search without early stopping.
TPE_ASHA, RANDOM = "tpe_asha", "random"


def best_so_far(values: Sequence[float], budget: int) -> list[float]:
    """The best value after each epoch of the budget; a study that ran out of trials keeps
    its best."""
    curve = np.maximum.accumulate(np.asarray(values[:budget], dtype=float)).tolist()
    return curve + curve[-1:] * (budget - len(curve))


def epochs_to_reach(curve: Sequence[float], target: float) -> int | None:
    """The epochs spent (1-based) until `curve` is first at least `target`; None: never."""
    reached = np.nonzero(np.asarray(curve, dtype=float) >= target)[0]
    return int(reached[0]) + 1 if len(reached) else None
