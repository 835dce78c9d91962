"""`cvae-study bench KIND`: speed and time to quality of a task (text, video), Tune's
overhead and the value of search in real studies (sweep), the text study's learning curves
(landscape), studies replayed on them (search). Each kind has only its own flags; each
prints its results as JSON (and writes them to --out). `text` and `video` need torch only."""

import argparse
import json
import time
from pathlib import Path
from typing import Any

from cvae_study.study import config
from cvae_study.study import names as n
from cvae_study.study.cli import flags
from cvae_study.study.config import Overrides
from cvae_study.study.errors import UsageError


def _seed_list(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(seed) for seed in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seeds like 0,1,2, got {text!r}") from None
    if any(seed < 0 for seed in seeds):
        raise argparse.ArgumentTypeError(f"seeds must be >= 0, got {text!r}")
    return seeds


def _print_json(report: dict[str, Any], out: str | Path | None = None) -> None:
    text = json.dumps(report, indent=2)
    print(text)
    if out:
        Path(out).write_text(text + "\n")


def _add_text(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("text", help="the text task's speed and time to quality")
    parser.add_argument("--config", help="YAML / TOML / JSON file of config keys")
    flags.add_overrides(parser)
    flags.add_device(parser)
    parser.add_argument("--minutes", type=float, default=15.0,
                        help="wall-clock budget for the time-to-quality run")
    parser.add_argument("--out", help="write the results as JSON here")
    parser.set_defaults(run=lambda args: text(
        config.load("text", args.config, flags.overrides(args, "text")), device=args.device,
        minutes=args.minutes, out=args.out))


def _add_video(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("video", help="the video presets' speed, and short quality runs")
    flags.add_overrides(parser)
    flags.add_device(parser)
    parser.add_argument("--steps", type=int, default=10,
                        help="timed training steps per preset")
    parser.add_argument("--quality", type=flags.comma_list, default=n.VIDEO_KINDS,
                        help="data sets of the quality runs ('' for speed only; default "
                        "pushing,dance)")
    parser.add_argument("--out", help="write the results as JSON here")
    parser.set_defaults(run=lambda args: video(
        flags.overrides(args, "video"), device=args.device, steps=args.steps,
        kinds=args.quality, out=args.out))


def _add_sweep(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("sweep", help="Tune's overhead and TPE + ASHA against random "
                              "search, in real studies (child cvae-study processes)")
    flags.add_workdir(parser)
    flags.add_sets(parser)
    parser.add_argument("--seeds", type=_seed_list, default="0,1,2",
                        help="the search seeds, comma-separated (default: %(default)s)")
    parser.add_argument("--out", help="write the results as JSON here")
    parser.set_defaults(run=lambda args: sweep(
        flags.workspace(args).workdir, config.parse_assignments(args.set), seeds=args.seeds,
        out=args.out))


def _add_landscape(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("landscape", help="the text study's learning curves: random "
                              "configs run to the end, appended to --out (a run continues it)")
    parser.add_argument("--configs", type=int, default=150,
                        help="random configs (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=10, help="configs run again under "
                        "train.seeds 1 and 2 (default %(default)s)")
    parser.add_argument("--epochs", type=int, help="every run's length (required)")
    flags.add_sets(parser)
    parser.add_argument("--out", help="the landscape file, FILE.jsonl (required)")
    flags.add_trial_resources(parser)
    flags.add_address(parser)
    parser.set_defaults(run=_run_landscape)


def _add_search(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("search", help="studies replayed on a landscape: which search "
                              "finds good configs soonest")
    parser.add_argument("--landscape", help="the landscape file to replay on (required)")
    parser.add_argument("--replays", type=int, default=50,
                        help="search seeds per method (default %(default)s)")
    parser.add_argument("--out", help="FILE.json, its table and figure beside it (required)")
    parser.add_argument("--real", help="a `bench sweep` JSON of real studies of the "
                        "landscape's length, to check the 1x replay against")
    parser.set_defaults(run=_run_search)


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("bench", help="measure speed and time to quality (a task), "
                                 "Tune's overhead and the value of search (sweep), the text "
                                 "study's learning curves (landscape), studies replayed on "
                                 "them (search)")
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    for add in (_add_text, _add_video, _add_sweep, _add_landscape, _add_search):
        add(kinds)


# A landscape or a search needs its files; the checks name what each is for.
def _run_landscape(args: argparse.Namespace) -> int:
    if not args.out:
        raise UsageError("bench landscape: --out FILE is required (a run continues it)")
    if args.epochs is None:
        raise UsageError("bench landscape: --epochs N is required (every run's length)")
    from cvae_study.study.landscape_file import LandscapePlan

    plan = LandscapePlan(args.epochs, args.configs, args.repeats,
                         overrides=config.parse_assignments(args.set))
    return landscape(plan, Path(args.out).expanduser(), cpus_per_trial=args.cpus_per_trial,
                     gpus_per_trial=args.gpus_per_trial, address=args.address)


def _run_search(args: argparse.Namespace) -> int:
    if not args.landscape or not args.out:
        raise UsageError("bench search: --landscape FILE and --out FILE.json are required")
    if args.replays < 2:
        raise UsageError(f"--replays {args.replays}: at least 2 seeds, for an interval")
    return search(Path(args.landscape).expanduser(), Path(args.out).expanduser(),
                  replays=args.replays, real=Path(args.real).expanduser() if args.real else None)


def text(cfg, *, device: str = "auto", minutes: float = 15.0, out: str | None = None) -> int:
    """The text task's `cfg` trained for at most `minutes`: speed and time to quality."""
    from cvae_study.study.bench.text import run_text_bench

    _print_json(run_text_bench("text", cfg, device, minutes), out)
    return 0


def video(overrides: Overrides, *, device: str = "auto", steps: int = 10,
          kinds: tuple[str, ...] = n.VIDEO_KINDS, out: str | None = None) -> int:
    """Both presets' training speed over `steps`, then a short quality run per data kind."""
    from cvae_study.study.bench.video import run_video_bench

    for kind in kinds:
        config.build("video", {**overrides, "data.kind": kind})  # a bad kind before any run
    _print_json(run_video_bench(device, overrides, steps, list(kinds)), out)
    return 0


def sweep(folder: Path, overrides: Overrides, *, seeds: tuple[int, ...] = (0, 1, 2),
          out: str | None = None) -> int:
    """Real studies in a new folder under `folder`: Tune's overhead, search against random."""
    from cvae_study.study.bench.real_sweeps import run_sweep_bench

    config.build("text", overrides)  # a bad --set: exit 2 now, not in a child process
    report = run_sweep_bench(folder / time.strftime("bench-sweep-%Y%m%d-%H%M%S"), overrides,
                             seeds)
    _print_json(report, out)
    return 0


def landscape(plan, out: Path, *, cpus_per_trial: float = 1.0, gpus_per_trial: float = 0.0,
              address: str | None = None) -> int:
    """The runs of `plan` (a landscape_file.LandscapePlan) not yet in `out`, on Ray."""
    from cvae_study.study.tune.landscape_grid import collect

    _print_json(collect(plan, out, cpus_per_trial, gpus_per_trial, address))
    return 0


def search(landscape: Path, out: Path, *, replays: int = 50, real: Path | None = None) -> int:
    """Every search method replayed over `replays` seeds on `landscape` -> out, its table and
    its figure."""
    from cvae_study.study.bench.search_bench import run_search_bench, write

    report = run_search_bench(landscape, replays, real=real)
    figure = write(report, out)
    shown = {key: value for key, value in report.items() if key != "anytime"}
    print(json.dumps({**shown, "out": str(out), "figure": str(figure)}, indent=2))
    return 0
