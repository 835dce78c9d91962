"""Every name that crosses a module or a process: metrics, outcomes, tags, filters, files.

Imports nothing, so anything may import it (the report, a GPU machine with torch only).
"""

# ---- metrics: split/name, logged per epoch --------------------------------------------------

TRAIN_LOSS = "train/loss"
TRAIN_RECON = "train/recon"
TRAIN_KL = "train/kl"
TRAIN_KL_WEIGHT = "train/kl_weight"
TRAIN_TF_RATIO = "train/tf_ratio"
TRAIN_LR = "train/lr"

VAL_BLEU4 = "val/bleu4"  # heldout verbs, never trained on
VAL_BLEU4_SEEN = "val/bleu4_seen"  # the lab's protocol: training verbs
VAL_GAUSSIAN = "val/gaussian"
VAL_MORPH = "val/morph"
VAL_SCORE = "val/score"  # the text sweep objective: mean of VAL_BLEU4 and VAL_GAUSSIAN
VAL_ELBO = "val/elbo"
VAL_KL = "val/kl"
VAL_ACTIVE_UNITS = "val/active_units"
VAL_PSNR = "val/psnr"  # mean over the predicted frames; the video sweep objective
VAL_PSNR_COPY_LAST = "val/psnr_copy_last"  # the baseline: every future frame = the last seen
# The same clips predicted with the conditions of other clips: how much the condition matters.
VAL_PSNR_OTHER_CONDITION = "val/psnr_other_condition"
EPOCH_SECONDS = "time/epoch_s"
# What a trial held (Ray's resources x its wall time), and a study's totals on its parent run
CPU_SECONDS, GPU_SECONDS = "cost/cpu_seconds", "cost/gpu_seconds"
CPU_HOURS, GPU_HOURS = "cost/cpu_hours", "cost/gpu_hours"
EPOCHS_RUN = "cost/epochs_run"  # epochs the study's trials trained
EPOCHS_SAVED = "cost/epochs_saved"  # epochs early stopping spared: stopped trials x epochs left

KL_DIM_PREFIX = "val/kl_dim"
PSNR_AT_PREFIX = "val/psnr_t"


def val_psnr_at(k: int) -> str:
    """Name of the PSNR of the k-th predicted frame."""
    return f"{PSNR_AT_PREFIX}{k}"


def val_kl_dim(j: int) -> str:
    """KL of latent dimension j, to see which dimensions collapsed."""
    return f"{KL_DIM_PREFIX}{j:02d}"


def is_kl_dim(metric: str) -> bool:
    """One of the per-dimension KL metrics: many, so summaries and reports leave them out."""
    return metric.startswith(KL_DIM_PREFIX)


# Metrics a sweep may optimise, per task, with their direction and the score of a trial
# that diverged: the worst the metric can be, so a search ranks it last.
OBJECTIVES: dict[str, dict[str, tuple[str, float]]] = {
    "text": {name: ("max", 0.0) for name in
             (VAL_SCORE, VAL_BLEU4, VAL_BLEU4_SEEN, VAL_GAUSSIAN, VAL_MORPH)},
    "video": {VAL_PSNR: ("max", 0.0)},
}
DEFAULT_OBJECTIVE = {"text": VAL_SCORE, "video": VAL_PSNR}
SEARCHES = ("tpe", "random", "nsga2")  # a study's samplers (tune.search.make_sampler)
OBJECTIVE_SEPARATOR = ","  # a multi-objective study's metric: "val/bleu4,val/gaussian"


def objectives_of(metric: str) -> tuple[str, ...]:
    """A study's metric (study.metric) -> its objectives: one, or several for a trade-off."""
    return tuple(name.strip() for name in metric.split(OBJECTIVE_SEPARATOR))


def metric_of(objectives) -> str:
    """A study's objectives -> its metric as recorded (the MLflow param study.metric, the
    trainable's argument): objectives_of's inverse."""
    return OBJECTIVE_SEPARATOR.join(objectives)


