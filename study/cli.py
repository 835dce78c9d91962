"""The cvae-study command. Bad input exits 2 with a message naming what is wrong."""

import argparse
import json
import signal
import sys
import time
from pathlib import Path

from cvae_study.datasets.tense import TenseDataError
from cvae_study.study import config, workdir
from cvae_study.study import metrics as m
from cvae_study.study.tasks.base import resolve_device
from cvae_study.study.workdir import TrackingError

TASKS = ("text", "video")
DATA_CHOICES = {"text": ("lemminflect", "lab"), "video": ("pushing", "dance")}
DATA_KEY = {"text": "data.source", "video": "data.kind"}


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", help="runs folder (default $CVAE_STUDY_HOME or "
                        "./cvae-study-runs)")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite in workdir)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")


def _config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML / TOML / JSON file of config keys")
    _override_args(parser)


def _override_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one config key, e.g. --set kl.cycles=4 (repeatable)")
    parser.add_argument("--data", choices=[c for cs in DATA_CHOICES.values() for c in cs],
                        help="text: lemminflect's table (default) or the lab's files; video: "
                        "pushing (robot actions, default) or dance (poses)")
    parser.add_argument("--data-dir", help="text: the lab's train.txt and test.txt folder; "
                        "video: a data set in the BAIR or dance layout (default: synthetic)")
    parser.add_argument("--epochs", type=int, help="shorthand for --set train.epochs=N")


def _seed_list(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(seed) for seed in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seeds like 0,1,2, got {text!r}") from None
    if any(seed < 0 for seed in seeds):
        raise argparse.ArgumentTypeError(f"seeds must be >= 0, got {text!r}")
    return seeds


def _overrides(args) -> list[str]:
    assignments = []
    if args.data:
        if args.data not in DATA_CHOICES[args.task]:
            raise ValueError(f"--data {args.data}: {args.task} data is "
                             f"{' or '.join(DATA_CHOICES[args.task])}")
        assignments.append(f"{DATA_KEY[args.task]}={args.data}")
    if args.data_dir:
        assignments.append(f"data.dir={args.data_dir}")
    if args.epochs is not None:
        assignments.append(f"train.epochs={args.epochs}")
    return assignments + args.set


def _store_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", help="runs folder (default $CVAE_STUDY_HOME or "
                        "./cvae-study-runs)")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite in workdir)")


