"""The cvae-study command. Bad input exits 2 with a message naming what is wrong."""

import argparse
import json
import sys

from cvae_study.datasets.tense import TenseDataError
from cvae_study.study import config, tracking
from cvae_study.study.tasks.base import resolve_device
from cvae_study.study.tracking import TrackingError

TASKS = ("text",)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", help="runs folder (default $CVAE_STUDY_HOME or "
                        "./cvae-study-runs)")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite in workdir)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")


def _config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML / TOML / JSON file of config keys")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one config key, e.g. --set kl.cycles=4 (repeatable)")
    parser.add_argument("--data", choices=("lemminflect", "lab"),
                        help="text data: lemminflect's table (default) or the lab's files")
    parser.add_argument("--data-dir", help="folder of the lab's train.txt and test.txt")
    parser.add_argument("--epochs", type=int, help="shorthand for --set train.epochs=N")


def _overrides(args) -> list[str]:
    assignments = []
    if args.data:
        assignments.append(f"data.source={args.data}")
    if args.data_dir:
        assignments.append(f"data.dir={args.data_dir}")
    if args.epochs is not None:
        assignments.append(f"train.epochs={args.epochs}")
    return assignments + args.set


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cvae-study", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train one model without Ray, tracked in MLflow")
    train.add_argument("task", choices=TASKS)
    _config_args(train)
    _common(train)
    train.add_argument("--experiment", help="MLflow experiment (default train-TASK)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    bench = commands.add_parser("bench", help="measure speed and time to quality")
    bench.add_argument("task", choices=TASKS)
    _config_args(bench)
    _common(bench)
    bench.add_argument("--minutes", type=float, default=15.0,
                       help="wall-clock budget for the time-to-quality run")
    bench.add_argument("--out", help="write the results as JSON here")

    show = commands.add_parser("config", help="list a task's config keys and defaults")
    show.add_argument("task", choices=TASKS)

    demo = commands.add_parser("demo", help="the main job on embedded defaults")
    _common(demo)
    demo.add_argument("--smoke", action="store_true",
                      help="a tiny model for one epoch: checks the whole path in seconds")
    return parser


def _train(args) -> int:
    from cvae_study.study.train import summary, train

    cfg = config.load(args.task, args.config, _overrides(args))
    resolve_device(args.device)  # a bad --device fails before anything is written
    home = tracking.workdir(args.workdir)
    uri = tracking.tracking_uri(args.tracking_uri, home)
    result = train(args.task, cfg, args.device, uri, home, args.experiment,
                   progress=not args.quiet)
    print(json.dumps(summary(result, uri), indent=2))
    if result.outcome == "diverged":
        print(f"error: {result.message}; the epochs before it stay logged in MLflow run "
              f"{result.run_id}", file=sys.stderr)
        return 1
    return 0


def _bench(args) -> int:
    from cvae_study.study.bench import run_bench

    cfg = config.load(args.task, args.config, _overrides(args))
    report = run_bench(args.task, cfg, args.device, args.minutes)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text + "\n")
    return 0


SMOKE = ["model.hidden_size=32", "model.latent_size=8", "model.embedding_size=16",
         "train.epochs=1", "eval.verbs=20", "eval.samples=10"]


def _demo(args) -> int:
    args.task, args.config, args.data, args.data_dir, args.epochs = (
        "text", None, None, None, None)
    args.set = SMOKE if args.smoke else []
    args.experiment, args.quiet = "demo-text", False
    code = _train(args)
    home = tracking.workdir(args.workdir)
    print(f"\nMLflow store: {tracking.tracking_uri(args.tracking_uri, home)}")
    print(f"Browse it:    mlflow ui --backend-store-uri "
          f"{tracking.tracking_uri(args.tracking_uri, home)}")
    return code


def _config(args) -> int:
    print(config.describe(args.task))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"train": _train, "bench": _bench, "demo": _demo, "config": _config}
    try:
        return handlers[args.command](args)
    except (config.ConfigError, TenseDataError, TrackingError, ValueError) as error:
        # ValueError: e.g. --device cuda on a machine without a GPU
        print(f"error: {error}", file=sys.stderr)
        return 2


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
