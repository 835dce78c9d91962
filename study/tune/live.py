"""The console's view of a running study, in place of Ray's tables: how far along it is,
what is running, the best so far, and when it will end.

On a terminal a few lines redrawn in place (rich); elsewhere (CI, a log file) a plain line
when a trial ends and every PLAIN_EVERY seconds. Errors are printed as they happen, above
the view. A Tune callback run by the driver; refreshed from Tune's own loop (on_step_end),
so there is no thread.
"""

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import optuna
from ray import tune
from ray.tune.experiment import Trial
from rich.console import Console
from rich.live import Live
from rich.text import Text

from cvae_study.study import names as n
from cvae_study.study.cost import FinishedTrial, study_cost, trial_cost
from cvae_study.study.pareto import pareto_ranking
from cvae_study.study.tune.trainable import trial_outcome

TERMINAL_EVERY = 1.0  # seconds between redraws on a terminal
PLAIN_EVERY = 30.0  # seconds between plain status lines
KNOBS_SHOWN = 4  # of the best trial's searched values
FRONT_SHOWN = 3  # trials of a front of several objectives
TUNE_OUTPUT_ENV = "RAY_AIR_NEW_OUTPUT"
SNAPSHOT_WARNING_ENV = "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S"
ENDED = (n.COMPLETED, n.STOPPED_EARLY, n.DIVERGED, n.ERRORED)


def quiet_console() -> None:
    """Leave the driver's console to the view. Tune's new output engine prints a box naming
    its searcher's class and a TensorBoard hint even at verbose 0; its old one prints
    nothing at verbose 0 (RAY_AIR_NEW_OUTPUT=1 brings Ray's back). Optuna announces each
    study it creates at INFO."""
    os.environ.setdefault(TUNE_OUTPUT_ENV, "0")
    # Tune warns when snapshots of the study come often; a checkpoint every epoch with
    # CHECKPOINTS_KEPT forces them, which is what a resume needs.
    os.environ.setdefault(SNAPSHOT_WARNING_ENV, "0")
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def keys_of(keys: tuple[str, ...], config: dict) -> dict:
    """The config's values of `keys` (with functools.partial, a view's `knobs`)."""
    return {key: config[key] for key in keys if key in config}


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


@dataclass
class LiveTrial:
    status: str = n.RUNNING  # or one of ENDED
    epoch: int = 0
    values: tuple[float, ...] | None = None  # the objectives at its latest epoch
    knobs: dict | None = None


class StudyProgress:
    """Counts, the best so far (of several objectives: the front so far) and the time
    left, from Tune's trial events (no Ray here)."""

    def __init__(self, objectives: tuple[str, ...], modes: tuple[str, ...], total: int,
                 epochs: int, knobs: Callable[[dict], dict], started: float,
                 ranked: bool = True):
        """ranked: whether the trials compete, so that a best one is shown (a grid's runs
        of fixed configurations do not)."""
        self.objectives, self.modes, self.ranked = objectives, modes, ranked
        self.total, self.epochs, self.knobs = total, epochs, knobs
        self.started = started
        self.trials: dict[str, LiveTrial] = {}
        self.finished: list[FinishedTrial] = []

    def started_trial(self, trial_id: str, config: dict) -> None:
        self.trials.setdefault(trial_id, LiveTrial(knobs=self.knobs(config))).status = n.RUNNING

    def result(self, trial_id: str, result: dict) -> None:
        state = self.trials.setdefault(trial_id, LiveTrial())
        state.epoch = result.get("training_iteration", state.epoch)
        if result.get(n.OUTCOME) != n.DIVERGED and all(o in result for o in self.objectives):
            state.values = tuple(result[objective] for objective in self.objectives)

    def ended(self, trial_id: str, outcome: str, cost: dict[str, float]) -> None:
        state = self.trials.setdefault(trial_id, LiveTrial())
        state.status = outcome
        if outcome in (n.DIVERGED, n.ERRORED):
            state.values = None  # not a score to beat
        self.finished.append(FinishedTrial(outcome, state.epoch, cost))

    def count(self, status: str) -> int:
        return sum(state.status == status for state in self.trials.values())

    def front(self) -> list[tuple[str, LiveTrial]]:
        """The trials no other beats on every objective, at their latest epochs (of one
        objective: the best trial)."""
        scored = [(trial_id, state) for trial_id, state in self.trials.items()
                  if state.values is not None]
        if not scored:
            return []
        ranking = pareto_ranking([state.values for _, state in scored], self.modes)
        return [scored[i] for i in ranking.order if ranking.fronts[i] == 0]

    def _front_lines(self) -> list[str]:
        front = self.front() if self.ranked else []
        if not front:
            return []
        if len(self.objectives) == 1:
            trial_id, state = front[0]
            knobs = ", ".join(f"{key}={_short(value)}"
                              for key, value in list((state.knobs or {}).items())[:KNOBS_SHOWN])
            return [f"best {self.objectives[0]} {state.values[0]:.4f}: trial {trial_id} at "
                    f"epoch {state.epoch} of {self.epochs}" + (f" ({knobs})" if knobs else "")]
        shown = "; ".join(f"trial {trial_id} ({', '.join(f'{v:.3f}' for v in state.values)}, "
                          f"epoch {state.epoch})" for trial_id, state in front[:FRONT_SHOWN])
        more = f"; {len(front) - FRONT_SHOWN} more" if len(front) > FRONT_SHOWN else ""
        return [f"front of {len(front)} by {', '.join(self.objectives)}: {shown}{more}"]

    def seconds_left(self, now: float) -> float | None:
        """Epochs still to run over the epochs per second so far. A trial not yet ended is
        expected to run as many epochs as the ended ones did on average (all of them,
        before any has ended)."""
        done = sum(state.epoch for state in self.trials.values())
        if not done:
            return None
        ended = [state.epoch for state in self.trials.values() if state.status in ENDED]
        expected = sum(ended) / len(ended) if ended else self.epochs
        running = [state.epoch for state in self.trials.values() if state.status == n.RUNNING]
        left = self.waiting * expected + sum(max(0.0, expected - epoch) for epoch in running)
        return left * (now - self.started) / done

    @property
    def waiting(self) -> int:
        return max(0, self.total - len(self.trials))

    def lines(self, now: float) -> list[str]:
        ended = sum(self.count(status) for status in ENDED)
        outcomes = ", ".join(f"{self.count(status)} {status.replace('_', ' ')}"
                             for status in ENDED)
        lines = [f"{ended} of {self.total} trials ended ({outcomes}); "
                 f"{self.count(n.RUNNING)} running, {self.waiting} waiting"]
        lines += self._front_lines()
        left = self.seconds_left(now)
        lines.append(f"{_clock(now - self.started)} elapsed" + (
            f", about {_clock(left)} left" if left is not None and ended < self.total else ""))
        return lines


