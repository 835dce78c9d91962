import pytest

from cvae_study.models.schedules import (
    KLConfig,
    TeacherForcingConfig,
    comparison_epochs,
    cycle_boundaries,
    kl_weight,
    learning_rate,
    teacher_forcing_ratio,
)

TOTAL = 400


def test_none_schedule_is_constant_max_weight():
    cfg = KLConfig(schedule="none", max_weight=0.7)
    assert kl_weight(0, cfg, TOTAL) == pytest.approx(0.7)
    assert kl_weight(TOTAL - 1, cfg, TOTAL) == pytest.approx(0.7)
    assert kl_weight(10 * TOTAL, cfg, TOTAL) == pytest.approx(0.7)


def test_monotonic_schedule_warms_up_linearly_then_holds():
    cfg = KLConfig(schedule="monotonic", max_weight=2.0, warmup_steps=100)
    assert kl_weight(0, cfg, TOTAL) == 0.0
    assert kl_weight(50, cfg, TOTAL) == pytest.approx(1.0)
    assert kl_weight(100, cfg, TOTAL) == pytest.approx(2.0)
    assert kl_weight(101, cfg, TOTAL) == pytest.approx(2.0)
    assert kl_weight(TOTAL * 5, cfg, TOTAL) == pytest.approx(2.0)
    weights = [kl_weight(step, cfg, TOTAL) for step in range(TOTAL)]
    assert weights == sorted(weights)


CYCLICAL = KLConfig(schedule="cyclical", max_weight=1.0, cycles=4, ratio=0.5)


@pytest.mark.parametrize("step", [0, 100, 200, 300])
def test_cyclical_schedule_restarts_at_zero_at_each_cycle_start(step):
    assert kl_weight(step, CYCLICAL, TOTAL) == 0.0


@pytest.mark.parametrize("offset", [50, 60, 75, 99])
@pytest.mark.parametrize("cycle", [0, 1, 2, 3])
def test_cyclical_schedule_holds_max_after_the_rise(cycle, offset):
    assert kl_weight(cycle * 100 + offset, CYCLICAL, TOTAL) == pytest.approx(1.0)


@pytest.mark.parametrize("cycle", [0, 1, 2, 3])
def test_cyclical_schedule_is_half_way_up_at_a_quarter_cycle(cycle):
    assert kl_weight(cycle * 100 + 25, CYCLICAL, TOTAL) == pytest.approx(0.5)


def test_cyclical_schedule_never_exceeds_max_weight():
    cfg = KLConfig(schedule="cyclical", max_weight=0.3, cycles=3, ratio=0.25)
    weights = [kl_weight(step, cfg, 301) for step in range(301)]
    assert max(weights) == pytest.approx(0.3)
    assert all(0.0 <= w <= 0.3 + 1e-12 for w in weights)


def test_cyclical_schedule_with_ratio_one_rises_over_the_whole_cycle():
    cfg = KLConfig(schedule="cyclical", max_weight=1.0, cycles=4, ratio=1.0)
    assert kl_weight(0, cfg, TOTAL) == 0.0
    assert kl_weight(50, cfg, TOTAL) == pytest.approx(0.5)
    assert kl_weight(99, cfg, TOTAL) == pytest.approx(0.99)
    assert kl_weight(100, cfg, TOTAL) == 0.0
    rising = [kl_weight(step, cfg, TOTAL) for step in range(100)]
    assert all(a < b for a, b in zip(rising, rising[1:], strict=False))


def test_cycle_boundaries_of_a_cyclical_schedule():
    assert cycle_boundaries(CYCLICAL, TOTAL) == [100, 200, 300, 400]
    uneven = KLConfig(schedule="cyclical", cycles=3)
    bounds = cycle_boundaries(uneven, 100)
    assert len(bounds) == 3 and bounds[-1] == 100
    assert bounds == sorted(bounds)


