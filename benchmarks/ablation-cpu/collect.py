"""The raw numbers of a study's latest ablation, from its MLflow records, as JSON:
python collect.py WORKDIR STUDY > ablation.json (the report shows the same, in words)."""

import json
import sys

from cvae_study.analysis.ablation import effects, load_ablation, noise
from cvae_study.study.tracking.workdir import Workspace

where = Workspace.at(sys.argv[1])
ablation = load_ablation(where.tracking_uri, sys.argv[2])
floor = noise(ablation)
runs = [{"variant": row.variant, "seed": int(row.seed), "metric": row.metric,
         "value": row.value} for row in ablation.finals.itertuples()]
print(json.dumps({
    "study": sys.argv[2], "ablation_run": ablation.parent.info.run_id, "plan": ablation.plan,
    "noise_floor": floor.floor, "target": {"mean": floor.target.mean, "ci95": [
        floor.target.low, floor.target.high], "n": floor.target.n},
    "effects": effects(ablation).to_dict("records"),
    "runs": runs,
}, indent=2, default=str))
