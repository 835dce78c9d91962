"""landscape-cuda.jsonl (this folder's own format) -> the format of `bench landscape`.

    python convert.py landscape-cuda.jsonl landscape-cuda-6-epochs.jsonl

The runs are the same: the bench sweep's space at hidden 128, 6 epochs, 200-verb
evaluations. Only val/score was kept per epoch; the cycle keys of a non-cyclical config
are dropped, as a study's define-by-run space never draws them.
"""

import json
import sys
from pathlib import Path

from cvae_study.study import landscape_file as ls
from cvae_study.study import names as n

EPOCHS = 6


def convert(source: Path, out: Path) -> None:
    rows = [json.loads(line) for line in source.read_text().splitlines()]
    plan = ls.LandscapePlan(EPOCHS, configs=len({row["i"] for row in rows}))
    header = plan.header(ls.space_of(plan))
    lines = [json.dumps({**header, "draw_seed": None, "converted_from": source.name,
                         "started": "2026-11-23 (one NVIDIA H200, torch 2.11 + CUDA 13)"})]
    for row in rows:
        params = dict(row["config"])
        if params["kl.schedule"] != "cyclical":
            params.pop("kl.cycles")
            params.pop("kl.ratio")
        lines.append(ls.record_line(ls.Run(row["i"], row["seed"]), params,
                                    {n.VAL_SCORE: row["scores"]}, n.COMPLETED,
                                    row["s"]).rstrip("\n"))
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
