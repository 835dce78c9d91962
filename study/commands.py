"""One typed function per command: what the CLI calls after parsing, and what the demo and
the tests call directly. Each prints what the user reads and returns an exit status.

Heavy stacks are imported inside the command that needs them: `train` and `bench` run on a
machine that has torch and nothing else of Ray, MLflow or Optuna.
"""

import json
import sys
import time
from pathlib import Path
from typing import Any

from cvae_study.study import config, serving
from cvae_study.study import names as n
from cvae_study.study.config import Overrides
from cvae_study.study.errors import UsageError
from cvae_study.study.tasks.base import resolve_device
from cvae_study.study.tracking.workdir import Workspace

# --smoke: two trials of a tiny model for two epochs on the default data (video: a small
# synthetic set). Flags given explicitly win over these.
SMOKE = {"text": {"model.hidden_size": 32, "model.latent_size": 8, "model.embedding_size": 16,
                  "train.epochs": 2, "eval.verbs": 20, "eval.samples": 10},
         "video": {"model.preset": "cpu", "model.latent_size": 8, "data.sequences": 16,
                   "train.epochs": 2, "train.batch_size": 8, "eval.clips": 8}}
SMOKE_TRIALS = 2


def _print_json(report: dict[str, Any], out: str | Path | None = None) -> None:
    text = json.dumps(report, indent=2)
    print(text)
    if out:
        Path(out).write_text(text + "\n")


def train(task: str, cfg, device: str, where: Workspace, experiment: str | None,
          progress: bool) -> int:
    from cvae_study.study.tasks.registry import make_task
    from cvae_study.study.tasks.train import train
    from cvae_study.study.tracking.runs import RunLogger, host_tags, provenance_tags

    device = resolve_device(device)  # a bad --device or bad data fails before a run is made
    trainer = make_task(task, cfg, device)
    logger = RunLogger(where.tracking_uri, experiment or f"train-{task}", f"{task}-train",
                       {n.TASK: task, **host_tags(str(device)), **provenance_tags()})
    result = train(trainer, logger, where.workdir / "checkpoints", progress=progress)
    print(json.dumps({
        "outcome": result.outcome,
        "epochs": result.epochs,
        "metrics": {k: round(v, 4) for k, v in result.metrics.items() if not n.is_kl_dim(k)},
        "checkpoint": str(result.checkpoint) if result.checkpoint else None,
        "mlflow": {"tracking_uri": where.tracking_uri, "experiment_id": result.experiment_id,
                   "run_id": result.run_id},
    }, indent=2))
    if result.outcome == n.DIVERGED:
        print(f"error: {result.message}; the epochs before it stay logged in MLflow run "
              f"{result.run_id}", file=sys.stderr)
        return 1
    return 0


def bench_task(task: str, cfg, device: str, minutes: float, out: str | None) -> int:
    from cvae_study.study.bench.text import run_text_bench

    _print_json(run_text_bench(task, cfg, device, minutes), out)
    return 0


def bench_video(device: str, overrides: Overrides, steps: int, kinds: list[str],
                out: str | None) -> int:
    from cvae_study.study.bench.video import run_video_bench

    for kind in kinds:
        config.build("video", {**overrides, "data.kind": kind})  # a bad kind before any run
    _print_json(run_video_bench(device, overrides, steps, kinds), out)
    return 0


def bench_sweep(folder: Path, overrides: Overrides, seeds: tuple[int, ...],
                out: str | None) -> int:
    from cvae_study.study.bench.sweep import run_sweep_bench

    config.build("text", overrides)  # a bad --set: exit 2 now, not in a child process
    report = run_sweep_bench(folder / time.strftime("bench-sweep-%Y%m%d-%H%M%S"), overrides,
                             seeds)
    _print_json(report, out)
    return 0


def bench_landscape(configs: int, repeats: int, epochs: int | None, overrides: Overrides,
                    out: str | None, cpus_per_trial: float, gpus_per_trial: float,
                    address: str | None) -> int:
    from cvae_study.study.bench.landscape import LandscapePlan
    from cvae_study.study.tune.landscape import collect

    if not out:
        raise UsageError("bench landscape: --out FILE is required (a run continues it)")
    if epochs is None:
        raise UsageError("bench landscape: --epochs N is required (every run's length)")
    plan = LandscapePlan(epochs, configs, repeats, overrides=overrides)
    _print_json(collect(plan, Path(out).expanduser(), cpus_per_trial, gpus_per_trial, address),
                None)
    return 0


