"""Pareto fronts, crowding and hypervolume worked by hand (study.pareto)."""

import numpy as np
import pytest

from cvae_study.study.pareto import crowding_distances, hypervolume, pareto_ranking

MODES = ("max", "min")  # bleu up, seconds down

# (bleu, seconds). Front 0: D, C, B, A trade seconds for bleu (neither better at both).
# E is dominated by B (0.8 > 0.7, 5 < 6), F by C (0.6 > 0.5, 2 < 3): front 1 (E and F do
# not dominate each other). G is dominated by F (0.5 > 0.2, 3 < 4): front 2. H has a NaN.
POINTS = np.array([
    (0.9, 9),  # A 0
    (0.8, 5),  # B 1
    (0.6, 2),  # C 2
    (0.3, 1),  # D 3
    (0.7, 6),  # E 4
    (0.5, 3),  # F 5
    (0.2, 4),  # G 6
    (np.nan, 1),  # H 7
])


def test_fronts_and_crowding_worked_by_hand():
    ranking = pareto_ranking(POINTS, MODES)
    assert ranking.fronts.tolist() == [0, 0, 0, 0, 1, 1, 2, 3]
    # Front 0 by bleu: D .3, C .6, B .8, A .9 (range .6); by seconds: D 1, C 2, B 5, A 9
    # (range 8). D and A are boundaries: infinite. C: (.8 - .3)/.6 + (5 - 1)/8 = 5/6 + 1/2;
    # B: (.9 - .6)/.6 + (9 - 2)/8 = 1/2 + 7/8. Fronts 1 and 2 have 2 and 1 points: all
    # boundary. H has none.
    assert ranking.crowding[:7] == pytest.approx(
        [np.inf, 1 / 2 + 7 / 8, 5 / 6 + 1 / 2, np.inf, np.inf, np.inf, np.inf])
    assert np.isnan(ranking.crowding[7])
    # front 0: A and D (infinite, in index order), B (1.375), C (1.333); then E, F, G, H
    assert ranking.order.tolist() == [0, 3, 1, 2, 4, 5, 6, 7]
    assert ranking.pareto_set.tolist() == [0, 1, 2, 3]


def test_the_modes_say_which_way_is_better():
    # seconds as negative seconds with "max": the same ranking
    flipped = pareto_ranking(POINTS * [1, -1], ("max", "max"))
    ranking = pareto_ranking(POINTS, MODES)
    assert flipped.fronts.tolist() == ranking.fronts.tolist()
    assert flipped.order.tolist() == ranking.order.tolist()
    # both read as "min": G (0.2, 4) has the lowest bleu, D (0.3, 1) the lowest seconds,
    # and every other point has more of both than D
    assert pareto_ranking(POINTS, ("min", "min")).pareto_set.tolist() == [3, 6]


def test_a_nan_point_is_never_on_the_front():
    # (nan, 0) would beat every point on seconds; it ranks after the last real front
    ranking = pareto_ranking([(0.5, 5), (np.nan, 0), (0.4, 6)], MODES)
    assert ranking.fronts.tolist() == [0, 2, 1]
    assert ranking.order.tolist() == [0, 2, 1]
    everything_nan = pareto_ranking([(np.nan, 1), (2, np.nan)], MODES)
    assert everything_nan.fronts.tolist() == [1, 1]  # front 0 is the Pareto set: none
    assert everything_nan.pareto_set.tolist() == []


def test_identical_points_share_their_crowding_distance():
    # min, min. Front 0: (0, 2), (1, 1) twice, (2, 0). Its distinct points: (1, 1) is the
    # interior one, (2 - 0)/2 + (2 - 0)/2 = 2, for both copies, whichever sorts first.
    points = np.array([(1, 1), (0, 2), (1, 1), (2, 0)])
    fronts = np.zeros(4, dtype=int)
    assert crowding_distances(points, fronts).tolist() == [2.0, np.inf, 2.0, np.inf]
    assert crowding_distances(np.ones((3, 2)), np.zeros(3, dtype=int)).tolist() == [np.inf] * 3


def test_a_gap_to_an_infinite_value_is_infinite_not_nan():
    # (bleu, seconds) with a missing seconds as the worst there is: all three on front 0.
    # (0.5, 5) is interior on both: bleu (0.9 - 0.3)/0.6 = 1, seconds (inf - 2) = inf.
    ranking = pareto_ranking([(0.9, np.inf), (0.5, 5), (0.3, 2)], MODES)
    assert ranking.fronts.tolist() == [0, 0, 0]
    assert ranking.crowding.tolist() == [np.inf] * 3


def test_the_hypervolume_of_a_2d_staircase():
    # Up to the reference (bleu 0, 10 seconds), strips by seconds: from 1 to 2 only D
    # (bleu .3) dominates, from 2 to 5 C (.6), from 5 to 9 B (.8), from 9 to 10 A (.9):
    # .3*1 + .6*3 + .8*4 + .9*1 = 6.2. Dominated points and the NaN point add nothing.
    assert hypervolume(POINTS, MODES, (0, 10)) == pytest.approx(6.2)
    assert hypervolume(POINTS[:4], MODES, (0, 10)) == pytest.approx(6.2)
    # with the reference at 4 seconds D, C and F (dominated by C) are inside: .3*1 + .6*2
    assert hypervolume(POINTS, MODES, (0, 4)) == pytest.approx(1.5)
    assert hypervolume(np.empty((0, 2)), MODES, (0, 10)) == 0.0


def test_the_hypervolume_of_three_boxes_in_3d():
    # min, min, min up to (4, 4, 4): each point's box is 3 x 3 x 1 = 9; each pair overlaps
    # in a 1 x 1 x 3 = 3 box, all three in a 1 x 1 x 1 box: 27 - 9 + 1 = 19. (Of the 27
    # unit cubes of [1, 4]^3, those below 3 in every coordinate are uncovered: 27 - 8.)
    boxes = [(1, 1, 3), (1, 3, 1), (3, 1, 1)]
    assert hypervolume(boxes, ("min",) * 3, (4, 4, 4)) == pytest.approx(19)
    # a point inside the first box and one beyond the reference change nothing
    more = [*boxes, (2, 2, 3.5), (5, 0, 0)]
    assert hypervolume(more, ("min",) * 3, (4, 4, 4)) == pytest.approx(19)
    negated = -np.array(boxes, dtype=float)
    assert hypervolume(negated, ("max",) * 3, (-4, -4, -4)) == pytest.approx(19)


def test_bad_shapes_and_modes_are_refused():
    with pytest.raises(ValueError, match="modes"):
        pareto_ranking(POINTS, ("max", "up"))
    with pytest.raises(ValueError, match="shape"):
        pareto_ranking(POINTS, ("max",))
    with pytest.raises(ValueError, match="shape"):
        hypervolume(POINTS, MODES, (0, 10, 1))
