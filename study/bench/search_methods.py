"""The searches `bench search` replays: the search methods, then the default with one
setting changed (TPE's start-up, ASHA's reduction factor), what the defaults are chosen
from."""

from cvae_study.study.bench.study_curves import RANDOM, TPE_ASHA

DEFAULT = TPE_ASHA  # what `sweep` does unless told otherwise
VARIANTS = ("tpe_asha_startup5", "tpe_asha_rf2", "tpe_asha_rf4")


def methods():
    """Every replayed method (tune.replay.Method), random search first: the baseline."""
    from cvae_study.study.tune.replay import Method  # here: Ray only once replays run

    return (Method(RANDOM, "random"), Method("tpe"), Method(DEFAULT, brackets=1),
            Method("hyperband", "random", brackets=3), Method("bohb", brackets=3),
            Method("tpe_asha_warm", brackets=1, warm_start=True),
            Method(VARIANTS[0], brackets=1, startup=5),
            Method(VARIANTS[1], brackets=1, reduction_factor=2),
            Method(VARIANTS[2], brackets=1, reduction_factor=4))
