"""What landscape-cuda.jsonl says about early stopping and about the bench's target.

    python analyse.py landscape-cuda.jsonl
"""

import json
import statistics
import sys

from scipy.stats import spearmanr

EPOCHS, TOP = 6, 10


def main(path: str) -> None:
    rows = [json.loads(line) for line in open(path)]
    first_rows = [row for row in rows if row["seed"] == 0]
    first = [row["scores"] for row in first_rows]
    final = [scores[-1] for scores in first]
    top = sorted(range(len(first)), key=lambda i: -final[i])[:TOP]
    print(f"{len(first)} configs, {len(rows) - len(first)} noise reruns")
    for epoch in range(1, EPOCHS):
        after = [scores[epoch - 1] for scores in first]
        third = sorted(after)[len(after) * 2 // 3]
        kept = sum(after[i] >= third for i in top)
        print(f"epoch {epoch}: Spearman with epoch {EPOCHS} "
              f"{spearmanr(after, final).statistic:.3f}; "
              f"of the top {TOP} at epoch {EPOCHS}, {kept} in the top third")
    best = max(final)
    print(f"epoch {EPOCHS}: best {best:.3f}, 90th percentile "
          f"{statistics.quantiles(final, n=10)[-1]:.3f}, median {statistics.median(final):.3f}; "
          f"{sum(value >= 0.95 * best for value in final)} within 95% of the best")
    best_rows = [first_rows[i] for i in top]
    print(f"the top {TOP}: cells {sorted({row['config']['model.cell'] for row in best_rows})}, "
          f"lr >= {min(row['config']['optim.lr'] for row in best_rows):.4f}")
    rerun_ids = {row["i"] for row in rows if row["seed"] != 0}
    for epoch in (1, EPOCHS):
        reruns = {}
        for row in rows:
            if row["i"] in rerun_ids:
                reruns.setdefault(row["i"], []).append(row["scores"][epoch - 1])
        noise = statistics.fmean(statistics.pstdev(values) for values in reruns.values())
        spread = statistics.pstdev(scores[epoch - 1] for scores in first)
        print(f"epoch {epoch}: sd over seeds {noise:.4f}, over configs {spread:.4f}")


if __name__ == "__main__":
    main(sys.argv[1])