def _study_args(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--storage", help="Ray results folder (default WORKDIR/ray_results)")
    parser.add_argument("--address", help="an existing Ray cluster (default $RAY_ADDRESS, "
                        "else a local Ray on this machine)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cvae-study", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train one model without Ray, tracked in MLflow")
    train.add_argument("task", choices=TASKS)
    _config_args(train)
    _common(train)
    train.add_argument("--experiment", help="MLflow experiment (default train-TASK)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    bench = commands.add_parser("bench", help="measure speed and time to quality (a task), "
                                "or Tune's overhead and the value of search (sweep)")
    bench.add_argument("task", choices=(*TASKS, "sweep"))
    _config_args(bench)
    _common(bench)
    bench.add_argument("--minutes", type=float, default=15.0,
                       help="wall-clock budget for the time-to-quality run")
    bench.add_argument("--out", help="write the results as JSON here")
    bench.add_argument("--seeds", type=_seed_list, default="0,1,2",
                       help="bench sweep: the search seeds, comma-separated (default: %(default)s)")
    bench.add_argument("--steps", type=int, default=10,
                       help="bench video: timed training steps per preset")
    bench.add_argument("--quality", default="pushing,dance",
                       help="bench video: data sets of the quality runs ('' for speed only)")

    sweep = commands.add_parser("sweep", help="a hyperparameter study on Ray Tune")
    sweep.add_argument("task", choices=TASKS)
    sweep.add_argument("--name", help="the study's name (default TASK-DATE-TIME)")
    sweep.add_argument("--num-samples", type=int, default=8, help="trials (default 8)")
    sweep.add_argument("--max-concurrent", type=int,
                       help="trials at once (default: as many as the CPUs hold)")
    sweep.add_argument("--cpus-per-trial", type=float, default=1.0)
    sweep.add_argument("--gpus-per-trial", type=float, default=0.0,
                       help="whole or fractional GPUs per trial, e.g. 0.25 packs four on one")
    sweep.add_argument("--shared-storage", action="store_true",
                       help="--storage is a folder every node of the cluster mounts (NFS)")
    sweep.add_argument("--study", help="YAML / TOML study file: space and config sections")
    _override_args(sweep)
    sweep.add_argument("--seed", type=int, default=0, help="seed of the search")
    sweep.add_argument("--metric", default="", help="objective (default val/score for text, "
                       "val/psnr for video)")
    sweep.add_argument("--search", choices=("tpe", "random"), default="tpe")
    sweep.add_argument("--no-early-stopping", action="store_true", help="no ASHA")
    sweep.add_argument("--smoke", action="store_true",
                       help="two tiny trials of two epochs: checks the whole path quickly")
    _study_args(sweep)

    resume = commands.add_parser("resume", help="continue an interrupted study")
    resume.add_argument("name")
    _study_args(resume)

    report = commands.add_parser("report", help="a study's ablation report (HTML + Markdown)")
    report.add_argument("name")
    report.add_argument("--out", help="folder (default WORKDIR/reports/NAME)")
    _store_args(report)

    export = commands.add_parser("export", help="the best trial of a study -> a model bundle")
    export.add_argument("name")
    export.add_argument("--out", required=True, help="the bundle's folder")
    export.add_argument("--metric", help="pick the best by this metric (default: the "
                        "study's objective)")
    export.add_argument("--trial", help="export this Ray trial id instead of the best")
    export.add_argument("--force", action="store_true", help="replace an existing --out")
    export.add_argument("--register", metavar="MODEL_NAME",
                        help="also log the bundle to the trial's run and register a version")
    _store_args(export)

    convert = commands.add_parser("convert", help="convert a verb with an exported model")
    convert.add_argument("--model", required=True, help="a bundle folder (cvae-study export)")
    convert.add_argument("word")
    convert.add_argument("--from", dest="source", required=True, help="sp|tp|pg|p or long form")
    convert.add_argument("--to", dest="target", required=True, help="sp|tp|pg|p or long form")

    generate = commands.add_parser("generate", help="new verbs in all four tenses from noise")
    generate.add_argument("--model", required=True, help="a bundle folder (cvae-study export)")
    generate.add_argument("-n", type=int, default=5, help="how many (default 5)")
    generate.add_argument("--seed", type=int, default=0)

    predict = commands.add_parser("predict", help="future frames of a clip with an exported "
                                  "video model, as a GIF or PNG strip")
    predict.add_argument("--model", required=True, help="a video bundle (cvae-study export)")
    predict.add_argument("--clip", required=True, help="pushing: a BAIR sequence folder "
                         "(0.png ..., actions.csv, endeffector_positions.csv); dance: a split "
                         "folder (val/ with val_img/ and val_label/)")
    predict.add_argument("--start", type=int, default=0, help="the clip's first frame")
    predict.add_argument("--out", required=True, help="FILE.gif (truth beside prediction) "
                         "or FILE.png (truth over prediction)")

    ui = commands.add_parser("ui", help="browse the MLflow store with MLflow's own UI")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=5000)
    _store_args(ui)

    show = commands.add_parser("config", help="list a task's config keys and defaults")
    show.add_argument("task", choices=TASKS)

    data = commands.add_parser("data", help="write a synthetic data set in a lab's layout")
    data.add_argument("task", choices=("video",))
    data.add_argument("--kind", choices=("pushing", "dance"), default="pushing",
                      help="pushing: BAIR layout, robot actions; dance: frames and pose labels")
    data.add_argument("--out", required=True, help="the data set's folder (must not exist)")
    data.add_argument("--sequences", type=int, default=1000,
                      help="training sequences (validation and test get an eighth)")
    data.add_argument("--seed", type=int, default=0)

    demo = commands.add_parser("demo", help="the whole job on embedded defaults: a study, its "
                               "report, the best model exported and used")
    _common(demo)
    demo.add_argument("--smoke", action="store_true",
                      help="two tiny trials: checks the whole path in seconds")
    demo.add_argument("--with-video", action="store_true",
                      help="also a short video study, its best model predicting a clip")
    return parser


def _train(args) -> int:
    from cvae_study.study.train import summary, train

    cfg = config.load(args.task, args.config, _overrides(args))
    resolve_device(args.device)  # a bad --device fails before anything is written
    home = workdir.workdir(args.workdir)
    uri = workdir.tracking_uri(args.tracking_uri, home)
    result = train(args.task, cfg, args.device, uri, home, args.experiment,
                   progress=not args.quiet)
    print(json.dumps(summary(result, uri), indent=2))
    if result.outcome == "diverged":
        print(f"error: {result.message}; the epochs before it stay logged in MLflow run "
              f"{result.run_id}", file=sys.stderr)
        return 1
    return 0


def _bench(args) -> int:
    # Each bench is imported where it runs: text and video need only torch (a GPU machine
    # may have nothing else), the sweep bench needs Ray and MLflow.
    if args.task == "sweep":
        from cvae_study.study.bench_sweep import run_sweep_bench

        config.build("text", config.parse_assignments(args.set))  # bad --set: exit 2 now
        folder = time.strftime("bench-sweep-%Y%m%d-%H%M%S")
        report = run_sweep_bench(workdir.workdir(args.workdir) / folder, args.set, args.seeds)
    elif args.task == "video":
        from cvae_study.study.bench_video import run_video_bench

        kinds = [kind for kind in args.quality.split(",") if kind]
        for kind in kinds:
            config.build("video", {"data.kind": kind})  # names a bad kind before any run
        report = run_video_bench(args.device, _overrides(args), args.steps, kinds)
    else:
        from cvae_study.study.bench import run_bench

        cfg = config.load(args.task, args.config, _overrides(args))
        report = run_bench(args.task, cfg, args.device, args.minutes)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text + "\n")
    return 0


