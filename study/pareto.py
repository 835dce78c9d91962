"""Pareto ranking of points with several objectives: fronts, crowding, hypervolume.

Pure numpy, so the analysis imports it as the multi-objective scheduler (tune.mo_asha) does.
A point is a row of N x M objective values; `modes` says per column whether more ("max") or
less ("min") is better. Internally every column is turned into one to minimise.

- Fronts: non-dominated sorting (Deb et al. 2002, NSGA-II). Front 0 is the Pareto set;
  front k+1 is what is non-dominated once fronts 0..k are removed. A point with NaN in any
  objective is on no real front: such points share the front after the last one.
- Crowding distance within a front (NSGA-II): per objective, the gap between a point's two
  neighbours over the front's range, summed; a front's boundary points are infinitely far.
- The order "by front, then crowding distance descending": how NSGA-II, and MO-ASHA with its
  NSGA-II ranking (Schmucker et al. 2021), rank points.
- Hypervolume: the volume the points dominate up to a reference point.

An infinite value is allowed (the scheduler's stand-in for a missing metric: the worst there
is); it dominates and is dominated as numbers are, and a gap to it is infinite.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MODES = ("max", "min")


@dataclass(frozen=True)
class ParetoRanking:
    """Where each of N points ranks; every array is indexed by point."""

    fronts: np.ndarray  # (N,) int: 0 = the Pareto set; NaN points share the last front
    crowding: np.ndarray  # (N,) float: within the point's front; NaN for NaN points
    order: np.ndarray  # (N,) int: point indices by front, then crowding descending

    @property
    def pareto_set(self) -> np.ndarray:
        """(K,) int: the indices of front 0, ascending."""
        return np.flatnonzero(self.fronts == 0)

    def places_ahead(self, index: int) -> int:
        """How many points rank strictly before point `index`: on an earlier front, or on
        its front and less crowded. A tie is not ahead, so equal points rank together."""
        front, crowding = self.fronts[index], self.crowding[index]
        earlier = self.fronts < front
        less_crowded = (self.fronts == front) & (self.crowding > crowding)
        return int(np.count_nonzero(earlier | less_crowded))


def pareto_ranking(points, modes: Sequence[str]) -> ParetoRanking:
    """Fronts, crowding distances and the front-then-crowding order of `points` (N x M).

    Ties in the order keep the points' own order, so the result never depends on chance."""
    fronts = nondominated_fronts(points, modes)
    crowding = crowding_distances(points, fronts)
    # lexsort: the last key is the primary one; it is stable, so ties keep index order.
    # NaN points are alone on the last front: any equal key keeps them in index order.
    order = np.lexsort((-np.nan_to_num(crowding, nan=0.0), fronts))
    return ParetoRanking(fronts=fronts, crowding=crowding, order=order)


def nondominated_fronts(points, modes: Sequence[str]) -> np.ndarray:
    """(N,) int: each point's front (points: N x M). O(M N^2) time, O(M N^2) memory.

    Point a dominates b when a is no worse in every objective and better in one. Deb's fast
    non-dominated sort: a front is the points no remaining point dominates. Points with NaN
    share the front after the last real one (never front 0, even when all are NaN)."""
    minimised = _as_minimised(points, modes)
    ranked = ~np.isnan(minimised).any(axis=1)
    fronts = np.zeros(len(minimised), dtype=int)
    dominates = _dominance_matrix(minimised[ranked])
    indices = np.flatnonzero(ranked)
    dominators = dominates.sum(axis=0)  # per point: how many remaining points dominate it
    remaining = np.ones(len(indices), dtype=bool)
    front = 0
    while remaining.any():
        current = np.flatnonzero(remaining & (dominators == 0))
        fronts[indices[current]] = front
        remaining[current] = False
        dominators = dominators - dominates[current].sum(axis=0)
        front += 1
    fronts[~ranked] = max(front, 1)
    return fronts


def crowding_distances(points, fronts: np.ndarray) -> np.ndarray:
    """(N,) float: each point's crowding distance within its front (points: N x M; fronts
    as nondominated_fronts gives them). O(M N log N).

    A front of one or two points is all boundary: infinite. Identical points share their
    distance, so which copy came first does not matter. NaN points get NaN. A distance does
    not depend on the modes: flipping an objective's sign keeps every gap's size."""
    values = np.asarray(points, dtype=float)
    distances = np.full(len(values), np.nan)
    ranked = ~np.isnan(values).any(axis=1)
    for front in np.unique(fronts[ranked]):
        members = np.flatnonzero(ranked & (fronts == front))
        distinct, copies = np.unique(values[members], axis=0, return_inverse=True)
        distances[members] = _front_crowding(distinct)[copies.reshape(-1)]
    return distances


