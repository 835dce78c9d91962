"""A bundle's model card (README.md): what the model is, how it scored, how to use it."""

import shutil
import tempfile
from pathlib import Path

from mlflow import MlflowClient

from cvae_study.study import names as n
from cvae_study.study.tasks import text


def copy_last_strip(client: MlflowClient, run_id: str, out: Path) -> bool:
    """The trial's last logged prediction strip -> out/samples.png; False if it has none."""
    strips = sorted(a.path for a in client.list_artifacts(run_id, "samples")
                    if a.path.endswith("_strip.png"))
    if not strips:
        return False
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(client.download_artifacts(run_id, strips[-1], folder), out / n.SAMPLES_FILE)
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
    condition = "robot actions and end-effector positions" if kind == n.PUSHING else "pose images"
    trained_on = (f"{data}, {meta['preset']} preset: {meta['n_past']} observed frames, "
                  f"{meta['n_future']} predicted, conditioned on {condition}")
    clip = "A_BAIR_SEQUENCE_FOLDER" if kind == n.PUSHING else "A_DANCE_SPLIT_FOLDER"
    strip = (["## Samples: ground truth (top) over prediction, validation clips", "",
              f"![predictions]({n.SAMPLES_FILE})", ""] if has_strip else [])
    return trained_on, [
        *strip, "## Use it", "", "```",
        f"cvae-study predict --model THIS_FOLDER --clip {clip} --out prediction.gif", "```"]


def _interval_text(summary: dict) -> str:
    """A mean's interval over seeds, as a grid's summary (tracking.trials) holds it."""
    low, high = summary["ci95"]
    return (f"95% CI {low:.4f} to {high:.4f}" if summary["repeats"] >= 2
            else "one seed: no interval")


def _ablation_lines(ablated: dict | None) -> list[str]:
    """Where an ablation chose the model: its variant's mean over seeds, not this run's."""
    if not ablated:
        return []
    interval = _interval_text(ablated)
    return ["", f"Chosen by the study's ablation (MLflow run {ablated['ablation_run']}): variant "
            f"*{ablated['variant']}*, the best mean {ablated['metric']} over its "
            f"{ablated['repeats']} seeds, {ablated['mean']:.4f} ({interval}). This bundle is "
            f"its seed {ablated['seed']} run, the one nearest that mean."]


def _finish_lines(finished: dict | None) -> list[str]:
    """Where a finish chose the model: its finalist's mean over fresh full-length seeds,
    beside the number the search gave it."""
    if not finished:
        return []
    interval = _interval_text(finished)
    return ["", f"Finished (MLflow run {finished['finish_run']}): trial "
            f"{finished['trial_id']} trained {finished['epochs']} epochs under "
            f"{finished['repeats']} fresh seeds ({', '.join(map(str, finished['seeds']))}): "
            f"mean {finished['metric']} {finished['mean']:.4f} ({interval}). The search scored "
            f"it {finished['search_value']:.4f} after {finished['search_epochs']} epochs on "
            f"seed {finished['search_seed']}, one run. This bundle is the seed "
            f"{finished['seed']} run, the median of the fresh seeds."]


def _search_trial_lines(source: dict, epochs: int) -> list[str]:
    """A model taken straight from the search: say what that means."""
    if source.get("finish") or source.get("ablation"):
        return []
    return ["", f"A search trial of {epochs} epochs on one seed: chosen because it scored "
            "best on that run, so its numbers are optimistic (the winner's curse). "
            f"`cvae-study finish {source['study']}` trains it at full length on fresh seeds; "
            "an export after that takes the finished model."]


def _values_text(values: dict[str, float]) -> str:
    return ", ".join(f"{objective} {value:.4f}" for objective, value in values.items())


def _neighbour_text(trial: dict, side: str) -> str:
    return f"{trial['trial_id']} ({_values_text(trial['values'])}) {side}"


def _where_on_front(place: dict) -> str:
    if place["on_front"]:
        return "on the front: no other trial of the front beats it on every objective"
    dominators = place["dominated_by"]
    if not dominators:  # e.g. stopped early: the front ranks the completed trials
        return ("not on the front, which ranks the study's completed trials, though none of "
                "the front's trials beats it on every objective")
    return (f"off the front, dominated by {len(dominators)} of its trials "
            f"({', '.join(dominators)}): each at least as good on every objective and better "
            "on one")


def _front_lines(place: dict | None, study: str) -> list[str]:
    """Where the trial lies on its study's Pareto front (tracking.trials.front_place)."""
    if not place:
        return []
    traded = " and ".join(f"{objective} ({mode})"
                          for objective, mode in zip(place["objectives"], place["modes"],
                                                     strict=True))
    neighbours = [_neighbour_text(place[side], side) for side in ("below", "above")
                  if place[side]]
    lines = ["", "## Place on the Pareto front", "",
             f"Study {study} traded off {traded}; the front it recorded when it ended holds "
             f"{place['size']} trial{'s' if place['size'] != 1 else ''}. This trial, "
             f"{_values_text(place['values'])}, is {_where_on_front(place)}."]
    if neighbours:
        lines += ["", f"Its neighbours on the front by {place['objectives'][0]}: "
                      f"{' and '.join(neighbours)}."]
    return lines


def model_card(meta: dict, metrics: dict, trained_on: str, rest: list[str]) -> str:
    shown = [k for k in sorted(metrics) if k.startswith("val/") and not n.is_kl_dim(k)]
    searched = meta["source"]["searched"]
    lines = [
        f"# {meta['task']} CVAE from study {meta['source']['study']}",
        "",
        f"Trial {meta['source']['trial_id']} (MLflow run {meta['source']['run_id']}), "
        f"trained for {meta['config']['train.epochs']} epochs on {trained_on}.",
        *_finish_lines(meta["source"].get("finish")),
        *_ablation_lines(meta["source"].get("ablation")),
        *_search_trial_lines(meta["source"], meta["config"]["train.epochs"]),
        *_front_lines(meta["source"].get("pareto"), meta["source"]["study"]),
        "", "## Metrics (last epoch)", "", "| metric | value |", "|---|---|",
        *[f"| {key} | {metrics[key]:.4f} |" for key in shown],
        "", "## Hyperparameters searched", "", "| key | value |", "|---|---|",
        *[f"| {key} | {value} |" for key, value in searched.items()],
        "", "The full configuration is in config.json.", "", *rest, "",
        "In Python: `cvae_study.study.bundle.bundle.load_bundle(folder)` -> task, config and "
        "model (safetensors and JSON only; nothing is unpickled).", "",
    ]
    return "\n".join(lines)


def card_text(meta: dict, metrics: dict, model, client: MlflowClient, run_id: str,
              out: Path) -> str:
    """The card of the bundle being written to `out` (a video card copies its strip there)."""
    parts = (_card_text_part(meta, model) if meta["task"] == "text"
             else _card_video_part(meta, copy_last_strip(client, run_id, out)))
    return model_card(meta, metrics, *parts)
