"""`cvae-study ablate NAME`: which knobs of a finished study mattered, in real runs over
seeds (tune.ablate; the plan, study.ablation_plan)."""

import argparse

from cvae_study.study.cli import flags
from cvae_study.study.options import AblationOptions, Cluster, TrialResources
from cvae_study.study.tracking.workdir import Workspace

DESCRIPTION = (
    "Between a baseline (the study's defaults) and a target (its best trial), measure each "
    "searched knob's effect: the target with that knob set back to the baseline "
    "(leave-one-out: k + 2 variants), or --path, the greedy ablation path from the baseline "
    "(about k(k+1)/2 + 2 variants, so O(k^2) runs), each variant under --repeats seeds "
    "(train.seed 0..R-1, the same for every variant). kl.cycles and kl.ratio move with "
    "kl.schedule when the schedules differ.")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("ablate", description=DESCRIPTION,
                                 help="which knobs of a study mattered: real runs over seeds")
    parser.add_argument("name", help="the study")
    parser.add_argument("--baseline", default="default",
                        help="default (the study's base config) or a trial id")
    parser.add_argument("--target", default="best", help="best (completed) or a trial id")
    parser.add_argument("--repeats", type=int, default=3, help="seeds per variant (default 3)")
    parser.add_argument("--epochs", type=int, help="epochs of every run (default: the study's)")
    parser.add_argument("--knobs", type=flags.comma_list, default=(),
                        help="comma-separated knobs to ablate (default: every one that differs)")
    parser.add_argument("--path", action="store_true",
                        help="the ablation path instead of leave-one-out (O(k^2) x R runs)")
    parser.add_argument("--as", dest="ablation_name", default="",
                        help="the ablation's own name (default NAME-ablation)")
    flags.add_resources(parser)
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    options = AblationOptions(study=args.name, name=args.ablation_name,
                              baseline=args.baseline, target=args.target,
                              repeats=args.repeats, epochs=args.epochs, knobs=args.knobs,
                              path=args.path)
    ablate(options, flags.workspace(args), resources=flags.trial_resources(args),
           cluster=flags.cluster(args))
    return 0


def ablate(options: AblationOptions, where: Workspace, *,
           resources: TrialResources | None = None, cluster: Cluster | None = None):
    """An ablation of a finished study -> its tune.ablate.Ablation. resources: what each
    run of its grid holds."""
    from cvae_study.study.tune import ablate as ablations

    cluster = cluster or Cluster()
    prepared = ablations.prepare(options, flags.results_store(where, cluster),
                                 where.tracking_uri, resources)
    done = ablations.run(prepared, address=cluster.address)
    print_ablation(done)
    return done


def print_ablation(ablation) -> None:
    plan, study = ablation.plan, ablation.study.options.name
    runs = len(plan.variants) * len(plan.seeds)
    print(f"Ablation {ablation.runner.options.name} of study {study}: {plan.design}, "
          f"{len(plan.knobs)} knobs ({', '.join(plan.knobs)}), {len(plan.seeds)} seeds, "
          f"{runs} runs of {plan.epochs} epochs")
    print(f"MLflow store: {ablation.runner.uri} (experiment {study}, parent run "
          f"{ablation.parent_id})")
    print(f"Read it:      cvae-study report {study}")