def bench_search(landscape: str | None, replays: int, out: str | None,
                 real: str | None = None) -> int:
    from cvae_study.study.bench.search import run_search_bench, write

    if not landscape or not out:
        raise UsageError("bench search: --landscape FILE and --out FILE.json are required")
    if replays < 2:
        raise UsageError(f"--replays {replays}: at least 2 seeds, for an interval")
    report = run_search_bench(Path(landscape).expanduser(), replays,
                              real=Path(real).expanduser() if real else None)
    figure = write(report, Path(out).expanduser())
    shown = {key: value for key, value in report.items() if key != "anytime"}
    print(json.dumps({**shown, "out": out, "figure": str(figure)}, indent=2))
    return 0


def _results_store(where: Workspace, storage: str | None):
    from cvae_study.study.storage import ResultsStore

    return ResultsStore(storage or where.workdir / "ray_results")


def _print_sweep(result) -> None:
    summary = result.summary()
    print(json.dumps(summary, indent=2))
    uri = summary["mlflow"]["tracking_uri"]
    print(f"\nMLflow store: {uri} (experiment {summary['study']})")
    print(f"Browse it:    mlflow ui --backend-store-uri {uri}")
    print(f"Ray results:  {summary['ray_results']}")


def sweep(options, study_file: str | None, overrides: Overrides, where: Workspace,
          storage: str | None = None, address: str | None = None, quiet: bool = False):
    """A new study (options: a tune.sweep.SweepOptions) -> its SweepResult. quiet: no live
    view, only errors and its final lines."""
    from cvae_study.study.tune import sweep as sweeps

    prepared = sweeps.prepare(options, study_file, overrides, _results_store(where, storage),
                              where.tracking_uri, where.workdir)
    result = sweeps.run(prepared, address=address, quiet=quiet)
    _print_sweep(result)
    print(f"Resume it:    cvae-study resume {options.name} --workdir {where.workdir}")
    if prepared.journal:
        print(f"Dashboard:    cvae-study dashboard {options.name} --workdir {where.workdir}")
    return result


def resume(name: str, where: Workspace, tracking_uri: str | None, storage: str | None,
           address: str | None) -> int:
    """A study or an ablation, continued. tracking_uri: --tracking-uri as given; None
    resumes into the run's own store."""
    from cvae_study.study.tune import ablate as ablations
    from cvae_study.study.tune import sweep as sweeps

    store = _results_store(where, storage)
    if ablations.is_ablation(name, store):
        saved = ablations.load(name, store, tracking_uri)
        _print_ablation(ablations.run(saved, address=address, restore=True))
        return 0
    saved = sweeps.load(name, store, tracking_uri)
    _print_sweep(sweeps.resume(saved, address=address))
    return 0


def _print_ablation(ablation) -> None:
    plan = ablation.plan
    runs = len(plan.variants) * len(plan.seeds)
    print(f"Ablation {ablation.runner.options.name} of study {ablation.study.options.name}: "
          f"{plan.design}, {len(plan.knobs)} knobs ({', '.join(plan.knobs)}), "
          f"{len(plan.seeds)} seeds, {runs} runs of {plan.epochs} epochs")
    print(f"MLflow store: {ablation.runner.uri} (experiment {ablation.study.options.name}, "
          f"parent run {ablation.parent_id})")
    print(f"Read it:      cvae-study report {ablation.study.options.name}")


def ablate(options, resources, where: Workspace, storage: str | None = None,
           address: str | None = None):
    """An ablation of a finished study (options: tune.ablate.AblationOptions; resources:
    the SweepOptions whose resources, retries and concurrency its grid uses)."""
    from cvae_study.study.tune import ablate as ablations

    prepared = ablations.prepare(options, resources, _results_store(where, storage),
                                 where.tracking_uri)
    done = ablations.run(prepared, address=address)
    _print_ablation(done)
    return done


def report(where: Workspace, name: str, out: Path | None = None, quiet: bool = False,
           pareto: str | None = None, baseline: str | None = None) -> dict[str, Path]:
    """pareto: --pareto M1,M2 (also the front of these metrics); baseline: --baseline STUDY
    (the random-search study a study of several objectives is compared with)."""
    from cvae_study.analysis.report import write_report

    paths = write_report(where.tracking_uri, name, out or where.workdir / "reports" / name,
                         pareto=pareto, baseline=baseline)
    if not quiet:
        print(f"Report: {paths['html']}\nMarkdown: {paths['markdown']}")
    return paths