class LiveView(tune.Callback):
    """StudyProgress drawn on the console as the study runs, and its final lines."""

    def __init__(self, title: str, objectives: tuple[str, ...], modes: tuple[str, ...],
                 total: int, epochs: int, knobs: Callable[[dict], dict],
                 console: Console | None = None, quiet: bool = False, ranked: bool = True):
        """knobs: a trial's config -> the values shown for the best trial (picklable: Tune
        pickles its callbacks). quiet: only errors and the final lines. ranked: show the
        best trial (StudyProgress)."""
        self.title, self.quiet, self.ranked = title, quiet, ranked
        self.args = (objectives, modes, total, epochs, knobs)
        self.console = console  # None: the driver's stdout, opened in setup()
        self.progress: StudyProgress | None = None
        self.live: Live | None = None
        self.last_drawn = 0.0

    def __getstate__(self):  # Tune pickles callbacks with its state; a console is no state
        return {**self.__dict__, "console": None, "live": None, "progress": None}

    def setup(self, **info) -> None:
        self.console = self.console or Console(file=sys.stdout)
        self.progress = StudyProgress(*self.args, started=time.time(), ranked=self.ranked)
        self.last_drawn = self.progress.started
        if self.console.is_terminal and not self.quiet:
            # Ray's and the workers' prints go above the view, not through it.
            self.live = Live(self._drawing(), console=self.console, auto_refresh=False,
                             redirect_stdout=True, redirect_stderr=True, transient=True)
            self.live.start()

    def _drawing(self) -> Text:
        lines = self.progress.lines(time.time())
        return Text("\n".join([f"study {self.title}: {lines[0]}", *(f"  {line}"
                                                                     for line in lines[1:])]))

    def _say(self, line: str) -> None:
        """A line as is: not wrapped (a log stays greppable), no markup read into it."""
        self.console.print(line, highlight=False, markup=False, soft_wrap=True)

    def _plain(self) -> None:
        self._say(f"study {self.title}: " + "; ".join(self.progress.lines(time.time())))

    def draw(self, force: bool = False) -> None:
        if self.quiet:
            return
        now = time.time()
        every = TERMINAL_EVERY if self.live else PLAIN_EVERY
        if not force and now - self.last_drawn < every:
            return
        self.last_drawn = now
        if self.live:
            self.live.update(self._drawing(), refresh=True)
        else:
            self._plain()

    def on_step_end(self, iteration, trials, **info) -> None:
        for trial in trials:  # a resumed study's trials that ended before the resume
            if trial.status in (Trial.TERMINATED, Trial.ERROR) and (
                    trial.trial_id not in self.progress.trials):
                self.progress.result(trial.trial_id, trial.last_result or {})
                self.progress.ended(trial.trial_id, trial_outcome(
                    trial.last_result, trial.status == Trial.ERROR), trial_cost(trial))
        self.draw()

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        self.progress.started_trial(trial.trial_id, trial.config)

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        self.progress.result(trial.trial_id, result)

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self.progress.result(trial.trial_id, trial.last_result or {})
        self.progress.ended(trial.trial_id, trial_outcome(trial.last_result, False),
                            trial_cost(trial))
        self.draw(force=not self.live)  # a log shows every trial's end

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self.progress.ended(trial.trial_id, n.ERRORED, trial_cost(trial))
        self._say(f"trial {trial.trial_id} errored: see {trial.error_file}")
        self.draw(force=True)

    def on_experiment_end(self, trials, **info) -> None:
        if self.live:
            self.live.stop()
        lines = self.progress.lines(time.time())
        cost = study_cost(self.progress.finished, self.progress.epochs)
        for line in [f"study {self.title} ended: {lines[0]}", *lines[1:], cost.sentence()]:
            self._say(line)
