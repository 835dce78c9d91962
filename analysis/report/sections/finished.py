"""The Finished at full length section of a study with a finish: what the search said of
each finalist beside what fresh full-length seeds give, and which finalist is best once
finished."""

from cvae_study.analysis.findings import effect_sentence, interval_text, number
from cvae_study.analysis.finished import (
    FinishTables,
    against_best,
    best_finalist,
    finalists_table,
)
from cvae_study.analysis.report.document import Block, Heading, Paragraph, Table
from cvae_study.study.statistics import noise_floor


def _reading(finish: FinishTables, trial_id: str) -> str:
    """What the search's number says about the finished model."""
    searched, interval = finish.finalists[trial_id], finish.interval(trial_id)
    if not interval.n:
        return f"Trial {trial_id}: no fresh run has completed yet."
    told = (f"Trial {trial_id}: the search scored it {number(searched['search_value'])} after "
            f"{searched['search_epochs']} epochs on seed {searched['search_seed']}; at "
            f"{finish.plan['epochs']} epochs its fresh seeds give {interval_text(interval)}.")
    if searched["search_epochs"] < finish.plan["epochs"]:
        return told + (" The search's number measured a shorter run, so it ranks "
                       "configurations rather than estimating the finished model.")
    inside = interval.n >= 2 and interval.low <= searched["search_value"] <= interval.high
    gap = searched["search_value"] - interval.mean
    optimistic = gap > 0 if finish.mode == "max" else gap < 0
    ending = (", inside its interval." if inside else
              ": the winner's curse of choosing it on one seed." if optimistic else ".")
    return told + (f" At the same length the search's number lies {number(abs(gap))} "
                   f"{'above' if gap > 0 else 'below'} the fresh mean{ending}")


def _comparison(finish: FinishTables) -> list[Block]:
    """Of several finalists: the best once finished, and each other one against it."""
    best = best_finalist(finish)
    if len(finish.finalists) < 2 or best is None:
        return []
    floor = noise_floor(list(finish.values[best].values()))
    lines = [f"Once finished, trial {best} has the best mean {finish.metric}. Against it, "
             "paired by seed:"]
    lines += [effect_sentence(f"Trial {trial_id}", effect, finish.metric, finish.mode, floor)
              for trial_id, effect in against_best(finish).items()]
    return [Paragraph(line) for line in lines]


def finished_section(finish: FinishTables) -> list[Block]:
    plan = finish.plan
    blocks = [Heading("Finished at full length"), Paragraph(
        f"Finish {finish.parent.info.run_name} trained {len(finish.finalists)} of the study's "
        f"trials for {plan['epochs']} epochs under the seeds "
        f"{', '.join(map(str, plan['seeds']))}, none of which the search used; every finalist "
        f"under the same seeds. {finish.metric} ({finish.mode}) of the completed runs:")]
    if not finish.values:
        return blocks + [Paragraph("No finishing run has completed yet.")]
    blocks += [Paragraph(_reading(finish, trial_id)) for trial_id in finish.finalists]
    return blocks + [Table(finalists_table(finish))] + _comparison(finish)
