"""Every method of `bench search` replayed under many search seeds, one worker process per
core: seed -> each method's best-so-far curve.

A replay is tune.replay.replay: the sweep's own searcher and scheduler, each trial's epochs
read off the landscape's curve for its config (bench.landscape_curves). Each method runs
for the whole (10x) budget; its best-so-far curve holds the smaller budgets too, since no
method here looks at the budget.
"""

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from cvae_study.study.bench.landscape_curves import Landscape, LandscapeCurves
from cvae_study.study.bench.search_methods import DEFAULT, methods
from cvae_study.study.bench.study_curves import SEARCH_TRIALS, best_so_far

WARM_SEED_OFFSET = 10_000  # the earlier study a warm start learns from: another seed

# The landscape's curves in this process: each worker builds them once (the surrogate's
# fit and a task's steps per epoch take seconds), not once per seed.
_SOURCE: LandscapeCurves | None = None


def load_source(path: Path) -> LandscapeCurves:
    """The landscape's curves, read and fit in this process (a worker's initializer)."""
    import optuna
    import torch

    global _SOURCE
    torch.set_num_threads(1)  # one replay per core
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _SOURCE = LandscapeCurves(Landscape.read(path))
    return _SOURCE


def replay_seed(seed: int, budget: int) -> dict[str, list[float]]:
    """Every method under one search seed -> its best-so-far curve over `budget` epochs."""
    from cvae_study.study import warm_start
    from cvae_study.study.tune.replay import replay

    source = _SOURCE
    one_x = SEARCH_TRIALS * source.landscape.epochs
    default = next(method for method in methods() if method.name == DEFAULT)
    curves = {}
    for method in methods():
        prior = ()
        if method.warm_start:  # from another study of the default, 1x long
            earlier = replay(source.space, source, default, seed + WARM_SEED_OFFSET, one_x)
            prior = warm_start.from_study(earlier.study, "an earlier study")
        values = replay(source.space, source, method, seed, budget, prior=prior).values
        curves[method.name] = best_so_far(values, budget)
    return curves


def replay_seeds(path: Path, replays: int, budget: int,
                 workers: int | None = None) -> list[dict[str, list[float]]]:
    """Seeds 0 .. replays - 1, in worker processes -> each seed's curves, in seed order."""
    workers = workers or os.cpu_count() or 1
    # spawn: a forked child of a process whose torch threads ran can hang
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=load_source, initargs=(path,)) as pool:
        return list(pool.map(replay_seed, range(replays), [budget] * replays))
