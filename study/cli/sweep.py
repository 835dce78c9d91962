"""`cvae-study sweep TASK`, a hyperparameter study on Ray Tune, and `cvae-study resume NAME`,
a study, an ablation or a finish continued (tune.sweep, tune.ablate, tune.finish; the saved
study, tune.saved)."""

import argparse
import dataclasses
import json
import time

from cvae_study.study import names as n
from cvae_study.study.cli import ablate, finish, flags
from cvae_study.study.options import Cluster, SweepOptions
from cvae_study.study.tracking.workdir import Workspace

# --smoke: two trials of a tiny model for two epochs on the default data (video: a small
# synthetic set). Flags given explicitly win over these. The demo's --smoke uses them too.
SMOKE = {"text": {"model.hidden_size": 32, "model.latent_size": 8, "model.embedding_size": 16,
                  "train.epochs": 2, "eval.verbs": 20, "eval.samples": 10},
         "video": {"model.preset": "cpu", "model.latent_size": 8, "data.sequences": 16,
                   "train.epochs": 2, "train.batch_size": 8, "eval.clips": 8}}
SMOKE_TRIALS = 2
BEST_SHOWN = 5  # trials in the summary a study ends with


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
    flags.add_json(parser)
    parser.set_defaults(run=_run_sweep)


def add_parser(commands: argparse._SubParsersAction) -> None:
    _add_sweep(commands)
    parser = commands.add_parser("resume", help="continue an interrupted study, ablation or "
                                 "finish")
    parser.add_argument("name")
    flags.add_cluster(parser)
    flags.add_json(parser)
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
          cluster=flags.cluster(args), quiet=args.quiet, as_json=args.json)
    return 0


def _run_resume(args: argparse.Namespace) -> int:
    resume(args.name, flags.workspace(args), tracking_uri=args.tracking_uri,
           cluster=flags.cluster(args), as_json=args.json)
    return 0


def sweep(options: SweepOptions, where: Workspace, *, study_file: str | None = None,
          overrides: dict | None = None, cluster: Cluster | None = None, quiet: bool = False,
          as_json: bool = False):
    """A new study -> its SweepResult. study_file: the user's YAML or TOML of space and
    config sections; quiet: no live view, only errors and its final lines; as_json: end
    with the summary as JSON."""
    from cvae_study.study.tune import sweep as sweeps

    cluster = cluster or Cluster()
    prepared = sweeps.prepare(options, flags.results_store(where, cluster), where.tracking_uri,
                              study_file=study_file, overrides=overrides or {},
                              workdir=where.workdir)
    result = sweeps.run(prepared, address=cluster.address, quiet=quiet)
    print_sweep(result, as_json)
    print(f"Resume it:    cvae-study resume {options.name} --workdir {where.workdir}")
    if prepared.journal:
        print(f"Dashboard:    cvae-study dashboard {options.name} --workdir {where.workdir}")
    return result


def resume(name: str, where: Workspace, *, tracking_uri: str | None = None,
           cluster: Cluster | None = None, as_json: bool = False):
    """A study, an ablation or a finish, continued -> its SweepResult, Ablation or Finish.
    tracking_uri: --tracking-uri as given; None resumes into the run's own store."""
    from cvae_study.study.tune import ablate as ablations
    from cvae_study.study.tune import finish as finishes
    from cvae_study.study.tune import saved
    from cvae_study.study.tune import sweep as sweeps

    cluster = cluster or Cluster()
    store = flags.results_store(where, cluster)
    kind = saved.kind_of(name, store)
    if kind == n.ABLATION_KIND:
        done = ablations.run(ablations.load(name, store, tracking_uri), address=cluster.address,
                             restore=True)
        ablate.print_ablation(done)
        return done
    if kind == n.FINISH_KIND:
        done = finishes.run(finishes.load(name, store, tracking_uri), address=cluster.address,
                            restore=True)
        finish.print_finish(done, as_json)
        return done
    result = sweeps.resume(saved.load(name, store, tracking_uri), address=cluster.address)
    print_sweep(result, as_json)
    return result


def print_sweep(result, as_json: bool = False) -> None:
    """The study's end: a short readable summary, or (as_json) the whole summary as JSON."""
    summary = result.summary()
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        for line in summary_lines(result):
            print(line)
    uri = summary["mlflow"]["tracking_uri"]
    print(f"MLflow store: {uri} (experiment {summary['study']}, parent run "
          f"{summary['mlflow']['parent_run_id']})")
    print(f"Browse it:    mlflow ui --backend-store-uri {uri}")
    print(f"Ray results:  {summary['ray_results']}")


def _cell(value) -> str:
    return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def summary_lines(result) -> list[str]:
    """The outcome counts, the best trials (of several objectives: the front) as a small
    table with their searched knobs, and the cost."""
    options = result.sweep.options
    counts = ", ".join(f"{count} {outcome.replace('_', ' ')}"
                       for outcome, count in result.summary()["outcomes"].items())
    goal = ", ".join(f"{objective} ({mode})"
                     for objective, mode in zip(options.objectives, options.modes, strict=True))
    lines = [f"\nStudy {options.name}: {len(result.trials)} trials of {goal}: {counts}"]
    if result.pareto is not None:
        shown, title = result.pareto, f"its Pareto front ({len(result.pareto)} trials)"
    else:
        sign = 1 if options.mode == "max" else -1
        scored = [t for t in result.trials if t["outcome"] in n.FINISHED_OUTCOMES
                  and t[options.objective] is not None]
        shown = sorted(scored, key=lambda t: (t["outcome"] != n.COMPLETED,
                                              -sign * t[options.objective]))[:BEST_SHOWN]
        title = f"its best {len(shown)} (completed first)"
    if shown:
        lines.append(f"  {title}:")
        lines.append("  " + "  ".join([f"{'trial':<16}", *(f"{o:<14}" for o in options.objectives),
                                       f"{'epochs':<6}", "searched"]))
        for trial in shown:
            knobs = ", ".join(f"{key}={_cell(value)}" for key, value in trial["config"].items())
            lines.append("  " + "  ".join([f"{trial['trial_id']:<16}",
                                           *(f"{_cell(trial[o]):<14}" for o in options.objectives),
                                           f"{trial['epochs']:<6}", knobs]))
    if result.cost:
        lines.append(f"  {result.cost.sentence()}")
    return lines
