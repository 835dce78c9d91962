"""The best trial of a study -> a model bundle someone can take away (see study/bundle.py).
"""

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
from mlflow import MlflowClient
from safetensors.torch import save_file

from cvae_study.analysis.runs import load_json_artifact
from cvae_study.datasets import tense, video
from cvae_study.study import checkpoint, config
from cvae_study.study.bundle import (
    CARD_FILE,
    CONFIG_FILE,
    METRICS_FILE,
    MODEL_FILE,
    SAMPLES_FILE,
    build_model,
)
from cvae_study.study.metrics import OBJECTIVES
from cvae_study.study.storage import StudyStorage
from cvae_study.study.study_records import PARENT, ROLE, TRIAL_ID
from cvae_study.study.tasks import text
from cvae_study.study.tracking import check_reachable


class ExportError(ValueError):
    """The study, trial, metric or output folder cannot be exported as asked."""


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


def _shape_meta(task: str, cfg: Any, counters: dict[str, Any]) -> dict[str, Any]:
    """config.json's task keys: what bundle.build_model needs, and names a user reads."""
    if task == "text":
        return {"vocabulary": list(tense.VOCABULARY), "tenses": list(tense.TENSES),
                "tense_names": tense.TENSE_LONG_NAMES,
                "max_length": text.sequence_length(text.load_data(cfg.data).train)}
    frame_size, condition_shape = video.geometry(cfg.data.kind)
    return {"preset": counters["preset"], "frame_size": list(frame_size),
            "condition_shape": list(condition_shape), "n_past": cfg.data.n_past,
            "n_future": cfg.data.future_frames}


def _copy_last_strip(client: MlflowClient, run_id: str, out: Path) -> bool:
    """The trial's last logged prediction strip -> out/samples.png; False if it has none."""
    strips = sorted(a.path for a in client.list_artifacts(run_id, "samples")
                    if a.path.endswith("_strip.png"))
    if not strips:
        return False
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(client.download_artifacts(run_id, strips[-1], folder), out / SAMPLES_FILE)
    return True


def _card_text_part(meta: dict, model) -> tuple[str, list[str]]:
    flat = meta["config"]
    trained_on = (f"the {flat['data.source']} verb table (sp, tp, pg, p forms; verbs held out "
                  "by a seeded split)")
    samples = text.generate_words(model, 5, seed=0, max_len=meta["max_length"])
    return trained_on, [
        "## Samples: four tenses from one z ~ N(0, I)", "",
        *[f"- {' / '.join(row)}" for row in samples],
        "", "## Use it", "", "```",
        "cvae-study convert --model THIS_FOLDER walk --from sp --to p",
        "cvae-study generate --model THIS_FOLDER -n 5 --seed 0", "```"]


def _card_video_part(meta: dict, has_strip: bool) -> tuple[str, list[str]]:
    flat = meta["config"]
    kind = flat["data.kind"]
    data = flat["data.dir"] or (f"synthetic {kind} data ({flat['data.sequences']} training "
                                f"sequences, seed {flat['data.seed']})")
    condition = "robot actions and end-effector positions" if kind == "pushing" else "pose images"
    trained_on = (f"{data}, {meta['preset']} preset: {meta['n_past']} observed frames, "
                  f"{meta['n_future']} predicted, conditioned on {condition}")
    clip = "A_BAIR_SEQUENCE_FOLDER" if kind == "pushing" else "A_DANCE_SPLIT_FOLDER"
    strip = (["## Samples: ground truth (top) over prediction, validation clips", "",
              f"![predictions]({SAMPLES_FILE})", ""] if has_strip else [])
    return trained_on, [
        *strip, "## Use it", "", "```",
        f"cvae-study predict --model THIS_FOLDER --clip {clip} --out prediction.gif", "```"]


def _model_card(meta: dict, metrics: dict, trained_on: str, rest: list[str]) -> str:
    shown = [k for k in sorted(metrics) if k.startswith("val/") and "kl_dim" not in k]
    searched = meta["source"]["searched"]
    lines = [
        f"# {meta['task']} CVAE from study {meta['source']['study']}",
        "",
        f"Trial {meta['source']['trial_id']} (MLflow run {meta['source']['run_id']}), "
        f"trained for {meta['config']['train.epochs']} epochs on {trained_on}.",
        "", "## Metrics (last epoch)", "", "| metric | value |", "|---|---|",
        *[f"| {key} | {metrics[key]:.4f} |" for key in shown],
        "", "## Hyperparameters searched", "", "| key | value |", "|---|---|",
        *[f"| {key} | {value} |" for key, value in searched.items()],
        "", "The full configuration is in config.json.", "", *rest, "",
        "In Python: `cvae_study.study.bundle.load_bundle(folder)` -> task, config and model "
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
    space = load_json_artifact(client, parent.info.run_id, "study/space.json") or {}
    searched = {key: run.data.params.get(key) for key in space.get("searched", {})}
    meta = {"task": task, "config": config.flatten(cfg),
            **_shape_meta(task, cfg, saved["state"]["counters"]),
            "source": {"study": name, "trial_id": run.data.tags[TRIAL_ID],
                       "run_id": run.info.run_id, "tracking_uri": uri, "searched": searched}}
    model = build_model(task, cfg, meta)
    model.load_state_dict(saved["state"]["model"])
    metrics = dict(run.data.metrics)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out / MODEL_FILE)
    (out / CONFIG_FILE).write_text(json.dumps(meta, indent=2))
    (out / METRICS_FILE).write_text(json.dumps(metrics, indent=2))
    parts = (_card_text_part(meta, model) if task == "text"
             else _card_video_part(meta, _copy_last_strip(client, run.info.run_id, out)))
    (out / CARD_FILE).write_text(_model_card(meta, metrics, *parts))
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
