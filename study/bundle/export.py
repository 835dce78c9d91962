"""The best trial of a study -> a model bundle someone can take away (see bundle.py); of a
study of several objectives, its Pareto front to choose a trial from."""

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
from mlflow import MlflowClient
from safetensors.torch import save_file

from cvae_study.datasets import tense, video
from cvae_study.study import config
from cvae_study.study import names as n
from cvae_study.study.bundle import pyfunc
from cvae_study.study.bundle.bundle import build_model
from cvae_study.study.bundle.card import card_text
from cvae_study.study.errors import UsageError
from cvae_study.study.name_checks import check_folder, check_name
from cvae_study.study.storage import ResultsStore
from cvae_study.study.tasks import checkpoint, text
from cvae_study.study.tracking.store import load_json_artifact, open_client
from cvae_study.study.tracking.trials import (
    best_finished,
    best_variant,
    front_of,
    front_place,
    pick_trial,
    recorded_front,
    study_objectives,
)

MODEL_ARTIFACT = "model"  # of the trial's run: the registered pyfunc model


class ExportError(UsageError):
    """The study, trial, metric or output folder cannot be exported as asked."""


def _fetch_checkpoint(parent, run, folder: Path) -> Path:
    """Copy the trial's last checkpoint from the study's storage into `folder`."""
    where = run.data.tags.get(n.CHECKPOINT)
    if not where:
        raise ExportError(f"trial {run.data.tags.get(n.TRIAL_ID)} has no checkpoint recorded")
    storage = ResultsStore(parent.data.tags.get(n.STORAGE, "/"))
    pafs.copy_files(where, str(folder), source_filesystem=storage.filesystem,
                    destination_filesystem=pafs.LocalFileSystem())
    return folder


def front_listing(uri: str, name: str) -> dict[str, Any]:
    """`export NAME --pareto`: the front study `name` recorded, best first by its first
    objective, and how to export one of its trials."""
    front = recorded_front(open_client(uri), name)
    first = front["objectives"][0]
    trials = sorted(front["trials"], key=lambda trial: trial["values"][first],
                    reverse=front["modes"][0] == "max")
    return {"study": name, "objectives": front["objectives"], "modes": front["modes"],
            "trials": trials, "export": f"cvae-study export {name} --trial ID --out DIR"}


def _front_place(client: MlflowClient, parent, run) -> dict[str, Any] | None:
    """Where the trial lies on its study's recorded front: None for a study of one
    objective, or before the study has recorded its front."""
    if len(study_objectives(parent)) == 1:
        return None
    front = front_of(client, parent)
    return front and front_place(front, run.data.tags[n.TRIAL_ID], run.data.metrics)


def _chosen_by(client: MlflowClient, parent, task: str, metric: str | None) -> dict[str, Any]:
    """A mean over seeds beats one lucky trial: the best finalist of the study's finish
    ({"run", "finish"}), else the best variant of its ablation ({"run", "ablation"}), else
    nothing (the search's best trial stands)."""
    objective = metric or parent.data.params[f"{n.STUDY_PREFIX}metric"]
    mode = n.OBJECTIVES[task][objective][0]
    for key, best in (("finish", best_finished), ("ablation", best_variant)):
        found = best(client, parent, objective, mode)
        if found is not None:
            return {"run": found[0], key: found[1]}
    return {}


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


def export(uri: str, name: str, out: Path, metric: str | None = None,
           trial_id: str | None = None, force: bool = False,
           register: str | None = None) -> dict[str, Any]:
    check_folder(out, "--out")
    if register:
        check_name(register, "--register")
    if out.exists() and not force:
        raise ExportError(f"--out {out}: exists; pass --force to replace it")
    client = open_client(uri)
    parent, run = pick_trial(client, name, metric, trial_id)
    task = parent.data.params[f"{n.STUDY_PREFIX}task"]
    if register and task != "text":
        raise ExportError(f"--register {register}: only text models are served through "
                          "MLflow; a video model stays a bundle (`cvae-study predict` runs it)")
    chosen_by = _chosen_by(client, parent, task, metric) if trial_id is None else {}
    run = chosen_by.pop("run", run)
    with tempfile.TemporaryDirectory() as folder:
        saved = checkpoint.load(_fetch_checkpoint(parent, run, Path(folder)))
    cfg = config.build(task, saved["config"])
    space = load_json_artifact(client, parent.info.run_id, n.SPACE_ARTIFACT) or {}
    searched = {key: run.data.params.get(key) for key in space.get("searched", {})}
    place = _front_place(client, parent, run)
    meta = {"task": task, "config": config.flatten(cfg),
            **_shape_meta(task, cfg, saved["state"]["counters"]),
            "source": {"study": name, "trial_id": run.data.tags[n.TRIAL_ID],
                       "run_id": run.info.run_id, "tracking_uri": uri, "searched": searched,
                       **chosen_by,
                       **({"pareto": place} if place else {})}}
    model = build_model(task, cfg, meta)
    model.load_state_dict(saved["state"]["model"])
    metrics = dict(run.data.metrics)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out / n.MODEL_FILE)
    (out / n.CONFIG_FILE).write_text(json.dumps(meta, indent=2))
    (out / n.METRICS_FILE).write_text(json.dumps(metrics, indent=2))
    (out / n.CARD_FILE).write_text(card_text(meta, metrics, model, client, run.info.run_id, out))
    result = {"bundle": str(out), "trial_id": meta["source"]["trial_id"],
              "run_id": run.info.run_id}
    if register:
        result["registered"] = _register(client, run.info.run_id, out, register)
    return result


def _register(client: MlflowClient, run_id: str, bundle: Path, model_name: str) -> str:
    """Log the bundle as a pyfunc model to the trial's run (artifact `model`) and register
    it as a version of `model_name`."""
    with tempfile.TemporaryDirectory() as folder:
        saved = Path(folder) / MODEL_ARTIFACT
        pyfunc.save(bundle, saved)
        client.log_artifacts(run_id, str(saved), artifact_path=MODEL_ARTIFACT)
    if client.search_registered_models(f"name = '{model_name}'") == []:
        client.create_registered_model(model_name)
    source = f"{client.get_run(run_id).info.artifact_uri}/{MODEL_ARTIFACT}"
    return str(client.create_model_version(model_name, source, run_id=run_id).version)
