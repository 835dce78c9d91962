"""A two-objective study's front against random search with the same budget.

    python compare.py WORKDIR STUDY LANDSCAPE.jsonl OUT.json

The study (a `sweep --metric val/bleu4,val/gaussian` of the landscape's length and fixed
config) is read from WORKDIR's MLflow store; random search with the same budget is drawn
from the landscape, whose 150 configs are a random search trained to the end: as many
configs as the study's epochs would train to the end (epochs run / epochs per trial),
2,000 draws without replacement. Hypervolume against the objectives' worst values (0, 0).
"""

import json
import sys
from pathlib import Path

import numpy as np

from cvae_study.analysis import load_study
from cvae_study.study import names as n
from cvae_study.study.bench.landscape_curves import Landscape
from cvae_study.study.pareto import hypervolume, pareto_ranking

OBJECTIVES = (n.VAL_BLEU4, n.VAL_GAUSSIAN)
MODES = ("max", "max")
REFERENCE = (0.0, 0.0)
DRAWS = 2000
AIM = {n.VAL_BLEU4: 0.80, n.VAL_GAUSSIAN: 0.40}  # one checkpoint with both


def study_points(workdir: Path, name: str, epochs: int) -> tuple[dict, list[dict]]:
    study = load_study(name, workdir)
    final = study.history[study.history["epoch"] == epochs]
    rows = []
    for trial_id in study.trials[study.trials["outcome"] == n.COMPLETED]["trial_id"]:
        own = final[final["trial_id"] == trial_id].set_index("metric")["value"]
        config = study.trials.set_index("trial_id").loc[trial_id]
        rows.append({"trial_id": trial_id, **{o: float(own[o]) for o in OBJECTIVES},
                     "config": {k: _plain(config[k]) for k in study.searched
                                if k in config and config[k] == config[k]}})
    return study.parent.data.metrics, rows


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def main(workdir: str, name: str, landscape_path: str, out: str) -> None:
    landscapes = {o: Landscape.read(Path(landscape_path), o) for o in OBJECTIVES}
    epochs = landscapes[OBJECTIVES[0]].epochs
    parent, trials = study_points(Path(workdir), name, epochs)
    points = np.array([[t[o] for o in OBJECTIVES] for t in trials])
    front = [trials[i] for i in pareto_ranking(points, MODES).pareto_set]
    study_hv = hypervolume(points, MODES, REFERENCE)
    random_points = np.array([[by_seed[0][-1] for by_seed in landscapes[o].curves]
                              for o in OBJECTIVES]).T  # configs x objectives, seed 0
    budget = int(parent[n.EPOCHS_RUN])
    configs = max(1, budget // epochs)
    rng = np.random.default_rng(0)
    draws = np.array([hypervolume(random_points[rng.choice(len(random_points), configs,
                                                            replace=False)], MODES, REFERENCE)
                      for _ in range(DRAWS)])
    reached = [t for t in trials if all(t[o] >= AIM[o] for o in OBJECTIVES)]
    report = {
        "study": name, "objectives": OBJECTIVES, "epochs_per_trial": epochs,
        "epochs_run": budget, "epochs_saved": int(parent[n.EPOCHS_SAVED]),
        "cpu_hours": round(parent[n.CPU_HOURS], 3), "completed": len(trials),
        "hypervolume": round(study_hv, 4),
        "random_same_budget": {
            "configs": configs, "draws": DRAWS, "mean": round(float(draws.mean()), 4),
            "interval": [round(float(v), 4) for v in np.percentile(draws, [2.5, 97.5])],
            "share_at_or_above_study": round(float((draws >= study_hv).mean()), 3)},
        "random_all_150": round(hypervolume(random_points, MODES, REFERENCE), 4),
        "front": sorted(front, key=lambda t: -t[OBJECTIVES[0]]),
        "landscape_front": [
            {o: round(float(v), 4) for o, v in zip(OBJECTIVES, random_points[i], strict=True)}
            for i in pareto_ranking(random_points, MODES).pareto_set],
        "aim": AIM, "reached_aim": reached,
        "best_of_each": {o: round(float(points[:, k].max()), 4) if len(points) else None
                         for k, o in enumerate(OBJECTIVES)}}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:5])
