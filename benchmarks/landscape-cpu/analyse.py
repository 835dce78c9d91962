"""What the 12-epoch landscape shows: the table in benchmarks/README.md#landscape-cpu.

    python analyse.py text-12-epochs.jsonl

Seed-0 curves of every config: the spread of final scores, how well an early epoch ranks
configs as the last one does, the seed noise of the repeats, the run times, the ten best.
"""

import json
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from cvae_study.study.bench.landscape_curves import Landscape


def main(path: Path) -> None:
    landscape = Landscape.read(path)
    curves = np.array([landscape.padded(by_seed[0]) for by_seed in landscape.curves])
    final = curves[:, -1]
    print(f"configs {len(curves)}, runs {sum(len(c) for c in landscape.curves)}")
    print("best / 90th percentile / median:", final.max().round(4),
          np.percentile(final, 90).round(4), np.median(final).round(4))
    print("configs within 95% of the best:", int((final >= 0.95 * final.max()).sum()))
    ten_best = set(np.argsort(-final)[:10])
    for epoch in (1, 3, 9):
        top_third = set(np.argsort(-curves[:, epoch - 1])[:len(curves) // 3])
        rank = spearmanr(curves[:, epoch - 1], final).statistic
        print(f"epoch {epoch}: Spearman with the last {rank:.3f}; of the 10 best, in the top "
              f"third then: {len(ten_best & top_third)}")
    print("final spread over seeds (mean of the repeats) / over configs:",
          round(landscape.seed_spread(), 4), final.std(ddof=1).round(4))
    seconds = [json.loads(line)["seconds"] for line in path.read_text().splitlines()[1:]]
    print("seconds per run, median:", np.median(seconds))
    for i in np.argsort(-final)[:10]:
        params = landscape.params[i]
        print(round(final[i], 3), params["model.cell"], round(params["optim.lr"], 4),
              params["model.latent_size"], params["kl.schedule"],
              round(params["kl.max_weight"], 2))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