def modes_of(task: str, objectives) -> tuple[str, ...]:
    """Each objective's direction, max or min."""
    return tuple(OBJECTIVES[task][objective][0] for objective in objectives)


TASKS = tuple(OBJECTIVES)
DEFAULT_TRIALS = 8  # a study's trials when --num-samples is not given

# ---- config keys and data sets more than one module names ---------------------------------

KL_SCHEDULE = "kl.schedule"  # its value decides whether kl.cycles and kl.ratio mean anything
TEXT_SOURCES = ("lemminflect", "lab")  # data.source of the text task
PUSHING, DANCE = "pushing", "dance"
# data.kind of the video task; datasets.video.KINDS says the same for the loaders, which
# import nothing of study
VIDEO_KINDS = (PUSHING, DANCE)
DATA_CHOICES = {"text": TEXT_SOURCES, "video": VIDEO_KINDS}  # --data, per task

# ---- how a run or a trial ended ---------------------------------------------------------------

RUNNING = "running"
COMPLETED = "completed"  # its last epoch
STOPPED_EARLY = "stopped_early"  # by the scheduler (ASHA)
DIVERGED = "diverged"  # the loss became NaN or infinite
ERRORED = "errored"  # an exception, or the worker died more often than retried
INTERRUPTED = "interrupted"  # Ctrl-C of `train`
ABANDONED = "abandoned"  # started after a killed driver's last snapshot; not resumed
FINISHED_OUTCOMES = (COMPLETED, STOPPED_EARLY)  # ended with a score

# What Optuna is told of each (optuna.trial.TrialState member names): a stopped trial's
# last score is not final, so it is PRUNED; a diverged one COMPLETE at the worst score.
OPTUNA_STATE = {COMPLETED: "COMPLETE", DIVERGED: "COMPLETE", STOPPED_EARLY: "PRUNED",
                ERRORED: "FAIL"}
MLFLOW_STATUS = {COMPLETED: "FINISHED", STOPPED_EARLY: "FINISHED", DIVERGED: "FAILED",
                 ERRORED: "FAILED", INTERRUPTED: "KILLED", ABANDONED: "KILLED"}

# ---- what a trial reports to Tune besides the task's metrics ----------------------------------

OUTCOME = "outcome"  # also the MLflow tag of every run
MESSAGE = "message"  # why a trial diverged
RUNG_EPOCH = "rung_epoch"  # the early-stopping clock: see models.schedules.comparison_epochs
DEVICE = "device"
THREADS = "torch_threads"  # the CPUs Ray gave the trial
GPU_IDS = "gpu_ids"  # the GPUs Ray gave the trial, e.g. "0" ("" for none)
NODE_ID = "node_id"  # Ray's id of the node: distinct even for nodes on one host
WORKER = "worker_id"  # Ray's id of the actor that ran the trial: one lane of the timeline
SAMPLES = "samples_json"  # a JSON string: Tune's loggers take strings, not nested lists
RESTORED_FROM = "restored_from_epoch"  # 0 for a fresh start
TRIAL_INFO = (DEVICE, THREADS, GPU_IDS, NODE_ID, WORKER, RESTORED_FROM)  # logged as run tags

# A task's samples()[IMAGES]: {file name: base64 PNG}, logged as image artifacts.
IMAGES = "images"

# ---- MLflow tags, params and filters --------------------------------------------------------