# --smoke: two trials of a tiny model for two epochs on the default data (video: a small
# synthetic set).
SMOKE = {"text": ["model.hidden_size=32", "model.latent_size=8", "model.embedding_size=16",
                  "train.epochs=2", "eval.verbs=20", "eval.samples=10"],
         "video": ["model.preset=cpu", "model.latent_size=8", "data.sequences=16",
                   "train.epochs=2", "train.batch_size=8", "eval.clips=8"]}


# The demo study: eight trials of up to six epochs with ASHA over the KL and teacher-forcing
# knobs and the latent size. The network and its learning rate stay at the defaults: within
# six epochs they decide almost everything (benchmarks/search-landscape), and an 8-trial
# study over them mostly finds a GRU at a high learning rate, or nothing. About four minutes
# on 2 CPU cores (README).
DEMO_STUDY = ["--num-samples", "8", "--epochs", "6"]
DEMO_AT_DEFAULT = ("model.hidden_size", "model.cell", "optim.lr")
# --with-video: four trials of three epochs of the cpu preset on 300 synthetic dance
# sequences, which a short study learns (pushing needs about 8 epochs of 1,000; README).
DEMO_VIDEO_STUDY = ["--num-samples", "4", "--epochs", "3", "--data", "dance",
                    "--set", "model.preset=cpu", "--set", "data.sequences=300",
                    "--set", "eval.clips=32"]


DEMO_CONVERSIONS = (("walk", "sp", "p"), ("swim", "sp", "pg"), ("decide", "sp", "tp"),
                    ("carried", "p", "sp"))


def _demo_text_study() -> list[str]:
    return DEMO_STUDY + config.set_flags(config.default_assignments("text", DEMO_AT_DEFAULT))


def _demo_study(task: str, name: str, study: list[str], args) -> tuple[str, dict, Path]:
    """A study of `task`, its report and its best model exported -> (store, report, bundle)."""
    from cvae_study.analysis.report import write_report
    from cvae_study.study.export import export

    argv = ["sweep", task, "--name", name, *study]
    for flag, value in (("--workdir", args.workdir), ("--tracking-uri", args.tracking_uri)):
        if value:
            argv += [flag, value]
    _sweep(build_parser().parse_args(argv))
    home = workdir.workdir(args.workdir)
    uri = workdir.tracking_uri(args.tracking_uri, home)
    report = write_report(uri, name, home / "reports" / name)
    bundle_dir = home / "bundles" / name
    export(uri, name, bundle_dir)
    return uri, report, bundle_dir


