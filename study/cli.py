"""The cvae-study command: parse, then one typed call per command (study.commands).

Bad input (UsageError, DataError) prints one line naming what is wrong and exits 2; a
failing machine or store (a full disk, a damaged store, a read-only folder) one line
saying what to do, and exits 3. --debug (or CVAE_STUDY_DEBUG=1) also prints the traceback.
"""

import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from cvae_study.study import commands, config, demo
from cvae_study.study.arguments import DATA_CHOICES, DATA_KEY, SWEEP_TRIALS, build_parser
from cvae_study.study.errors import (
    BAD_INPUT,
    BAD_INPUT_EXIT,
    SYSTEM_FAILURE_EXIT,
    SystemFailure,
    UsageError,
)
from cvae_study.study.failures import explain
from cvae_study.study.tracking.workdir import SQLITE, Workspace, tracking_uri, workdir_path

DEBUG_ENV = "CVAE_STUDY_DEBUG"
# MLflow logs a store's SQL errors with their traceback before raising them; the error
# boundary below explains them instead (--debug shows both).
QUIETED_LOGGERS = ("mlflow.store.db.utils",)
# MLflow draws a progress bar for every artifact download (the report's, the export's).
ARTIFACT_BARS_ENV = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


def _overrides(args) -> dict[str, Any]:
    """--data, --data-dir, --epochs, then --set (the last word wins) -> flat config keys."""
    overrides: dict[str, Any] = {}
    if args.data:
        if args.data not in DATA_CHOICES[args.task]:
            raise UsageError(f"--data {args.data}: {args.task} data is "
                             f"{' or '.join(DATA_CHOICES[args.task])}")
        overrides[DATA_KEY[args.task]] = args.data
    if args.data_dir:
        overrides["data.dir"] = args.data_dir
    if args.epochs is not None:
        overrides["train.epochs"] = args.epochs
    return {**overrides, **config.parse_assignments(args.set)}


def _where(args) -> Workspace:
    return Workspace.at(args.workdir, args.tracking_uri)


def _bench(args) -> int:
    if args.task == "landscape":
        return commands.bench_landscape(args.configs, args.repeats, args.epochs,
                                        config.parse_assignments(args.set), args.out,
                                        args.cpus_per_trial, args.gpus_per_trial, args.address)
    if args.task == "search":
        return commands.bench_search(args.landscape, args.replays, args.out, args.real)
    if args.task == "sweep":
        return commands.bench_sweep(_where(args).workdir, config.parse_assignments(args.set),
                                    args.seeds, args.out)
    if args.task == "video":
        kinds = [kind for kind in args.quality.split(",") if kind]
        return commands.bench_video(args.device, _overrides(args), args.steps, kinds, args.out)
    cfg = config.load(args.task, args.config, _overrides(args))
    return commands.bench_task(args.task, cfg, args.device, args.minutes, args.out)


def _resources(args, task: str, name: str, **options):
    from cvae_study.study.tune.sweep import SweepOptions

    return SweepOptions(task=task, name=name, max_concurrent=args.max_concurrent,
                        cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial,
                        shared_storage=args.shared_storage, **options)


def _ablate(args) -> int:
    from cvae_study.study.tune.ablate import AblationOptions

    knobs = tuple(knob.strip() for knob in args.knobs.split(",") if knob.strip())
    options = AblationOptions(study=args.name, name=args.ablation_name or "",
                              baseline=args.baseline, target=args.target,
                              repeats=args.repeats, epochs=args.epochs, knobs=knobs,
                              path=args.path)
    # The task and name of its Tune side are the study's and the ablation's: prepare sets them.
    commands.ablate(options, _resources(args, "text", options.name), _where(args),
                    args.storage, args.address)
    return 0


def _sweep(args) -> int:
    from cvae_study.study.tune.sweep import default_name

    overrides = _overrides(args)
    trials = SWEEP_TRIALS if args.num_samples is None else args.num_samples
    if args.smoke:  # its defaults, under what the user gave explicitly
        overrides = {**commands.SMOKE[args.task], **overrides}
        if args.num_samples is None:
            trials = commands.SMOKE_TRIALS
    options = _resources(args, args.task, args.name or default_name(args.task),
                         num_samples=trials, metric=args.metric, seed=args.seed,
                         search=args.search, early_stopping=not args.no_early_stopping,
                         warm_start=args.warm_start, brackets=args.brackets)
    commands.sweep(options, args.study, overrides, _where(args), args.storage, args.address,
                   args.quiet)
    return 0


def _resolved(path: str) -> Path:
    return Path(path).expanduser().resolve()


def _ran(_made) -> int:
    """Commands that return what they made (for the demo) succeeded once they return."""
    return 0


HANDLERS = {
    "train": lambda a: commands.train(a.task, config.load(a.task, a.config, _overrides(a)),
                                      a.device, _where(a), a.experiment, not a.quiet),
    "bench": _bench,
    "sweep": _sweep,
    "ablate": _ablate,
    "resume": lambda a: commands.resume(a.name, _where(a), a.tracking_uri, a.storage,
                                        a.address),
    "report": lambda a: _ran(commands.report(_where(a), a.name,
                                             _resolved(a.out) if a.out else None,
                                             pareto=a.pareto, baseline=a.baseline)),
    "export": lambda a: _ran(commands.export(_where(a), a.name,
                                             _resolved(a.out) if a.out else None, a.metric,
                                             a.trial, a.force, a.register, pareto=a.pareto)),
    "convert": lambda a: commands.convert(a.model, a.word, a.source, a.target),
    "generate": lambda a: commands.generate(a.model, a.n, a.seed),
    "predict": lambda a: _ran(commands.predict(a.model, a.clip, a.start,
                                               Path(a.out).expanduser())),
    "ui": lambda a: commands.ui(_where(a), a.host, a.port),
    "dashboard": lambda a: commands.dashboard(a.name, Workspace.at(a.workdir), a.storage,
                                              a.host, a.port),
    "config": lambda a: commands.show_config(a.task),
    "data": lambda a: commands.data(a.kind, Path(a.out).expanduser(), a.sequences, a.seed),
    "demo": lambda a: demo.run(_where(a), a.smoke, a.with_video),
}


def _store(args) -> str:
    """The store the command was using, to name it where an error does not."""
    uri = tracking_uri(getattr(args, "tracking_uri", None),
                       workdir_path(getattr(args, "workdir", None)))
    return uri.removeprefix(SQLITE)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    debug = args.debug or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    if not debug:
        for name in QUIETED_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL)
    os.environ.setdefault(ARTIFACT_BARS_ENV, "false")
    try:
        return HANDLERS[args.command](args)
    except Exception as error:
        if isinstance(error, BAD_INPUT):
            shown, status = error, BAD_INPUT_EXIT
        else:
            shown = error if isinstance(error, SystemFailure) else explain(error, _store(args))
            if shown is None:
                raise  # a bug: its traceback is what helps
            status = SYSTEM_FAILURE_EXIT
        if debug:
            traceback.print_exc()
        print(f"error: {shown}", file=sys.stderr)
        return status


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
