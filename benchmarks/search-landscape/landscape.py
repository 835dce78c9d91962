"""Random trials of the sweep bench's search space, each epoch's val/score recorded.

    python landscape.py launch N WORKERS DEVICE OUT.jsonl

N configs drawn at random (Python's random, seed 0) from the text task's default space at
hidden 128, 6 epochs each, 200-verb evaluations (the bench's search studies); the first 8
again under train.seeds 1 and 2 for the noise. WORKERS processes share the configs, one
torch thread each. The task alone: no Ray, MLflow or Optuna, so it runs on a bare GPU box.
"""

import json
import math
import random
import subprocess
import sys
import time

import torch

from cvae_study.study import config
from cvae_study.study.names import VAL_SCORE
from cvae_study.study.spaces import TEXT_SPACE, Choice
from cvae_study.study.tasks.text import TextTask

FIXED = {"model.hidden_size": 128, "eval.verbs": 200, "train.epochs": 6}
NOISE_CONFIGS, NOISE_SEEDS = 8, (1, 2)


def sample(rng: random.Random) -> dict:
    drawn = {}
    for key, entry in TEXT_SPACE.items():
        if key in FIXED:
            continue
        if isinstance(entry, Choice):
            drawn[key] = rng.choice(entry.values)
        elif entry.log:
            drawn[key] = math.exp(rng.uniform(math.log(entry.low), math.log(entry.high)))
        else:
            drawn[key] = rng.uniform(entry.low, entry.high)
    drawn["kl.cycles"] = round(drawn["kl.cycles"])
    drawn["tf.floor"] = min(drawn["tf.floor"], drawn["tf.start"])
    return drawn


def launch(n: int, workers: int, device: str, out: str) -> None:
    rng = random.Random(0)
    jobs = [(i, 0, sample(rng)) for i in range(n)]
    jobs += [(i, seed, drawn) for i, _, drawn in jobs[:NOISE_CONFIGS] for seed in NOISE_SEEDS]
    procs = [subprocess.Popen([sys.executable, __file__, "run", json.dumps(jobs[w::workers]),
                               device, f"{out}.{w}"]) for w in range(workers)]
    for proc in procs:
        proc.wait()


def run(jobs: list, device: str, out: str) -> None:
    torch.set_num_threads(1)
    for i, seed, drawn in jobs:
        cfg = config.build("text", {**drawn, **FIXED, "train.seed": seed})
        task = TextTask(cfg, torch.device(device))
        started, scores = time.perf_counter(), []
        for _ in range(cfg.train.epochs):
            task.train_epoch()
            scores.append(round(task.evaluate().metrics[VAL_SCORE], 4))
        with open(out, "a") as handle:
            handle.write(json.dumps({"i": i, "seed": seed, "config": drawn, "scores": scores,
                                     "s": round(time.perf_counter() - started, 1)}) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "launch":
        launch(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        run(json.loads(sys.argv[2]), sys.argv[3], sys.argv[4])