def _demo(args) -> int:
    """The whole job: a study, its report, the best model exported and used."""
    from cvae_study.datasets.tense import Conversion
    from cvae_study.study.bundle import load_bundle
    from cvae_study.study.tasks.text import convert_words, generate_words

    name = f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    uri, report, bundle_dir = _demo_study(
        "text", name, ["--smoke"] if args.smoke else _demo_text_study(), args)
    bundle = load_bundle(bundle_dir)
    max_len = bundle.meta["max_length"]
    print("\nThe best model, exported and used:")
    items = [Conversion(word, tense_index(a), "", tense_index(b))
             for word, a, b in DEMO_CONVERSIONS]
    for (word, a, b), out in zip(DEMO_CONVERSIONS, convert_words(bundle.model, items, max_len),
                                 strict=True):
        print(f"  convert {word} ({a} -> {b}): {out}")
    for row in generate_words(bundle.model, 5, 0, max_len, bundle.config.eval.beam):
        print(f"  generated: {' / '.join(row)}")
    print(f"\nReport:       {report['html']}")
    print(f"Model bundle: {bundle_dir}  (cvae-study convert --model {bundle_dir} ...)")
    if args.with_video:
        _demo_video(f"{name}-video", args)
    print(f"MLflow store: {uri}")
    workdir = f" --workdir {args.workdir}" if args.workdir else ""
    print(f"Open the UI:  cvae-study ui{workdir}")
    return 0


def _demo_video(name: str, args) -> None:
    """A short video study, and its best model predicting a validation clip as a GIF."""
    from cvae_study.study.bundle import load_bundle
    from cvae_study.study.predict import predict_clip, write_prediction
    from cvae_study.study.tasks.video import VALIDATION_SPLIT, data_root

    _, report, bundle_dir = _demo_study(
        "video", name, ["--smoke"] if args.smoke else DEMO_VIDEO_STUDY, args)
    data = load_bundle(bundle_dir).config.data
    root = data_root(data) / VALIDATION_SPLIT[data.kind]
    clip = next(root.glob("*/0")) if data.kind == "pushing" else root
    truth, predicted, scores = predict_clip(bundle_dir, clip)
    out = write_prediction(workdir.workdir(args.workdir) / "predictions" / f"{name}.gif",
                           truth, predicted)
    print(f"\nVideo report: {report['html']}")
    print(f"Video bundle: {bundle_dir}")
    print(f"Prediction of {clip}: {out} (PSNR {scores[m.VAL_PSNR]:.2f} dB, copying the last "
          f"frame {scores[m.VAL_PSNR_COPY_LAST]:.2f} dB)")


def _study_paths(args):
    from cvae_study.study.storage import StudyStorage

    home = workdir.workdir(args.workdir)
    return home, StudyStorage(args.storage or home / "ray_results")


def _report(result) -> None:
    summary = result.summary()
    print(json.dumps(summary, indent=2))
    uri = summary["mlflow"]["tracking_uri"]
    print(f"\nMLflow store: {uri} (experiment {summary['study']})")
    print(f"Browse it:    mlflow ui --backend-store-uri {uri}")
    print(f"Ray results:  {summary['ray_results']}")


def _sweep(args) -> int:
    from cvae_study.study import sweep

    home, storage = _study_paths(args)
    assignments = _overrides(args)
    num_samples = args.num_samples
    if args.smoke:
        assignments = SMOKE[args.task] + assignments
        num_samples = 2
    options = sweep.SweepOptions(
        task=args.task, name=args.name or sweep.default_name(args.task),
        num_samples=num_samples, max_concurrent=args.max_concurrent,
        cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial,
        shared_storage=args.shared_storage, metric=args.metric, seed=args.seed,
        search=args.search, early_stopping=not args.no_early_stopping)
    uri = workdir.tracking_uri(args.tracking_uri, home)
    study = sweep.prepare(options, args.study, assignments, storage, uri, home)
    _report(sweep.run(study, address=args.address))
    print(f"Resume it:    cvae-study resume {options.name} --workdir {home}")
    return 0


def _resume(args) -> int:
    from cvae_study.study import sweep

    home, storage = _study_paths(args)
    study = sweep.load(args.name, storage, args.tracking_uri, home)
    _report(sweep.resume(study, address=args.address))
    return 0


def _report_command(args) -> int:
    from cvae_study.analysis.report import write_report

    home = workdir.workdir(args.workdir)
    out = Path(args.out).expanduser().resolve() if args.out else home / "reports" / args.name
    paths = write_report(workdir.tracking_uri(args.tracking_uri, home), args.name, out)
    print(f"Report: {paths['html']}\nMarkdown: {paths['markdown']}")
    return 0


