"""The checks behind `bench search`'s numbers, each against its target: how well the
surrogate ranks configs it did not see, and whether the replays agree with real studies.
"""

from typing import Any

import numpy as np

from cvae_study.study.bench.landscape_curves import LandscapeCurves
from cvae_study.study.bench.search_ratios import PerSeed
from cvae_study.study.bench.study_curves import RANDOM, SEARCH_TRIALS, TPE_ASHA
from cvae_study.study.bench.surrogate import CurveSurrogate
from cvae_study.study.errors import UsageError

SURROGATE_TARGET = 0.9  # leave-one-out rank correlation of the final epoch's values


def surrogate_check(source: LandscapeCurves) -> dict[str, Any]:
    """Leave-one-out rank correlation of the surrogate's final values, and its fit."""
    surrogate, landscape = source.surrogate, source.landscape
    per_epoch = _loo_spearman_by_epoch(surrogate)
    unwarped = CurveSurrogate(source.header_space, landscape.params, landscape.mean_curves(),
                              warp=False)
    return {"kind": "Gaussian-process weights over the landscape's mean curves, in log space",
            "configs": len(landscape.params), "loo_spearman_final": per_epoch[-1],
            "loo_spearman_final_unwarped": _loo_spearman_by_epoch(unwarped)[-1],
            "loo_spearman_by_epoch": per_epoch, "noise_curves": len(source.noise),
            "seed_spread_final": round(landscape.seed_spread(), 4),
            "relevance": surrogate.relevance(), "target": SURROGATE_TARGET}


def _loo_spearman_by_epoch(surrogate: CurveSurrogate) -> list[float]:
    from scipy.stats import spearmanr

    predicted = surrogate.leave_one_out()
    return [round(float(spearmanr(predicted[:, e], surrogate.y[:, e]).statistic), 3)
            for e in range(surrogate.y.shape[1])]


def real_studies(real: dict[str, Any], epochs: int, source: str) -> dict[str, Any]:
    """`bench sweep`'s search section, if its studies are of the landscape's length."""
    search, budget = real["search"], SEARCH_TRIALS * epochs
    if search["epochs"] != epochs or search["budget_epochs"] != budget:
        raise UsageError(f"--real {source}: its studies ran {search['epochs']}-epoch trials "
                         f"for {search['budget_epochs']} epochs; the landscape's are {epochs} "
                         f"and {budget}")
    return search


def real_check(per_seed: PerSeed, real: dict[str, Any], epochs: int,
               source: str) -> dict[str, Any]:
    """The 1x replay against real studies (`bench sweep`'s JSON), for both of its arms at
    1/4, 1/2 and all of the budget: the replay's mean best over every seed, and whether it
    lies in the real runs' 95% interval; and the replays of the real runs' own search seeds
    (the same sampler seeds propose the same configs), seed by seed."""
    search, budget = real_studies(real, epochs, source), SEARCH_TRIALS * epochs
    rows = {f"{arm}@{spent}": _real_row(per_seed, search, arm, spent)
            for arm in (TPE_ASHA, RANDOM) for spent in (budget // 4, budget // 2, budget)}
    return {"file": source, "rows": rows, "all_agree": all(r["agrees"] for r in rows.values())}


def _real_row(per_seed: PerSeed, search: dict[str, Any], arm: str,
              spent: int) -> dict[str, Any]:
    """One arm after `spent` epochs: the real studies' mean best and interval beside the
    replays' mean best, then seed by seed."""
    from cvae_study.study.statistics import mean_interval

    measured = {seed["seed"]: seed["arms"][arm]["best_after"][str(spent)]
                for seed in search["seeds"]}
    interval = mean_interval(list(measured.values()))
    replayed = float(np.mean([curves[arm][spent - 1] for curves in per_seed]))
    return {"real_mean": round(interval.mean, 4),
            "real_interval": [round(interval.low, 4), round(interval.high, 4)],
            "replay_mean": round(replayed, 4),
            "agrees": bool(interval.low <= replayed <= interval.high),
            "by_seed": {seed: {"real": value, "replay": round(per_seed[seed][arm][spent - 1], 4)}
                        for seed, value in measured.items() if seed < len(per_seed)}}
