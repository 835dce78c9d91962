"""How a study chooses and stops trials: Optuna (TPE or random) and ASHA.

Ray's OptunaSearch tells Optuna every trial that ends without an error as COMPLETE, so a
trial ASHA stopped after one epoch would count as if its one-epoch score were final.
StudySearch tells Optuna what happened: stopped trials are PRUNED (Optuna keeps their
per-epoch values), diverged trials COMPLETE at the metric's worst value, errored ones FAIL.
Each epoch's value is told once: the first time it is reported.

A study of several objectives (metric and mode lists, as Ray's OptunaSearch takes them)
tells Optuna each finished trial's final values; Optuna keeps no per-epoch values of a
multi-objective trial, so a stopped one is PRUNED without them.
"""

import warnings

import optuna
from optuna.trial import TrialState
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.optuna import OptunaSearch

from cvae_study.study import names as n
from cvae_study.study.tune.mo_asha import MultiObjectiveASHA
from cvae_study.study.tune.trainable import trial_outcome

# ASHA keeps the best 1 / REDUCTION_FACTOR of the trials at each rung: rungs at epochs 1, 3,
# 9, ... (the best trials are in the top third after one epoch:
# benchmarks/README.md#code-asha-top-third).
REDUCTION_FACTOR = 3


class StudySearch(OptunaSearch):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._last_step: dict[str, int] = {}  # trial id -> last epoch told to Optuna

    def _setup_study(self, mode: str | list[str]) -> None:
        """Ray creates (or loads) the Optuna study here; its values are named after the
        study's objectives, so optuna-dashboard shows val/score, not "Objective 0"."""
        super()._setup_study(mode)
        metrics = self.metric if isinstance(self.metric, list) else [self.metric]
        with warnings.catch_warnings():  # Optuna calls it experimental: noise on the console
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._ot_study.set_metric_names(metrics)

    @property
    def optuna_study(self) -> optuna.Study:
        return self._ot_study

    def suggest(self, trial_id: str) -> dict | None:
        config = super().suggest(trial_id)
        if trial_id in self._ot_trials:  # named as MLflow tags the trial's run, so a
            # trial on the dashboard is found there
            self._ot_trials[trial_id].set_user_attr(n.TRIAL_ID, trial_id)
        return config

    @property
    def multi_objective(self) -> bool:
        return isinstance(self.metric, list)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if self.multi_objective:
            return
        step = result["training_iteration"]
        # A diverged trial's last result is its worst score, told by on_trial_complete. An
        # epoch reported again (a trial restored from its checkpoint) keeps its first value.
        if (self.metric in result and trial_id not in self._completed_trials
                and step > self._last_step.get(trial_id, 0)):
            super().on_trial_result(trial_id, result)
            self._last_step[trial_id] = step

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        if trial_id in self._completed_trials:
            return
        outcome = trial_outcome(result, error)
        trial = self._ot_trials[trial_id]
        step = (result or {}).get("training_iteration", 0)
        if (not self.multi_objective and outcome in n.FINISHED_OUTCOMES
                and step > self._last_step.get(trial_id, 0)):
            # Tune hands the result that ended a trial to on_trial_complete only; record it
            # as that epoch's value too. A PRUNED trial's value is its last such value.
            trial.report(result[self.metric], step)
        state = TrialState[n.OPTUNA_STATE[outcome]]
        value = None
        if state == TrialState.COMPLETE:
            value = ([result.get(metric) for metric in self.metric] if self.multi_objective
                     else result.get(self.metric))
        self._ot_study.tell(trial, value, state=state)
        self._completed_trials.add(trial_id)

    def restore(self, checkpoint_path: str) -> None:
        super().restore(checkpoint_path)
        self._catch_up()

    def _catch_up(self) -> None:
        """A stored Optuna study (a journal) is ahead of the snapshot Tune restores this
        searcher from when the driver died after that snapshot. What it told since stays
        as told, once: a trial Tune runs again is not told again. A trial it asked for that
        the snapshot does not know is abandoned (Tune starts another): FAIL, or the sampler
        would count it as running forever."""
        trial_ids = {trial.number: trial_id for trial_id, trial in self._ot_trials.items()}
        for trial in self._ot_study.get_trials(deepcopy=False):
            trial_id = trial_ids.get(trial.number)
            if trial_id is None:
                if trial.state == TrialState.RUNNING:
                    self._ot_study.tell(trial.number, state=TrialState.FAIL)
            elif trial.state.is_finished():
                self._completed_trials.add(trial_id)
            elif trial.intermediate_values:
                self._last_step[trial_id] = max(trial.intermediate_values)


def make_sampler(search: str, seed: int, num_samples: int,
                 startup: int | None = None) -> optuna.samplers.BaseSampler:
    """TPE (seeded; Optuna 5's default multivariate TPE with constant liar, in its
    multi-objective form for several objectives), random, or NSGA-II.

    TPE samples at random for its first n_startup_trials (Optuna's default 10, which would
    make a 12-trial study pure random search), so small studies start modelling sooner.
    NSGA-II's first generation is random too (Optuna's default 50 trials): a third of the
    study, so it breeds at least two generations more."""
    if search == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if search == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed,
                                             population_size=min(50, max(2, num_samples // 3)))
    startup = startup or min(10, max(2, num_samples // 3))
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup)


def make_searcher(space_function, metric: str | list[str], mode: str | list[str], seed: int,
                  num_samples: int, search: str = "tpe", startup: int | None = None,
                  storage: optuna.storages.BaseStorage | None = None,
                  study_name: str | None = None) -> StudySearch:
    """make_sampler's search over a define-by-run space, of one objective or a list of
    them; its Optuna study `study_name` in `storage` (None: in memory)."""
    return StudySearch(space=space_function, metric=metric, mode=mode,
                       sampler=make_sampler(search, seed, num_samples, startup),
                       storage=storage, study_name=study_name)


def make_scheduler(metric: str | list[str], mode: str | list[str], epochs: int,
                   brackets: int = 1, reduction_factor: float = REDUCTION_FACTOR):
    """ASHA on the comparison clock RUNG_EPOCH: for a cyclical schedule it advances only at
    the end of a KL cycle, so a trial is only ever ranked on an end-of-cycle score.
    brackets > 1: asynchronous Hyperband (each trial in one of `brackets` ASHA brackets,
    bracket s with its first rung s rungs later).

    The first rung is after one epoch: one-epoch text scores already rank trials much as
    their last epoch does, well above their seed noise
    (benchmarks/README.md#code-asha-first-rung).

    stop_last_trials=False: with Ray's default a trial is also ranked, on its next result, at
    every rung its clock jumped past (a cycle ending at epoch 3 skips the rung at 1), so a
    cyclical trial would be ranked on a mid-cycle score after all. Each trial ends itself at
    max_t, so nothing else changes."""
    if isinstance(metric, list):  # several objectives: one bracket, ranked by fronts
        return MultiObjectiveASHA(metric, mode, max_t=epochs, grace_period=1,
                                  reduction_factor=reduction_factor, time_attr=n.RUNG_EPOCH)
    return ASHAScheduler(time_attr=n.RUNG_EPOCH, metric=metric, mode=mode, max_t=epochs,
                         grace_period=1, reduction_factor=reduction_factor, brackets=brackets,
                         stop_last_trials=False)