@pytest.mark.parametrize(("total", "cycles"), [(20, 6), (14, 6), (15, 9), (100, 6)])
def test_cyclical_schedule_is_zero_at_every_cycle_start_that_falls_on_a_step(total, cycles):
    # Cycle k starts at step k * total / cycles; where that is a whole step, the weight is 0
    # there, even when the cycle length itself (e.g. 20 / 6) is not a whole number of steps.
    cfg = KLConfig(schedule="cyclical", max_weight=1.0, cycles=cycles, ratio=0.5)
    starts = [k * total // cycles for k in range(cycles) if k * total % cycles == 0]
    assert len(starts) > 1
    weights = {step: kl_weight(step, cfg, total) for step in starts}
    assert weights == pytest.approx(dict.fromkeys(starts, 0.0), abs=1e-9)


@pytest.mark.parametrize(("total", "cycles"), [(400, 4), (10, 3), (5, 2), (12, 5)])
def test_cycle_boundaries_are_where_kl_weight_restarts(total, cycles):
    cfg = KLConfig(schedule="cyclical", max_weight=1.0, cycles=cycles, ratio=0.5)
    weights = [kl_weight(step, cfg, total) for step in range(total)]
    restarts = [step for step in range(1, total) if weights[step] < weights[step - 1]]
    assert len(restarts) == cycles - 1
    assert cycle_boundaries(cfg, total) == [*restarts, total]


@pytest.mark.parametrize("schedule", ["none", "monotonic"])
def test_cycle_boundaries_of_a_non_cyclical_schedule_is_the_run_end(schedule):
    assert cycle_boundaries(KLConfig(schedule=schedule, cycles=4), TOTAL) == [TOTAL]


def test_teacher_forcing_is_start_before_decay_start():
    cfg = TeacherForcingConfig(start=0.9, decay_start=3, decay_step=0.1, floor=0.0)
    assert [teacher_forcing_ratio(e, cfg) for e in range(3)] == pytest.approx([0.9] * 3)


def test_teacher_forcing_decreases_by_decay_step_each_epoch_from_decay_start():
    cfg = TeacherForcingConfig(start=0.9, decay_start=3, decay_step=0.1, floor=0.0)
    # decay_start is the first epoch that decays.
    ratios = [teacher_forcing_ratio(e, cfg) for e in range(3, 7)]
    assert ratios == pytest.approx([0.8, 0.7, 0.6, 0.5])


def test_teacher_forcing_never_goes_below_the_floor():
    cfg = TeacherForcingConfig(start=1.0, decay_start=0, decay_step=0.3, floor=0.25)
    ratios = [teacher_forcing_ratio(e, cfg) for e in range(20)]
    assert min(ratios) == pytest.approx(0.25)
    assert ratios[-1] == pytest.approx(0.25)
    assert ratios == sorted(ratios, reverse=True)


def test_teacher_forcing_never_goes_above_start():
    cfg = TeacherForcingConfig(start=0.6, decay_start=5, decay_step=0.0, floor=0.0)
    assert all(teacher_forcing_ratio(e, cfg) == pytest.approx(0.6) for e in range(10))
    decaying = TeacherForcingConfig(start=0.6, decay_start=5, decay_step=0.2, floor=0.0)
    assert max(teacher_forcing_ratio(e, decaying) for e in range(10)) <= 0.6


def test_every_epoch_is_comparable_without_cycles():
    assert comparison_epochs(KLConfig(schedule="monotonic"), 7, 5) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(("cycles", "steps_per_epoch", "epochs", "expected"), [
    (4, 10, 8, [2, 4, 6, 8]),  # cycles of whole epochs
    (3, 10, 8, [3, 6, 8]),  # cycle ends at steps 27 and 54: inside epochs 3 and 6
    (1, 10, 8, [8]),
    (20, 10, 8, [1, 2, 3, 4, 5, 6, 7, 8]),  # several cycles an epoch
])
def test_cyclical_runs_are_comparable_at_the_epochs_where_a_cycle_ends(
    cycles, steps_per_epoch, epochs, expected
):
    cfg = KLConfig(schedule="cyclical", cycles=cycles)
    assert comparison_epochs(cfg, steps_per_epoch, epochs) == expected
    # ... which are the epochs whose last step is at or past a restart of the weight
    restarts = [s for s in range(1, steps_per_epoch * epochs)
                if kl_weight(s, cfg, steps_per_epoch * epochs) < kl_weight(s - 1, cfg,
                                                                         steps_per_epoch * epochs)]
    assert {-(-s // steps_per_epoch) for s in restarts} <= set(expected)


def test_learning_rate_is_constant_or_decays_along_a_cosine_to_zero():
    from cvae_study.study.config import OptimConfig

    constant = OptimConfig(lr=0.01)
    assert {learning_rate(step, constant, TOTAL) for step in (0, 200, TOTAL)} == {0.01}
    cosine = OptimConfig(lr=0.01, lr_decay="cosine")
    assert learning_rate(0, cosine, TOTAL) == pytest.approx(0.01)
    assert learning_rate(TOTAL // 2, cosine, TOTAL) == pytest.approx(0.005)
    assert learning_rate(TOTAL // 4, cosine, TOTAL) == pytest.approx(0.005 * (1 + 2**-0.5))
    assert learning_rate(TOTAL, cosine, TOTAL) == pytest.approx(0.0, abs=1e-12)
    assert learning_rate(2 * TOTAL, cosine, TOTAL) == pytest.approx(0.0, abs=1e-12)
    rates = [learning_rate(step, cosine, TOTAL) for step in range(TOTAL)]
    assert rates == sorted(rates, reverse=True)
