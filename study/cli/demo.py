"""`cvae-study demo` (`make demo`): the whole job on embedded defaults: a study, its
ablation and report, the best model exported and used; with --with-video also a short
video study predicting a clip.

It calls the commands' own functions (sweep, ablate, report, export, convert, generate,
predict), with typed options, as a user's script would.
"""

import argparse
import time
from pathlib import Path

from cvae_study.study import config
from cvae_study.study import names as n
from cvae_study.study.cli import ablate, bundles, flags, report, sweep
from cvae_study.study.options import AblationOptions, ExportOptions, SweepOptions
from cvae_study.study.tracking.workdir import Workspace

# Eight trials of up to six epochs with ASHA over the KL and teacher-forcing knobs and the
# latent size. The network and its learning rate stay at their defaults: within six epochs
# they decide almost everything (benchmarks/search-landscape), and an 8-trial study over
# them mostly finds a GRU at a high learning rate, or nothing
# (benchmarks/README.md#code-demo-study).
DEMO_TRIALS = 8
# Then an ablation of the KL knobs around the best trial, two seeds each, three epochs, so
# the report can say which mattered (and how wide two seeds are). Every searched knob at
# the study's six epochs takes about 15 minutes on 2 cores (benchmarks/README.md#demo-ablation).
DEMO_ABLATION = {"repeats": 2, "epochs": 3, "knobs": (n.KL_SCHEDULE, "kl.max_weight")}
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
                                 "its report, the best model exported and used")
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
           ablation: dict | None = None) -> tuple[dict, Path]:
    """A study of `task`, its ablation (AblationOptions' fields, when given), its report and
    its best model exported -> (the report's paths, the bundle)."""
    sweep.sweep(SweepOptions(task=task, name=name, num_samples=trials), where,
                overrides=overrides)
    if ablation:
        ablate.ablate(AblationOptions(study=name, **ablation), where)
    paths = report.report(where, name)
    bundle_dir = where.workdir / "bundles" / name
    bundles.export(ExportOptions(name, out=bundle_dir), where)
    return paths, bundle_dir


def run(where: Workspace, *, smoke: bool = False, with_video: bool = False) -> int:
    name = f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    trials, overrides = ((sweep.SMOKE_TRIALS, sweep.SMOKE["text"]) if smoke
                         else (DEMO_TRIALS, text_study()))
    paths, bundle_dir = _study("text", name, trials, overrides, where,
                               {**DEMO_ABLATION, "epochs": 1} if smoke else DEMO_ABLATION)
    print("\nThe best model, exported and used:")
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