ROLE = "study.role"
PARENT_ROLE, TRIAL_ROLE = "parent", "trial"
TRIAL_ID = "ray.trial_id"
PARENT_RUN = "mlflow.parentRunId"
TASK = "task"
STUDY_PREFIX = "study."  # the study's options as params and its summary as tags
COMMAND = "study.command"
STORAGE = "study.storage"
GIT_COMMIT = "study.git_commit"
VERSIONS = "study.versions"
# MLflow's own provenance tags, which its run page shows (mlflow.utils.mlflow_tags)
MLFLOW_GIT_COMMIT = "mlflow.source.git.commit"
MLFLOW_SOURCE_NAME = "mlflow.source.name"
MLFLOW_SOURCE_TYPE = "mlflow.source.type"
MLFLOW_USER = "mlflow.user"
HOST_NAME, HOST_ADDRESS = "host.name", "host.address"
CHECKPOINT = "ray.checkpoint"
TRIAL_PATH = "ray.trial_path"
ERROR_FILE = "ray.error_file"
FAILURES = "ray.failures"
ABLATION_ROLE, ABLATION_RUN_ROLE = "ablation", "ablation_run"
ABLATION_OF = "ablation.of"  # of an ablation's parent run: the study's parent run id
VARIANT = "ablation.variant"  # of an ablation's runs (and the key of its Tune grid)
SEED = "ablation.seed"
GRID = "ablation.grid"  # the Tune run (one per path step) that made an ablation's run
# A finish's parent run (tagged finish.of: the study's parent run id) and its runs, which
# carry the grid's tags (VARIANT: the finalist's trial id; SEED) as an ablation's do
FINISH_ROLE, FINISH_RUN_ROLE = "finish", "finish_run"
FINISH_OF = "finish.of"
PARENT_FILTER = f"tags.`{ROLE}` = '{PARENT_ROLE}'"
TRIAL_FILTER = f"tags.`{ROLE}` = '{TRIAL_ROLE}'"
ABLATION_FILTER = f"tags.`{ROLE}` = '{ABLATION_ROLE}'"
ABLATION_RUN_FILTER = f"tags.`{ROLE}` = '{ABLATION_RUN_ROLE}'"
FINISH_FILTER = f"tags.`{ROLE}` = '{FINISH_ROLE}'"


def children_filter(parent_run_id: str) -> str:
    """MLflow's filter for the runs nested under a parent run."""
    return f"tags.`{PARENT_RUN}` = '{parent_run_id}'"


# ---- files ------------------------------------------------------------------------------------

MODEL_FILE = "model.safetensors"  # checkpoints and bundles
CONFIG_FILE = "config.json"
OPTIMIZER_FILE = "optimizer.safetensors"
STATE_FILE = "state.json"
METRICS_FILE = "metrics.json"
CARD_FILE = "README.md"
SAMPLES_FILE = "samples.png"  # video bundles: the trial's last prediction strip
# The saved study: a run's state in its Ray results, what `resume` rebuilds it from (not the
# user's study file, the YAML of `sweep --study FILE`)
SAVED_STUDY_FILE = "cvae_study.json"
# The saved study's "kind" (a study's record has none)
STUDY_KIND, ABLATION_KIND, FINISH_KIND = "study", "ablation", "finish"
# The study's Optuna trials as told (Optuna's JournalStorage): beside SAVED_STUDY_FILE, or in
# the workdir for a study on remote storage; SAVED_STUDY_FILE records where.
OPTUNA_JOURNAL = "optuna-journal.log"
SPACE_ARTIFACT = "study/space.json"  # of the parent run: the searched space
# Of a multi-objective study's parent run: its final Pareto set, {"objectives", "modes",
# "trials": [{"trial_id", "values": {objective: value}}]}; its trial ids also in the tag
# study.pareto_trials (comma-separated)
PARETO_ARTIFACT = "study/pareto.json"
PARETO_TAG = "study.pareto_trials"
FINAL_METRICS_ARTIFACT = "results/final_metrics.json"  # of a `train` run
ABLATION_PLAN = "ablation/plan.json"  # of an ablation's parent run: its variants and path
FINISH_PLAN = "finish/plan.json"  # of a finish's parent run: its finalists and seeds


def samples_artifact(epoch: int) -> str:
    return f"samples/epoch_{epoch:03d}.json"