def export(where: Workspace, name: str, out: Path | None, metric: str | None = None,
           trial: str | None = None, force: bool = False, register: str | None = None,
           quiet: bool = False, pareto: bool = False) -> dict[str, Any]:
    """A trial of study `name` -> a bundle at `out`; pareto: list the study's recorded
    Pareto front instead (--pareto), writing nothing."""
    from cvae_study.study.bundle.export import export, pareto_front

    if pareto and (out or trial or register):
        raise UsageError("--pareto lists the study's front and writes no bundle: drop --out, "
                         "--trial and --register, then export one with --trial ID --out DIR")
    if out is None and not pareto:
        raise UsageError("--out DIR is required: the bundle's folder (or --pareto, to list "
                         "the front of a study of several objectives)")
    result = (pareto_front(where.tracking_uri, name) if pareto
              else export(where.tracking_uri, name, out, metric, trial, force, register))
    if not quiet:
        print(json.dumps(result, indent=2))
    return result


def convert(model: str | Path, word: str, source: str, target: str) -> int:
    from cvae_study.datasets.tense import Conversion, encode_word, parse_tense
    from cvae_study.study.bundle.bundle import load_bundle
    from cvae_study.study.tasks.text import convert_words

    source_tense, target_tense = parse_tense(source), parse_tense(target)
    encode_word(word)  # a character outside a-z: a clear error, exit 2
    bundle = load_bundle(model, task_wanted="text")
    item = Conversion(word, source_tense, "", target_tense)
    print(convert_words(bundle.model, [item], bundle.meta["max_length"])[0])
    return 0


def generate(model: str | Path, count: int, seed: int) -> int:
    from cvae_study.study.bundle.bundle import load_bundle
    from cvae_study.study.tasks.text import generate_words

    if count < 1:
        raise UsageError(f"-n {count}: must be at least 1")
    bundle = load_bundle(model, task_wanted="text")
    for row in generate_words(bundle.model, count, seed, bundle.meta["max_length"],
                              bundle.config.eval.beam):
        print(" / ".join(row))
    return 0


def predict(model: str | Path, clip: str | Path, start: int, out: Path) -> Path:
    from cvae_study.study.bundle.predict import predict_clip, write_prediction

    truth, predicted, scores = predict_clip(model, clip, start)
    written = write_prediction(out, truth, predicted)
    print(f"{written}: predicted frames at PSNR {scores[n.VAL_PSNR]:.2f} dB, copying the last "
          f"frame {scores[n.VAL_PSNR_COPY_LAST]:.2f} dB")
    return written


def _warn_if_served_beyond(host: str, what: str) -> None:
    if host not in serving.LOOPBACK:
        print(f"warning: --host {host} serves {what} to your network, with no "
              "authentication", file=sys.stderr)


def ui(where: Workspace, host: str, port: int) -> int:
    from cvae_study.study.tracking import ui

    uri = where.tracking_uri
    _warn_if_served_beyond(host, "the MLflow store")
    serving.stop_on_signals()
    server = ui.start(uri, host, port)
    base = f"http://{host}:{port}"
    try:
        studies = ui.study_links(uri, base)
    except BaseException:  # the server is in its own session: it would outlive us
        serving.stop(server)
        raise
    print(f"MLflow UI: {base}  (store {uri}; Ctrl-C stops it)")
    for name, links in studies.items():
        print(f"  study {name}, trials by {links.objective}: {links.trials}")
        print(f"  study {name}, {links.objective} per epoch: {links.chart}")
    return serving.serve(server, "the MLflow UI")


def dashboard(name: str, where: Workspace, storage: str | None, host: str, port: int) -> int:
    """optuna-dashboard over study `name`'s Optuna journal, until Ctrl-C."""
    from cvae_study.study import dashboard
    from cvae_study.study.tune import ablate as ablations
    from cvae_study.study.tune import sweep as sweeps

    command = dashboard.script()  # a missing extra is named before anything is read
    store = _results_store(where, storage)
    if ablations.is_ablation(name, store):
        raise dashboard.DashboardError(f"{name!r} is an ablation, a grid with no search; "
                                       "the dashboard shows the search of a study")
    saved = sweeps.load(name, store, None)  # an unknown name lists the studies there are
    journal = dashboard.check_journal(name, saved.journal)
    _warn_if_served_beyond(host, f"study {name}'s search (which the dashboard can edit)")
    serving.stop_on_signals()
    server = dashboard.start(command, journal, host, port)
    print(f"Optuna dashboard: http://{host}:{port}/dashboard  (study {name}, journal "
          f"{journal}; Ctrl-C stops it)")
    return serving.serve(server, "the Optuna dashboard")


def show_config(task: str) -> int:
    print(config.describe(task))
    return 0


def data(kind: str, out: Path, sequences: int, seed: int) -> int:
    from cvae_study.datasets import synthetic

    if out.exists():
        raise UsageError(f"--out {out}: already exists; choose a new folder")
    if sequences < 1:
        raise UsageError(f"--sequences {sequences}: must be at least 1")
    synthetic.write(kind, out, sequences, seed)
    print(f"wrote {kind} data ({sequences} training sequences) to {out}")
    return 0
