"""`cvae-study demo` (`make demo`): the whole job on embedded defaults: a study, its winner
finished at full length, the report, the finished model exported and used; with
--with-video also a short video study predicting a clip.

It calls the commands' own functions (sweep, finish, report, export, convert, generate,
predict), with typed options, as a user's script would.
"""

import argparse
import time
from pathlib import Path

from cvae_study.study import config
from cvae_study.study import names as n
from cvae_study.study.cli import bundles, finish, flags, report, sweep
from cvae_study.study.options import (
    ExportOptions,
    FinishOptions,
    SweepOptions,
    TrialResources,
)
from cvae_study.study.tracking.workdir import Workspace

# Eight trials of up to six epochs with ASHA over the KL and teacher-forcing knobs and the
# latent size. The network and its learning rate stay at their defaults: within six epochs
# they decide almost everything (benchmarks/search-landscape), and an 8-trial study over
# them mostly finds a GRU at a high learning rate, or nothing
# (benchmarks/README.md#code-demo-study).
DEMO_TRIALS = 8
# Then the winner, finished: trained on a fresh seed for DEMO_FINISH's epochs with both
# cores, what fits the 10 minutes beside the study (the full 80 would take about 12 more);
# the ablation (`cvae-study ablate NAME`) no longer fits (benchmarks/README.md#demo).
DEMO_FINISH = {"repeats": 1, "epochs": 20}
DEMO_FINISH_RESOURCES = TrialResources(cpus_per_trial=2)
DEMO_AT_DEFAULT = ("model.hidden_size", "model.cell", "optim.lr")
# --with-video: four trials of three epochs of the cpu preset on 300 synthetic dance
# sequences, which a short study learns; pushing needs longer
# (benchmarks/README.md#code-demo-video).
DEMO_VIDEO_TRIALS = 4
DEMO_VIDEO = {"train.epochs": 3, "data.kind": n.DANCE, "model.preset": "cpu",
              "data.sequences": 300, "eval.clips": 32}
DEMO_CONVERSIONS = (("walk", "sp", "p"), ("swim", "sp", "pg"), ("decide", "sp", "tp"),
                    ("carried", "p", "sp"))


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("demo", help="the whole job on embedded defaults: a study, "
                                 "its winner finished, its report, the model exported and used")
    flags.add_store(parser)
    flags.add_device(parser)
    parser.add_argument("--smoke", action="store_true",
                        help="two tiny trials: checks the whole path in seconds")
    parser.add_argument("--with-video", action="store_true",
                        help="also a short video study, its best model predicting a clip")
    parser.set_defaults(run=lambda args: run(flags.workspace(args), smoke=args.smoke,
                                             with_video=args.with_video))


def text_study() -> dict:
    """The demo text study's overrides: six epochs, the network and lr pinned."""
    return {"train.epochs": 6, **config.defaults_of("text", DEMO_AT_DEFAULT)}


def _study(task: str, name: str, trials: int, overrides: dict, where: Workspace,
           finishing: dict | None = None) -> tuple[dict, Path]:
    """A study of `task`, its winner finished (FinishOptions' fields, when given), its report
    and its model exported (the finished one, when there is one) -> (the report's paths, the
    bundle)."""
    sweep.sweep(SweepOptions(task=task, name=name, num_samples=trials), where,
                overrides=overrides)
    if finishing:
        done = finish.finish(FinishOptions(study=name, **finishing), where,
                             resources=DEMO_FINISH_RESOURCES)
        finish.print_finish(done)
    paths = report.report(where, name)
    bundle_dir = where.workdir / "bundles" / name
    bundles.export(ExportOptions(name, out=bundle_dir), where)
    return paths, bundle_dir


def run(where: Workspace, *, smoke: bool = False, with_video: bool = False) -> int:
    name = f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    trials, overrides = ((sweep.SMOKE_TRIALS, sweep.SMOKE["text"]) if smoke
                         else (DEMO_TRIALS, text_study()))
    paths, bundle_dir = _study("text", name, trials, overrides, where,
                               {**DEMO_FINISH, "epochs": 2} if smoke else DEMO_FINISH)
    print("\nThe finished model, exported and used:")
    converted = bundles.convert(bundle_dir, DEMO_CONVERSIONS)
    for (word, a, b), out in zip(DEMO_CONVERSIONS, converted, strict=True):
        print(f"  convert {word} ({a} -> {b}): {out}")
    for row in bundles.generate(bundle_dir, 5, 0):
        print(f"  generated: {' / '.join(row)}")
    print(f"\nReport:       {paths['html']}")
    print(f"Model bundle: {bundle_dir}  (cvae-study convert --model {bundle_dir} ...)")
    if with_video:
        _video(f"{name}-video", smoke, where)
    print(f"MLflow store: {where.tracking_uri}")
    print(f"Open the UI:  cvae-study ui --workdir {where.workdir}")
    return 0


def _video(name: str, smoke: bool, where: Workspace) -> None:
    """A short video study, and its best model predicting a validation clip as a GIF."""
    from cvae_study.study.bundle.bundle import load_bundle
    from cvae_study.study.tasks.video import VALIDATION_SPLIT, data_root

    trials, overrides = ((sweep.SMOKE_TRIALS, sweep.SMOKE["video"]) if smoke
                         else (DEMO_VIDEO_TRIALS, DEMO_VIDEO))
    paths, bundle_dir = _study("video", name, trials, overrides, where)
    data = load_bundle(bundle_dir).config.data  # the data set the model was trained on
    root = data_root(data) / VALIDATION_SPLIT[data.kind]
    clip = next(root.glob("*/0")) if data.kind == n.PUSHING else root
    out, scores = bundles.predict(bundle_dir, clip,
                                  where.workdir / "predictions" / f"{name}.gif")
    print(f"\nVideo report: {paths['html']}")
    print(f"Video bundle: {bundle_dir}")
    print(f"Prediction of {clip}: {out} (PSNR {scores[n.VAL_PSNR]:.2f} dB, copying the last "
          f"frame {scores[n.VAL_PSNR_COPY_LAST]:.2f} dB)")
