"""`cvae-study finish NAME`: a study's winner (or finalists) trained at full length under
fresh seeds, so the model a user takes home is worth keeping (tune.finish; the plan,
study.finish_plan)."""

import argparse
import json

from cvae_study.study.cli import flags
from cvae_study.study.options import Cluster, FinishOptions, TrialResources
from cvae_study.study.statistics import mean_interval
from cvae_study.study.tracking.workdir import Workspace

DESCRIPTION = (
    "Train the study's best completed trial (or its --top K, a chosen --trial, or for a "
    "study of several objectives the trials of its Pareto front) at full length (the task's "
    "default epochs unless --epochs) under --repeats seeds the search did not use, every "
    "finalist under the same seeds. `export NAME` then prefers the finalist with the best "
    "mean, and the report sets the search's number beside the fresh seeds' mean.")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("finish", description=DESCRIPTION,
                                 help="train a study's winner at full length on fresh seeds")
    parser.add_argument("name", help="the study")
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--trial", help="finish this completed trial (its Ray trial id)")
    chosen.add_argument("--top", type=int, help="finish the K best completed trials "
                        "(default: the best; of several objectives: the front)")
    parser.add_argument("--epochs", type=int, help="epochs of every run (default: the "
                        "task's full length)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="fresh seeds per finalist (default 3)")
    parser.add_argument("--as", dest="finish_name", default="",
                        help="the finish's own name (default NAME-finish)")
    flags.add_json(parser)
    flags.add_resources(parser)
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    options = FinishOptions(study=args.name, name=args.finish_name, trial=args.trial,
                            top=args.top, epochs=args.epochs, repeats=args.repeats)
    done = finish(options, flags.workspace(args), resources=flags.trial_resources(args),
                  cluster=flags.cluster(args))
    print_finish(done, as_json=args.json)
    return 0


def finish(options: FinishOptions, where: Workspace, *,
           resources: TrialResources | None = None, cluster: Cluster | None = None):
    """A finish of a study's finalists -> its tune.finish.Finish. resources: what each of
    its runs holds."""
    from cvae_study.study.tune import finish as finishes

    cluster = cluster or Cluster()
    prepared = finishes.prepare(options, flags.results_store(where, cluster),
                                where.tracking_uri, resources)
    return finishes.run(prepared, address=cluster.address)


def summary(done) -> dict:
    """What a finish found: each finalist's search value beside its fresh seeds' mean."""
    plan = done.plan
    finalists = []
    for name, finalist in plan.finalists.items():
        by_seed = done.values.get(name, {})
        interval = mean_interval([by_seed[seed] for seed in sorted(by_seed)])
        finalists.append({"trial_id": name, "search": {"value": finalist.search_value,
                                                       "epochs": finalist.search_epochs,
                                                       "seed": finalist.search_seed},
                          "finished": {"mean": interval.mean,
                                       "ci95": [interval.low, interval.high],
                                       "by_seed": {str(seed): by_seed[seed]
                                                   for seed in sorted(by_seed)}}})
    return {"finish": done.runner.options.name, "study": done.study.options.name,
            "metric": plan.metric, "mode": plan.mode, "epochs": plan.epochs,
            "seeds": plan.seeds, "finalists": finalists,
            "mlflow": {"tracking_uri": done.runner.uri, "parent_run_id": done.parent_id}}


def _number(value: float) -> str:
    return "-" if value != value else f"{value:.4f}"  # NaN: no interval (one seed)


def print_finish(done, as_json: bool = False) -> None:
    found = summary(done)
    if as_json:
        print(json.dumps(found, indent=2))
        return
    print(f"Finish {found['finish']} of study {found['study']}: "
          f"{len(found['finalists'])} finalist(s) x {len(found['seeds'])} fresh seeds "
          f"({', '.join(map(str, found['seeds']))}), {found['epochs']} epochs each")
    print(f"  {'trial':<14} {'search (epochs, seed)':<26} {'finished mean [95% CI]':<30} "
          f"per seed")
    for finalist in found["finalists"]:
        search, finished = finalist["search"], finalist["finished"]
        low, high = finished["ci95"]
        searched = f"{search['value']:.4f} ({search['epochs']}, {search['seed']})"
        mean = f"{_number(finished['mean'])} [{_number(low)}, {_number(high)}]"
        per_seed = " ".join(_number(value) for value in finished["by_seed"].values())
        print(f"  {finalist['trial_id']:<14} {searched:<26} {mean:<30} {per_seed}")
    print(f"  ({found['metric']}, {found['mode']})")
    print(f"MLflow store: {found['mlflow']['tracking_uri']} (experiment {found['study']}, "
          f"parent run {found['mlflow']['parent_run_id']})")
    print(f"Take it home: cvae-study export {found['study']} --out DIR  (prefers the "
          "finished runs)")
