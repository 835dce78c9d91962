"""The best trial of a study -> a model bundle someone can take away; loading a bundle.

A bundle is a folder of model.safetensors, config.json (task, full flat config, the
vocabulary and tense names), metrics.json and a model card README.md. Loading reads
safetensors and JSON only: nothing is unpickled, so a bundle can never run code.
"""

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import torch
from mlflow import MlflowClient
from safetensors.torch import load_file, save_file

from cvae_study.analysis.runs import load_json_artifact
from cvae_study.datasets import tense
from cvae_study.models.text_cvae import TextCVAE
from cvae_study.study import checkpoint, config
from cvae_study.study.metrics import OBJECTIVES
from cvae_study.study.storage import StudyStorage
from cvae_study.study.study_records import PARENT, ROLE, TRIAL_ID
from cvae_study.study.tasks.text import generate_words, load_data, sequence_length
from cvae_study.study.tracking import check_reachable

MODEL_FILE, CONFIG_FILE, METRICS_FILE, CARD_FILE = (
    "model.safetensors", "config.json", "metrics.json", "README.md")
BUNDLE_FILES = (MODEL_FILE, CONFIG_FILE, METRICS_FILE, CARD_FILE)
TASKS = ("text",)


class ExportError(ValueError):
    """The study, trial, metric or output folder cannot be exported as asked."""


class BundleError(ValueError):
    """A bundle is incomplete or does not fit its config; the message names the file."""


@dataclass
class Bundle:
    task: str
    config: Any  # the task's frozen config
    model: torch.nn.Module
    meta: dict[str, Any]  # config.json as written


# ---- choosing the trial ---------------------------------------------------------------------


def pick_trial(client: MlflowClient, name: str, metric: str | None, trial_id: str | None):
    """-> (parent run, trial run): the named trial, or the best completed one by `metric`
    (default: the study's objective)."""
    experiment = client.get_experiment_by_name(name)
    parents = (client.search_runs([experiment.experiment_id], f"tags.`{ROLE}` = 'parent'")
               if experiment else [])
    if not parents:
        raise ExportError(f"no study {name!r} at {client.tracking_uri}")
    parent = parents[0]
    query = f"tags.`{PARENT}` = '{parent.info.run_id}'"
    if trial_id:
        found = client.search_runs([experiment.experiment_id],
                                   f"{query} and tags.`{TRIAL_ID}` = '{trial_id}'")
        if not found:
            raise ExportError(f"study {name!r} has no trial {trial_id!r}")
        return parent, found[0]
    task = parent.data.params["study.task"]
    metric = metric or parent.data.params["study.metric"]
    if metric not in OBJECTIVES[task]:
        raise ExportError(f"--metric {metric!r}: choose one of {', '.join(OBJECTIVES[task])}")
    mode = OBJECTIVES[task][metric][0]
    completed = [run for run in client.search_runs([experiment.experiment_id],
                                                   f"{query} and tags.outcome = 'completed'")
                 if metric in run.data.metrics]
    if not completed:
        raise ExportError(f"study {name!r} has no completed trial yet")
    sign = 1 if mode == "max" else -1
    return parent, max(completed, key=lambda run: sign * run.data.metrics[metric])


def _fetch_checkpoint(parent, run, folder: Path) -> Path:
    """Copy the trial's last checkpoint from the study's storage into `folder`."""
    where = run.data.tags.get("ray.checkpoint")
    if not where:
        raise ExportError(f"trial {run.data.tags.get(TRIAL_ID)} has no checkpoint recorded")
    storage = StudyStorage(parent.data.tags.get("study.storage", "/"))
    pafs.copy_files(where, str(folder), source_filesystem=storage.filesystem,
                    destination_filesystem=pafs.LocalFileSystem())
    return folder


# ---- writing a bundle -----------------------------------------------------------------------


def _model_card(meta: dict, metrics: dict, samples: list[tuple]) -> str:
    shown = [k for k in sorted(metrics) if k.startswith("val/") and "kl_dim" not in k]
    searched = meta["source"]["searched"]
    lines = [
        f"# {meta['task']} CVAE from study {meta['source']['study']}",
        "",
        f"Trial {meta['source']['trial_id']} (MLflow run {meta['source']['run_id']}), "
        f"trained for {meta['config']['train.epochs']} epochs on the "
        f"{meta['config']['data.source']} verb table "
        "(sp, tp, pg, p forms; verbs held out by a seeded split).",
        "", "## Metrics (last epoch)", "", "| metric | value |", "|---|---|",
        *[f"| {key} | {metrics[key]:.4f} |" for key in shown],
        "", "## Hyperparameters searched", "", "| key | value |", "|---|---|",
        *[f"| {key} | {value} |" for key, value in searched.items()],
        "", "The full configuration is in config.json.", "",
        "## Samples: four tenses from one z ~ N(0, I)", "",
        *[f"- {' / '.join(row)}" for row in samples],
        "", "## Use it", "", "```",
        "cvae-study convert --model THIS_FOLDER walk --from sp --to p",
        "cvae-study generate --model THIS_FOLDER -n 5 --seed 0",
        "```", "",
        "In Python: `cvae_study.study.export.load_bundle(folder)` -> task, config and model "
        "(safetensors and JSON only; nothing is unpickled).", "",
    ]
    return "\n".join(lines)