def _export(args) -> int:
    from cvae_study.study.export import export

    home = workdir.workdir(args.workdir)
    result = export(workdir.tracking_uri(args.tracking_uri, home), args.name,
                    Path(args.out).expanduser().resolve(), args.metric, args.trial,
                    args.force, args.register)
    print(json.dumps(result, indent=2))
    return 0


def tense_index(name: str) -> int:
    """sp / tp / pg / p or their long names ("simple past", "simple-past") -> 0..3."""
    from cvae_study.datasets.tense import TENSE_LONG_NAMES, TENSES

    wanted = name.strip().lower().replace("-", " ").replace("_", " ")
    for index, short in enumerate(TENSES):
        if wanted in (short, TENSE_LONG_NAMES[short]):
            return index
    raise ValueError(f"tense {name!r}: one of {', '.join(TENSES)} or "
                     f"{', '.join(TENSE_LONG_NAMES.values())}")


def _convert(args) -> int:
    from cvae_study.datasets.tense import Conversion, encode_word
    from cvae_study.study.bundle import load_bundle
    from cvae_study.study.tasks.text import convert_words

    source, target = tense_index(args.source), tense_index(args.target)
    encode_word(args.word)  # a character outside a-z: a clear error, exit 2
    bundle = load_bundle(args.model, task_wanted="text")
    item = Conversion(args.word, source, "", target)
    print(convert_words(bundle.model, [item], bundle.meta["max_length"])[0])
    return 0


def _generate(args) -> int:
    from cvae_study.study.bundle import load_bundle
    from cvae_study.study.tasks.text import generate_words

    if args.n < 1:
        raise ValueError(f"-n {args.n}: must be at least 1")
    bundle = load_bundle(args.model, task_wanted="text")
    for row in generate_words(bundle.model, args.n, args.seed, bundle.meta["max_length"],
                              bundle.config.eval.beam):
        print(" / ".join(row))
    return 0


def _predict(args) -> int:
    from cvae_study.study.predict import predict_clip, write_prediction

    truth, predicted, scores = predict_clip(args.model, args.clip, args.start)
    out = write_prediction(Path(args.out).expanduser(), truth, predicted)
    print(f"{out}: predicted frames at PSNR {scores[m.VAL_PSNR]:.2f} dB, copying the last frame "
          f"{scores[m.VAL_PSNR_COPY_LAST]:.2f} dB")
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _ui(args) -> int:
    from cvae_study.study import ui

    home = workdir.workdir(args.workdir)
    uri = workdir.tracking_uri(args.tracking_uri, home)
    if args.host not in ui.LOOPBACK:
        print(f"warning: --host {args.host} serves the MLflow store to your network, with no "
              "authentication", file=sys.stderr)
    # Ctrl-C (SIGINT) and a plain `kill` (SIGTERM) both stop the server cleanly, even when
    # this process was started with SIGINT ignored (as background jobs are).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    server = ui.start(uri, home, args.host, args.port)
    base = f"http://{args.host}:{args.port}"
    print(f"MLflow UI: {base}  (store {uri}; Ctrl-C stops it)")
    for name, link in ui.study_links(uri, base).items():
        print(f"  study {name}: {link}")
    try:
        server.wait()
    except KeyboardInterrupt:
        print("stopping the MLflow UI")
    finally:
        ui.stop(server)
    return 0


def _config(args) -> int:
    print(config.describe(args.task))
    return 0


def _data(args) -> int:
    from cvae_study.datasets import synthetic

    out = Path(args.out).expanduser()
    if out.exists():
        raise ValueError(f"--out {out}: already exists; choose a new folder")
    if args.sequences < 1:
        raise ValueError(f"--sequences {args.sequences}: must be at least 1")
    synthetic.write(args.kind, out, args.sequences, args.seed)
    print(f"wrote {args.kind} data ({args.sequences} training sequences) to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"train": _train, "bench": _bench, "demo": _demo, "config": _config,
                "sweep": _sweep, "resume": _resume, "report": _report_command,
                "export": _export, "convert": _convert, "generate": _generate,
                "predict": _predict, "ui": _ui,
                "data": _data}
    try:
        return handlers[args.command](args)
    except (config.ConfigError, TenseDataError, TrackingError, ValueError) as error:
        # ValueError: e.g. --device cuda on a machine without a GPU, VideoDataError
        print(f"error: {error}", file=sys.stderr)
        return 2


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