def hypervolume(points, modes: Sequence[str], reference: Sequence[float]) -> float:
    """The volume dominated by `points` (N x M) and bounded by `reference` (M,), in the
    objectives' own units. Only points better than the reference in every objective count;
    NaN points never do.

    Exact: a sweep for M = 2 (O(N log N)); for M >= 3 slices along the last objective, each
    an (M-1)-objective hypervolume (the HSO recursion, While et al. 2006): O(N^(M-1) log N),
    fine for a study's trials, not for thousands of points in many objectives."""
    minimised = _as_minimised(points, modes)
    bound = _as_minimised([reference], modes)[0]
    # a NaN compares False, so NaN points drop out here too
    inside = minimised[(minimised < bound).all(axis=1)]
    return float(_minimised_hypervolume(inside, bound))


def _as_minimised(points, modes: Sequence[str]) -> np.ndarray:
    """(N, M) float with each "max" column negated, so that less is better everywhere."""
    values = np.asarray(points, dtype=float)
    if values.size == 0:
        values = values.reshape(0, len(modes))
    if values.ndim != 2 or values.shape[1] != len(modes):
        raise ValueError(f"values of shape {values.shape} for {len(modes)} modes: "
                         "one column per mode")
    unknown = [mode for mode in modes if mode not in MODES]
    if unknown:
        raise ValueError(f"modes must be 'max' or 'min', not {unknown}")
    signs = np.array([-1.0 if mode == "max" else 1.0 for mode in modes])
    return values * signs


def _dominance_matrix(minimised: np.ndarray) -> np.ndarray:
    """(N, N) bool: [a, b] when point a dominates point b (minimised: N x M)."""
    no_worse = (minimised[:, None, :] <= minimised[None, :, :]).all(axis=2)
    better = (minimised[:, None, :] < minimised[None, :, :]).any(axis=2)
    return no_worse & better


def _front_crowding(front: np.ndarray) -> np.ndarray:
    """(K,) float: crowding distances of K distinct points (K x M) of one front."""
    if len(front) <= 2:
        return np.full(len(front), np.inf)
    distances = np.zeros(len(front))
    for column in front.T:
        by_value = np.argsort(column, kind="stable")
        distances[by_value[[0, -1]]] = np.inf
        distances[by_value[1:-1]] += _normalised_gaps(column[by_value])
    return distances


def _normalised_gaps(ascending: np.ndarray) -> np.ndarray:
    """(K-2,): for each interior value of `ascending` (K,), the gap between its neighbours
    over the range of the finite values. Equal neighbours leave no gap (also for infinite
    ones); a gap to an infinite neighbour is infinite."""
    finite = ascending[np.isfinite(ascending)]
    span = finite.max() - finite.min() if finite.size else 0.0
    below, above = ascending[:-2], ascending[2:]
    with np.errstate(invalid="ignore", divide="ignore"):
        gaps = np.where(above == below, 0.0, above - below)
        return np.where(gaps > 0, gaps / span, 0.0)


def _minimised_hypervolume(points: np.ndarray, bound: np.ndarray) -> float:
    """Hypervolume of points (N x M) all below `bound` (M,) in every objective."""
    if len(points) == 0:
        return 0.0
    if len(bound) == 1:
        return bound[0] - points[:, 0].min()
    if len(bound) == 2:
        return _sweep_area(points, bound)
    # slab i: from point i's last objective to the next point's (or the bound); the points
    # at or below it dominate the slab's cross-section
    by_last = points[np.argsort(points[:, -1], kind="stable")]
    tops = np.append(by_last[1:, -1], bound[-1])
    depths = tops - by_last[:, -1]
    return sum(depth * _minimised_hypervolume(by_last[:i + 1, :-1], bound[:-1])
               for i, depth in enumerate(depths) if depth > 0)


def _sweep_area(points: np.ndarray, bound: np.ndarray) -> float:
    """Area dominated by 2-objective points (N x 2) below `bound` (2,): the staircase swept
    along the first objective, each point adding the strip its second objective lowers."""
    by_first = points[np.lexsort((points[:, 1], points[:, 0]))]
    lowest_before = np.minimum.accumulate(np.append(bound[1], by_first[:-1, 1]))
    drops = np.maximum(lowest_before - by_first[:, 1], 0.0)
    return float(np.sum((bound[0] - by_first[:, 0]) * drops))