def export(uri: str, name: str, out: Path, metric: str | None = None,
           trial_id: str | None = None, force: bool = False,
           register: str | None = None) -> dict[str, Any]:
    check_reachable(uri)
    if out.exists() and not force:
        raise ExportError(f"--out {out}: exists; pass --force to replace it")
    client = MlflowClient(uri)
    parent, run = pick_trial(client, name, metric, trial_id)
    task = parent.data.params["study.task"]
    with tempfile.TemporaryDirectory() as folder:
        saved = checkpoint.load(_fetch_checkpoint(parent, run, Path(folder)))
    cfg = config.from_flat(task, saved["config"])
    model = TextCVAE(cfg.model, tense.VOCAB_SIZE, len(tense.TENSES))
    model.load_state_dict(saved["state"]["model"])
    max_len = sequence_length(load_data(cfg.data).train)
    space = load_json_artifact(client, parent.info.run_id, "study/space.json") or {}
    searched = {key: run.data.params.get(key) for key in space.get("searched", {})}
    meta = {"task": task, "config": config.flatten(cfg),
            "vocabulary": list(tense.VOCABULARY),
            "tenses": list(tense.TENSES), "tense_names": tense.TENSE_LONG_NAMES,
            "max_length": max_len,
            "source": {"study": name, "trial_id": run.data.tags[TRIAL_ID],
                       "run_id": run.info.run_id, "tracking_uri": uri, "searched": searched}}
    metrics = dict(run.data.metrics)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out / MODEL_FILE)
    (out / CONFIG_FILE).write_text(json.dumps(meta, indent=2))
    (out / METRICS_FILE).write_text(json.dumps(metrics, indent=2))
    samples = generate_words(model, 5, seed=0, max_len=max_len)
    (out / CARD_FILE).write_text(_model_card(meta, metrics, samples))
    result = {"bundle": str(out), "trial_id": meta["source"]["trial_id"],
              "run_id": run.info.run_id}
    if register:
        result["registered"] = _register(client, run.info.run_id, out, register)
    return result


def _register(client: MlflowClient, run_id: str, bundle: Path, model_name: str) -> str:
    """Log the bundle to the trial's run and register it as a version of `model_name`."""
    client.log_artifacts(run_id, str(bundle), artifact_path="bundle")
    if client.search_registered_models(f"name = '{model_name}'") == []:
        client.create_registered_model(model_name)
    source = f"{client.get_run(run_id).info.artifact_uri}/bundle"
    return str(client.create_model_version(model_name, source, run_id=run_id).version)


# ---- loading a bundle -----------------------------------------------------------------------


def load_bundle(folder: str | Path) -> Bundle:
    """A bundle folder -> task, config and model; BundleError naming the file at fault."""
    folder = Path(folder)
    for name in BUNDLE_FILES:
        if not (folder / name).is_file():
            raise BundleError(f"{folder / name}: missing from the bundle")
    try:
        meta = json.loads((folder / CONFIG_FILE).read_text())
        task = meta["task"]
        flat = meta["config"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise BundleError(f"{folder / CONFIG_FILE}: not a bundle config ({error})") from None
    if task not in TASKS:
        raise BundleError(f"{folder / CONFIG_FILE}: unknown task {task!r}; tasks: "
                          f"{', '.join(TASKS)}")
    try:
        cfg = config.from_flat(task, flat)
    except config.ConfigError as error:
        raise BundleError(f"{folder / CONFIG_FILE}: {error}") from None
    model = TextCVAE(cfg.model, tense.VOCAB_SIZE, len(tense.TENSES))
    try:
        model.load_state_dict(load_file(folder / MODEL_FILE))
    except Exception as error:  # safetensors' header errors and torch's shape mismatches
        first = str(error).strip().splitlines()[0:3]
        raise BundleError(f"{folder / MODEL_FILE}: does not fit {CONFIG_FILE}: "
                          f"{' '.join(first)}") from None
    model.eval()
    return Bundle(task, cfg, model, meta)
