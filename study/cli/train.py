"""`cvae-study train TASK`: one model trained without Ray, tracked in MLflow (its loop is
tasks.train; MLflow through tracking.runs). Needs neither Ray nor Optuna."""

import argparse
import json
import sys

from cvae_study.study import config
from cvae_study.study import names as n
from cvae_study.study.cli import flags
from cvae_study.study.tracking.workdir import Workspace


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("train", help="train one model without Ray, tracked in MLflow")
    parser.add_argument("task", choices=n.TASKS)
    flags.add_config(parser)
    parser.add_argument("--experiment", help="MLflow experiment (default train-TASK)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    cfg = config.load(args.task, args.config, flags.overrides(args, args.task))
    return train(args.task, cfg, flags.workspace(args), device=args.device,
                 experiment=args.experiment, progress=not args.quiet)


def train(task: str, cfg, where: Workspace, *, device: str = "auto",
          experiment: str | None = None, progress: bool = True) -> int:
    """Train `cfg` (config.build's) of `task` to its last epoch, or until it diverges (exit
    1); prints what it logged and where."""
    from cvae_study.study.tasks.base import resolve_device
    from cvae_study.study.tasks.registry import make_task
    from cvae_study.study.tasks.train import train as train_loop
    from cvae_study.study.tracking.runs import RunLogger, host_tags, provenance_tags

    chosen = resolve_device(device)  # a bad --device or bad data fails before a run is made
    trainer = make_task(task, cfg, chosen)
    logger = RunLogger(where.tracking_uri, experiment or f"train-{task}", f"{task}-train",
                       {n.TASK: task, **host_tags(str(chosen)), **provenance_tags()})
    result = train_loop(trainer, logger, where.workdir / "checkpoints", progress=progress)
    _print_run(result, where)
    if result.outcome == n.DIVERGED:
        print(f"error: {result.message}; the epochs before it stay logged in MLflow run "
              f"{result.run_id}", file=sys.stderr)
        return 1
    return 0


def _print_run(result, where: Workspace) -> None:
    print(json.dumps({
        "outcome": result.outcome,
        "epochs": result.epochs,
        "metrics": {k: round(v, 4) for k, v in result.metrics.items() if not n.is_kl_dim(k)},
        "checkpoint": str(result.checkpoint) if result.checkpoint else None,
        "mlflow": {"tracking_uri": where.tracking_uri, "experiment_id": result.experiment_id,
                   "run_id": result.run_id},
    }, indent=2))
