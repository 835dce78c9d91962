"""The command line's grammar: every command, its flags and their help."""

import argparse

from cvae_study.study.commands import SMOKE_TRIALS
from cvae_study.study.names import SEARCHES, TASKS

DATA_CHOICES = {"text": ("lemminflect", "lab"), "video": ("pushing", "dance")}
DATA_KEY = {"text": "data.source", "video": "data.kind"}
SWEEP_TRIALS = 8


def _workdir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", help="runs folder (default $CVAE_STUDY_HOME or "
                        "./cvae-study-runs)")


def _storage_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", help="Ray results folder (default WORKDIR/ray_results)")


def _store_args(parser: argparse.ArgumentParser) -> None:
    _workdir_arg(parser)
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite in workdir)")


def _device_args(parser: argparse.ArgumentParser) -> None:
    _store_args(parser)
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")


def _override_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one config key, e.g. --set kl.cycles=4 (repeatable)")
    parser.add_argument("--data", choices=[c for cs in DATA_CHOICES.values() for c in cs],
                        help="text: lemminflect's table (default) or the lab's files; video: "
                        "pushing (robot actions, default) or dance (poses)")
    parser.add_argument("--data-dir", help="text: the lab's train.txt and test.txt folder; "
                        "video: a data set in the BAIR or dance layout (default: synthetic)")
    parser.add_argument("--epochs", type=int, help="shorthand for --set train.epochs=N")


def _config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML / TOML / JSON file of config keys")
    _override_args(parser)
    _device_args(parser)


def _cluster_args(parser: argparse.ArgumentParser) -> None:
    _device_args(parser)
    _storage_arg(parser)
    parser.add_argument("--address", help="an existing Ray cluster (default $RAY_ADDRESS, "
                        "else a local Ray on this machine)")


def _trial_resource_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cpus-per-trial", type=float, default=1.0)
    parser.add_argument("--gpus-per-trial", type=float, default=0.0,
                        help="whole or fractional GPUs per trial, e.g. 0.25 packs four on one")


def _resource_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-concurrent", type=int,
                        help="trials at once (default: as many as the CPUs hold)")
    _trial_resource_args(parser)
    parser.add_argument("--shared-storage", action="store_true",
                        help="--storage is a folder every node of the cluster mounts (NFS)")
    _cluster_args(parser)


def _ablate_command(sub: argparse._SubParsersAction) -> None:
    ablate = sub.add_parser(
        "ablate", help="which knobs of a study mattered: real runs over seeds",
        description="Between a baseline (the study's defaults) and a target (its best trial), "
        "measure each searched knob's effect: the target with that knob set back to the "
        "baseline (leave-one-out: k + 2 variants), or --path, the greedy ablation path from "
        "the baseline (about k(k+1)/2 + 2 variants, so O(k^2) runs), each variant under "
        "--repeats seeds (train.seed 0..R-1, the same for every variant). kl.cycles and "
        "kl.ratio move with kl.schedule when the schedules differ.")
    ablate.add_argument("name", help="the study")
    ablate.add_argument("--baseline", default="default",
                        help="default (the study's base config) or a trial id")
    ablate.add_argument("--target", default="best", help="best (completed) or a trial id")
    ablate.add_argument("--repeats", type=int, default=3, help="seeds per variant (default 3)")
    ablate.add_argument("--epochs", type=int, help="epochs of every run (default: the study's)")
    ablate.add_argument("--knobs", default="",
                        help="comma-separated knobs to ablate (default: every one that differs)")
    ablate.add_argument("--path", action="store_true",
                        help="the ablation path instead of leave-one-out (O(k^2) x R runs)")
    ablate.add_argument("--as", dest="ablation_name",
                        help="the ablation's own name (default NAME-ablation)")
    _resource_args(ablate)


