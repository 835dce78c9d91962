"""`cvae-study sweep TASK`, a hyperparameter study on Ray Tune, and `cvae-study resume NAME`,
a study or an ablation continued (tune.sweep, tune.ablate; the saved study, tune.saved)."""

import argparse
import dataclasses
import json
import time

from cvae_study.study import names as n
from cvae_study.study.cli import ablate, flags
from cvae_study.study.options import Cluster, SweepOptions
from cvae_study.study.tracking.workdir import Workspace

# --smoke: two trials of a tiny model for two epochs on the default data (video: a small
# synthetic set). Flags given explicitly win over these. The demo's --smoke uses them too.
SMOKE = {"text": {"model.hidden_size": 32, "model.latent_size": 8, "model.embedding_size": 16,
                  "train.epochs": 2, "eval.verbs": 20, "eval.samples": 10},
         "video": {"model.preset": "cpu", "model.latent_size": 8, "data.sequences": 16,
                   "train.epochs": 2, "train.batch_size": 8, "eval.clips": 8}}
SMOKE_TRIALS = 2


def default_name(task: str) -> str:
    return f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"


def _objectives(text: str) -> tuple[str, ...]:
    """--metric: one objective, or several comma-separated ('': the task's default)."""
    return n.objectives_of(text) if text else ()


def _add_sweep(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("sweep", help="a hyperparameter study on Ray Tune")
    parser.add_argument("task", choices=n.TASKS)
    parser.add_argument("--name", help="the study's name (default TASK-DATE-TIME)")
    parser.add_argument("--num-samples", type=int, help=f"trials (default {n.DEFAULT_TRIALS}; "
                        f"{SMOKE_TRIALS} with --smoke)")
    flags.add_resources(parser)
    parser.add_argument("--study", help="YAML / TOML study file: space and config sections")
    flags.add_overrides(parser)
    parser.add_argument("--seed", type=int, default=0, help="seed of the search")
    parser.add_argument("--metric", dest="objectives", type=_objectives, default=(),
                        help="objective (default val/score for text, val/psnr for video); "
                        "several, comma-separated, for a trade-off: val/bleu4,val/gaussian")
    parser.add_argument("--search", choices=n.SEARCHES, default="tpe", help="the sampler: TPE "
                        "(default), random, or NSGA-II (for several objectives)")
    parser.add_argument("--warm-start", metavar="STUDY", default="",
                        help="seed the sampler with the trials of an earlier study of the "
                        "task in the same MLflow store (same fixed config, space inside "
                        "this one's)")
    parser.add_argument("--no-early-stopping", action="store_true", help="no ASHA")
    parser.add_argument("--brackets", type=int, default=1, help="early stopping's brackets: "
                        "1 is ASHA (default), more is asynchronous Hyperband (with TPE: "
                        "BOHB-style)")
    parser.add_argument("--quiet", action="store_true", help="no live view of the study: only "
                        "errors and its final lines")
    parser.add_argument("--smoke", action="store_true", help="two tiny trials of two epochs: "
                        "checks the whole path quickly (explicit flags win)")
    parser.set_defaults(run=_run_sweep)


def add_parser(commands: argparse._SubParsersAction) -> None:
    _add_sweep(commands)
    parser = commands.add_parser("resume", help="continue an interrupted study or ablation")
    parser.add_argument("name")
    flags.add_cluster(parser)
    parser.set_defaults(run=_run_resume)


def _run_sweep(args: argparse.Namespace) -> int:
    overrides = flags.overrides(args, args.task)
    trials = n.DEFAULT_TRIALS if args.num_samples is None else args.num_samples
    if args.smoke:  # its defaults, under what the user gave explicitly
        overrides = {**SMOKE[args.task], **overrides}
        if args.num_samples is None:
            trials = SMOKE_TRIALS
    options = SweepOptions(task=args.task, name=args.name or default_name(args.task),
                           num_samples=trials, objectives=args.objectives, seed=args.seed,
                           search=args.search, early_stopping=not args.no_early_stopping,
                           warm_start=args.warm_start, brackets=args.brackets,
                           **dataclasses.asdict(flags.trial_resources(args)))
    sweep(options, flags.workspace(args), study_file=args.study, overrides=overrides,
          cluster=flags.cluster(args), quiet=args.quiet)
    return 0


def _run_resume(args: argparse.Namespace) -> int:
    resume(args.name, flags.workspace(args), tracking_uri=args.tracking_uri,
           cluster=flags.cluster(args))
    return 0


def sweep(options: SweepOptions, where: Workspace, *, study_file: str | None = None,
          overrides: dict | None = None, cluster: Cluster | None = None, quiet: bool = False):
    """A new study -> its SweepResult. study_file: the user's YAML or TOML of space and
    config sections; quiet: no live view, only errors and its final lines."""
    from cvae_study.study.tune import sweep as sweeps

    cluster = cluster or Cluster()
    prepared = sweeps.prepare(options, flags.results_store(where, cluster), where.tracking_uri,
                              study_file=study_file, overrides=overrides or {},
                              workdir=where.workdir)
    result = sweeps.run(prepared, address=cluster.address, quiet=quiet)
    print_sweep(result)
    print(f"Resume it:    cvae-study resume {options.name} --workdir {where.workdir}")
    if prepared.journal:
        print(f"Dashboard:    cvae-study dashboard {options.name} --workdir {where.workdir}")
    return result


def resume(name: str, where: Workspace, *, tracking_uri: str | None = None,
           cluster: Cluster | None = None):
    """A study or an ablation, continued -> its SweepResult or Ablation. tracking_uri:
    --tracking-uri as given; None resumes into the run's own store."""
    from cvae_study.study.tune import ablate as ablations
    from cvae_study.study.tune import saved
    from cvae_study.study.tune import sweep as sweeps

    cluster = cluster or Cluster()
    store = flags.results_store(where, cluster)
    if saved.is_ablation(name, store):
        done = ablations.run(ablations.load(name, store, tracking_uri), address=cluster.address,
                             restore=True)
        ablate.print_ablation(done)
        return done
    result = sweeps.resume(saved.load(name, store, tracking_uri), address=cluster.address)
    print_sweep(result)
    return result


def print_sweep(result) -> None:
    summary = result.summary()
    print(json.dumps(summary, indent=2))
    uri = summary["mlflow"]["tracking_uri"]
    print(f"\nMLflow store: {uri} (experiment {summary['study']})")
    print(f"Browse it:    mlflow ui --backend-store-uri {uri}")
    print(f"Ray results:  {summary['ray_results']}")
