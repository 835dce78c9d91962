"""`make demo` timed end to end, and what its exported model is: a raw file for the README.

Usage: python measure.py WORKDIR OUT.json  (WORKDIR is created fresh; run from the
repository root with its .venv active, the machine otherwise idle)

Records the machine's matmul speed (as `bench text` does: compare runs with it), the wall
time, the demo's console output, the study's trials by outcome, the
finish's run, and the exported bundle's metrics at its last epoch (seen and heldout BLEU-4,
Gaussian score) beside the conversions and verbs the demo printed.
"""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch
from mlflow import MlflowClient

from cvae_study.study.bench.timing import matmul_flops_per_second

SHOWN = ("val/bleu4_seen", "val/gaussian", "val/bleu4", "val/score")


def main(workdir: Path, out: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
    torch.set_num_threads(2)  # the machine's speed now, as bench text measures it
    speed = matmul_flops_per_second(torch.device("cpu")) / 1e9
    started = time.monotonic()
    demo = subprocess.run(["cvae-study", "demo", "--workdir", str(workdir)],
                          capture_output=True, text=True, check=True)
    wall = time.monotonic() - started
    bundle = next((workdir / "bundles").iterdir())
    source = json.loads((bundle / "config.json").read_text())["source"]
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(source["study"]).experiment_id
    outcomes: dict[str, int] = {}
    for run in client.search_runs([experiment], "tags.`study.role` = 'trial'"):
        outcome = run.data.tags.get("outcome", "running")
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    exported = client.get_run(source["run_id"])
    printed = [line.strip() for line in demo.stdout.splitlines()
               if line.strip().startswith(("convert ", "generated: "))]
    record = {"command": "cvae-study demo --workdir " + str(workdir), "wall_s": round(wall, 1),
              "matmul_gflops_per_second": round(speed, 2),
              "study": source["study"], "trials": outcomes,
              "exported": {"run_id": source["run_id"], "role": exported.data.tags["study.role"],
                           "finish": source.get("finish"),
                           "epochs": int(exported.data.params["train.epochs"]),
                           **{key: exported.data.metrics.get(key) for key in SHOWN}},
              "printed": printed, "stdout": demo.stdout}
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({key: record[key] for key in ("matmul_gflops_per_second", "wall_s",
                                                   "trials", "exported")}, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