def _seed_list(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(seed) for seed in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seeds like 0,1,2, got {text!r}") from None
    if any(seed < 0 for seed in seeds):
        raise argparse.ArgumentTypeError(f"seeds must be >= 0, got {text!r}")
    return seeds


def _model_commands(commands_: argparse._SubParsersAction) -> None:
    """The commands that use an exported bundle."""
    convert = commands_.add_parser("convert", help="convert a verb with an exported model")
    convert.add_argument("--model", required=True, help="a bundle folder (cvae-study export)")
    convert.add_argument("word")
    convert.add_argument("--from", dest="source", required=True, help="sp|tp|pg|p or long form")
    convert.add_argument("--to", dest="target", required=True, help="sp|tp|pg|p or long form")

    generate = commands_.add_parser("generate", help="new verbs in all four tenses from noise")
    generate.add_argument("--model", required=True, help="a bundle folder (cvae-study export)")
    generate.add_argument("-n", type=int, default=5, help="how many (default 5)")
    generate.add_argument("--seed", type=int, default=0)

    predict = commands_.add_parser("predict", help="future frames of a clip with an exported "
                                   "video model, as a GIF or PNG strip")
    predict.add_argument("--model", required=True, help="a video bundle (cvae-study export)")
    predict.add_argument("--clip", required=True, help="pushing: a BAIR sequence folder "
                         "(0.png ..., actions.csv, endeffector_positions.csv); dance: a split "
                         "folder (val/ with val_img/ and val_label/)")
    predict.add_argument("--start", type=int, default=0, help="the clip's first frame")
    predict.add_argument("--out", required=True, help="FILE.gif (truth beside prediction) "
                         "or FILE.png (truth over prediction)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cvae-study", description="Hyperparameter studies "
                                     "of conditional VAEs. Bad input exits 2 with a message "
                                     "naming what is wrong; a failing disk or store exits 3.")
    parser.add_argument("--debug", action="store_true",
                        help="also print the traceback of an error (or CVAE_STUDY_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train one model without Ray, tracked in MLflow")
    train.add_argument("task", choices=TASKS)
    _config_args(train)
    train.add_argument("--experiment", help="MLflow experiment (default train-TASK)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    bench = sub.add_parser("bench", help="measure speed and time to quality (a task), "
                           "Tune's overhead and the value of search (sweep), the text study's "
                           "learning curves (landscape), studies replayed on them (search)")
    bench.add_argument("task", choices=(*TASKS, "sweep", "landscape", "search"))
    _config_args(bench)
    bench.add_argument("--minutes", type=float, default=15.0,
                       help="wall-clock budget for the time-to-quality run")
    bench.add_argument("--out", help="write the results as JSON here")
    bench.add_argument("--seeds", type=_seed_list, default="0,1,2",
                       help="bench sweep: the search seeds, comma-separated (default: %(default)s)")
    bench.add_argument("--steps", type=int, default=10,
                       help="bench video: timed training steps per preset")
    bench.add_argument("--quality", default="pushing,dance",
                       help="bench video: data sets of the quality runs ('' for speed only)")
    bench.add_argument("--configs", type=int, default=150,
                       help="bench landscape: random configs (default %(default)s)")
    bench.add_argument("--repeats", type=int, default=10, help="bench landscape: configs run "
                       "again under train.seeds 1 and 2 (default %(default)s)")
    _trial_resource_args(bench)
    bench.add_argument("--address", help="bench landscape: an existing Ray cluster")
    bench.add_argument("--landscape", help="bench search: the landscape file to replay on")
    bench.add_argument("--replays", type=int, default=50,
                       help="bench search: search seeds per method (default %(default)s)")
    bench.add_argument("--real", help="bench search: a `bench sweep` JSON of real studies of "
                       "the landscape's length, to check the 1x replay against")

    sweep = sub.add_parser("sweep", help="a hyperparameter study on Ray Tune")
    sweep.add_argument("task", choices=TASKS)
    sweep.add_argument("--name", help="the study's name (default TASK-DATE-TIME)")
    sweep.add_argument("--num-samples", type=int,
                       help=f"trials (default {SWEEP_TRIALS}; {SMOKE_TRIALS} with --smoke)")
    _resource_args(sweep)
    sweep.add_argument("--study", help="YAML / TOML study file: space and config sections")
    _override_args(sweep)
    sweep.add_argument("--seed", type=int, default=0, help="seed of the search")
    sweep.add_argument("--metric", default="", help="objective (default val/score for text, "
                       "val/psnr for video); several, comma-separated, for a trade-off: "
                       "val/bleu4,val/gaussian")
    sweep.add_argument("--search", choices=SEARCHES, default="tpe", help="the sampler: TPE "
                       "(default), random, or NSGA-II (for several objectives)")
    sweep.add_argument("--warm-start", metavar="STUDY", default="",
                       help="seed the sampler with the trials of an earlier study of the task "
                       "in the same MLflow store (same fixed config, space inside this one's)")
    sweep.add_argument("--no-early-stopping", action="store_true", help="no ASHA")
    sweep.add_argument("--brackets", type=int, default=1, help="early stopping's brackets: 1 "
                       "is ASHA (default), more is asynchronous Hyperband (with TPE: BOHB-style)")
    sweep.add_argument("--quiet", action="store_true", help="no live view of the study: only "
                       "errors and its final lines")
    sweep.add_argument("--smoke", action="store_true", help="two tiny trials of two epochs: "
                       "checks the whole path quickly (explicit flags win)")

    _ablate_command(sub)

    resume = sub.add_parser("resume", help="continue an interrupted study or ablation")
    resume.add_argument("name")
    _cluster_args(resume)

    report = sub.add_parser("report", help="a study's ablation report (HTML + Markdown)")
    report.add_argument("name")
    report.add_argument("--out", help="folder (default WORKDIR/reports/NAME)")
    report.add_argument("--pareto", metavar="M1,M2", help="also the Pareto front of these "
                        "metrics (two or more of the task's, comma-separated), from the "
                        "trials' final values: val/bleu4,val/gaussian")
    report.add_argument("--baseline", metavar="STUDY", help="a study of several objectives: "
                        "the random-search study of the same task, objectives and budget to "
                        "compare its hypervolume with (default: the latest in the store)")
    _store_args(report)

    export = sub.add_parser("export", help="the best trial of a study -> a model bundle")
    export.add_argument("name")
    export.add_argument("--out", help="the bundle's folder (required, but for --pareto)")
    export.add_argument("--metric", help="pick the best by this metric (default: the "
                        "study's objective)")
    export.add_argument("--trial", help="export this Ray trial id instead of the best")
    export.add_argument("--pareto", action="store_true", help="a study of several "
                        "objectives: list its Pareto front (choose one with --trial); writes "
                        "no bundle")
    export.add_argument("--force", action="store_true", help="replace an existing --out")
    export.add_argument("--register", metavar="MODEL_NAME",
                        help="also log the bundle to the trial's run and register a version")
    _store_args(export)

    _model_commands(sub)

    ui = sub.add_parser("ui", help="browse the MLflow store with MLflow's own UI")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=5000)
    _store_args(ui)

    dashboard = sub.add_parser("dashboard", help="a study's search in optuna-dashboard "
                               "(pip install 'cvae-study[dashboard]')")
    dashboard.add_argument("name")
    dashboard.add_argument("--host", default="127.0.0.1")
    dashboard.add_argument("--port", type=int, default=8080)
    _workdir_arg(dashboard)
    _storage_arg(dashboard)

    show = sub.add_parser("config", help="list a task's config keys and defaults")
    show.add_argument("task", choices=TASKS)

    data = sub.add_parser("data", help="write a synthetic data set in a lab's layout")
    data.add_argument("task", choices=("video",))
    data.add_argument("--kind", choices=("pushing", "dance"), default="pushing",
                      help="pushing: BAIR layout, robot actions; dance: frames and pose labels")
    data.add_argument("--out", required=True, help="the data set's folder (must not exist)")
    data.add_argument("--sequences", type=int, default=1000,
                      help="training sequences (validation and test get an eighth)")
    data.add_argument("--seed", type=int, default=0)

    demo = sub.add_parser("demo", help="the whole job on embedded defaults: a study, its "
                          "report, the best model exported and used")
    _device_args(demo)
    demo.add_argument("--smoke", action="store_true",
                      help="two tiny trials: checks the whole path in seconds")
    demo.add_argument("--with-video", action="store_true",
                      help="also a short video study, its best model predicting a clip")
    return parser
