"""What mattered, in words: one sentence per knob from an ablation's paired effects.

Effects keep the sign convention variant - reference; the words say whether that is
better or worse, since for a metric to minimise a drop is the good direction.
"""

import math

from scipy import stats

from cvae_study.analysis.ablation import AblationTables, effect_of, noise
from cvae_study.study import statistics as st
from cvae_study.study.ablation_plan import BASELINE, LEAVE_ONE_OUT, PATH, TARGET, WITHOUT

DESIGNS = {PATH: "a greedy ablation path from the baseline to the target",
           LEAVE_ONE_OUT: "leave-one-out: the target with one knob set back at a time"}


def number(value: float) -> str:
    return f"{value:.3f}" if math.isfinite(value) else "n/a"


def interval_text(interval: st.Interval) -> str:
    """'0.612 (95% CI 0.598 to 0.626)', or just the mean when there is no interval."""
    if not math.isfinite(interval.low):
        return number(interval.mean)
    return f"{number(interval.mean)} (95% CI {number(interval.low)} to {number(interval.high)})"


def _values(changes: dict, knob: str) -> str:
    if list(changes) == [knob]:
        return str(changes[knob])
    return ", ".join(f"{key}={value}" for key, value in changes.items())


def _better(effect: st.Effect, mode: str) -> bool:
    return effect.mean > 0 if mode == "max" else effect.mean < 0


def _amount(effect: st.Effect, metric: str, mode: str) -> str:
    """'lowers val/score by 0.120 (95% CI 0.080 to 0.160, 3 seeds)' and the like."""
    seeds = f"{effect.n} seeds"
    signed = effect.verdict in (st.MATTERS, st.NEGLIGIBLE_EFFECT) and effect.mean != 0
    if signed:  # the interval excludes 0: say the direction, then sizes
        sign = 1 if effect.mean > 0 else -1
        low, high = sorted((sign * effect.low, sign * effect.high))
        change = f"{'raises' if sign > 0 else 'lowers'} {metric} by {number(abs(effect.mean))}"
    else:
        low, high = effect.low, effect.high
        change = f"changes {metric} by {effect.mean:+.3f}"
    if effect.spread == 0:
        detail = f"every one of the {seeds} gave exactly the same difference"
    else:
        detail = f"95% CI {number(low)} to {number(high)}, {seeds}"
    if signed and mode == "min":
        detail = f"{'better' if _better(effect, mode) else 'worse'}; {detail}"
    return f"{change} ({detail})"


def _judgement(effect: st.Effect, floor: float) -> str:
    return {st.MATTERS: "it matters",
            st.WITHIN_NOISE: f"within seed noise (seeds alone move it by {number(floor)})",
            st.NEGLIGIBLE_EFFECT: "its interval excludes 0, but it is under a tenth of what "
                                  f"seeds alone move it by ({number(floor)}): negligible",
            st.NO_EFFECT: "no effect"}[effect.verdict]


def _wide(effect: st.Effect) -> str:
    if effect.n != 2 or effect.spread == 0:
        return ""
    t = stats.t.ppf((1 + st.CONFIDENCE) / 2, 1)
    return (f" With 2 seeds the t-interval has one degree of freedom (t = {t:.1f}): it is "
            "very wide.")


def effect_sentence(subject: str, effect: st.Effect, metric: str, mode: str, floor: float,
                    ending: str = "") -> str:
    """'<subject> lowers val/score by ... : it matters.' floor: what seeds alone move the
    metric by."""
    if effect.verdict == st.TOO_FEW:
        return (f"{subject}: {effect.n} seed(s) completed for both, too few to tell "
                f"what it does to {metric}.")
    return (f"{subject} {_amount(effect, metric, mode)}: "
            f"{_judgement(effect, floor)}{ending}.{_wide(effect)}")


def sentence(subject: str, effect: st.Effect, ab: AblationTables, ending: str = "") -> str:
    """effect_sentence of an ablation's variant, against its target's seed noise."""
    return effect_sentence(subject, effect, ab.metric, ab.mode, noise(ab).floor, ending)


def _baseline_label(ab: AblationTables, knobs: int = 1) -> str:
    trial = ab.plan["baseline_trial"]
    return "the default" if trial == "default" else (
        f"trial {trial}'s value{'s' if knobs > 1 else ''}")


def _knob_findings(ab: AblationTables) -> list[tuple[str, st.Effect]]:
    """(subject, effect) per knob: the 'without K' variants, or the path's steps (each
    against the step before it)."""
    if ab.design != PATH:
        return [(f"Setting {spec['knob']} back to {_baseline_label(ab)} "
                 f"({_values(spec['changes'], spec['knob'])})", effect_of(ab, name))
                for name, spec in ab.variants.items() if spec["role"] == WITHOUT]
    target = ab.configs.get(TARGET, {})
    found, previous = [], BASELINE
    for step in ab.plan.get("path", []):
        keys = ab.plan["knobs"].get(step["knob"], [])
        value = _values({key: target[key] for key in keys if key in target}, step["knob"])
        subject = (f"Step {step['step']}: setting {step['knob']} to the target's value"
                   + (f" ({value})" if value else ""))
        found.append((subject, effect_of(ab, step["variant"], previous)))
        previous = step["variant"]
    return found


def _baseline_sentence(ab: AblationTables) -> str:
    effect = effect_of(ab, BASELINE)
    if effect.verdict != st.MATTERS:
        ending = ", so the search did not measurably pay off"
    elif _better(effect, ab.mode):
        ending = ", and the baseline beats the target"
    else:
        ending = ", so the search paid off"
    knobs = len(ab.plan["knobs"])
    subject = (f"Setting every knob back to {_baseline_label(ab, knobs)} (the baseline, "
               f"{knobs} knobs)")
    return sentence(subject, effect, ab, ending)


def what_mattered(ab: AblationTables) -> list[str]:
    """One sentence per knob, the largest |effect| first, then the baseline's."""
    found = sorted(_knob_findings(ab), key=lambda pair: -abs(pair[1].mean)
                   if math.isfinite(pair[1].mean) else math.inf)
    return [sentence(subject, effect, ab) for subject, effect in found] + [
        _baseline_sentence(ab)]


def noise_sentence(ab: AblationTables) -> str:
    found = noise(ab)
    return (f"Seed noise: over {found.target.n} seeds the target's {found.metric} is "
            f"{interval_text(found.target)}; its standard deviation over seeds, the noise "
            f"floor, is {number(found.floor)}: what reseeding alone moves it by.")


def design_sentence(ab: AblationTables) -> str:
    plan, runs = ab.plan, ab.runs
    counts = ", ".join(f"{count} {outcome}"
                       for outcome, count in runs["outcome"].value_counts().items())
    baseline = ("the study's default configuration" if plan["baseline_trial"] == "default"
                else f"trial {plan['baseline_trial']}")
    steps = " (a path's step: minus the step before)" if ab.design == PATH else ""
    return (f"Ablation run {ab.parent.info.run_name}: {DESIGNS.get(ab.design, ab.design)}. "
            f"Target: trial {plan['target_trial']}; baseline: {baseline}. "
            f"{len(ab.variants)} variants x seeds {', '.join(map(str, plan['seeds']))}, "
            f"{plan['epochs']} epochs each; runs: {counts or 'none yet'} (only completed "
            f"runs count). An effect is the variant minus the target{steps}, paired by seed, "
            "with a 95% t-interval over the seeds' differences.")
