"""Search spaces: which flat config keys a sweep explores, and over what values.

A task's default space is below. A study file narrows or fixes keys:

    space:                        # keys still searched
      kl.schedule: [monotonic, cyclical]      # a list: these choices
      optim.lr: {low: 0.001, high: 0.01}      # a range (log scale kept from the default)
      model.cell: gru                         # a single value: fixed, no longer searched
    config:                       # settings of every trial, like --set
      train.epochs: 12

Every bound is checked against the task's config before Ray starts, so a bad one is an
error naming its key.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cvae_study.study import config
from cvae_study.study import names as n
from cvae_study.study.config import ConfigError, Overrides


@dataclass(frozen=True)
class Choice:
    values: tuple


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    log: bool = False


Space = dict[str, Choice | Range]

TEXT_SPACE: Space = {
    n.KL_SCHEDULE: Choice(("none", "monotonic", "cyclical")),
    "kl.cycles": Range(1, 8),
    "kl.ratio": Range(0.25, 1.0),
    "kl.max_weight": Range(0.25, 4.0, log=True),
    "tf.start": Range(0.5, 1.0),
    "tf.decay_step": Range(0.0, 0.1),
    "tf.floor": Range(0.0, 0.5),
    "optim.lr": Range(3e-4, 1e-2, log=True),
    "model.latent_size": Choice((16, 32, 64)),
    "model.cell": Choice(("gru", "lstm")),
    "model.hidden_size": Choice((128, 256, 512)),
}
# The knobs of the text study, on the video model: schedule and weight of the KL (around
# SVG-LP's beta, 1 here), teacher forcing, learning rate, latent size, and the prior.
VIDEO_SPACE: Space = {
    n.KL_SCHEDULE: Choice(("none", "monotonic", "cyclical")),
    "kl.cycles": Range(1, 8),
    "kl.ratio": Range(0.25, 1.0),
    "kl.max_weight": Range(0.1, 10.0, log=True),
    "tf.start": Range(0.5, 1.0),
    "tf.decay_step": Range(0.0, 0.1),
    "tf.floor": Range(0.0, 0.5),
    "optim.lr": Range(3e-4, 5e-3, log=True),
    "model.latent_size": Choice((16, 32, 64)),
    "model.prior": Choice(("fixed", "learned")),
}
SPACES = {"text": TEXT_SPACE, "video": VIDEO_SPACE}

# Only searched where the schedule is cyclical: elsewhere they change nothing, and sampling
# them anyway would have TPE fit noise.
CYCLICAL_ONLY = ("kl.cycles", "kl.ratio")
RANGE_KEYS = {"low", "high", "log"}
STUDY_FILE_SECTIONS = ("space", "config")


@dataclass(frozen=True)
class SearchSpace:
    """What a study searches, what every trial shares (`fixed`, flat keys as given), and
    the config those make (`base`, built once): every trial starts from it."""

    task: str
    searched: Space
    fixed: dict[str, Any]
    base: Any  # the task's frozen config

    @property
    def base_flat(self) -> dict[str, Any]:
        return config.flatten(self.base)

    def trial_config(self, sampled: Mapping[str, Any]) -> dict[str, Any]:
        """The full flat config of a trial: the defaults, the fixed keys, the sampled ones."""
        return config.flatten(config.build(self.task, {**self.fixed, **sampled}))


def saved_space(task: str, searched: Space, fixed: dict[str, Any]) -> SearchSpace:
    """A space as a study recorded it (its searched entries were checked when it began)."""
    return SearchSpace(task, searched, fixed, config.build(task, fixed))


def _is_range(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and set(value) <= RANGE_KEYS


def read_study_file(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """-> (space entries, fixed config), flat dotted keys, as written in the file."""
    data = config.read_mapping(path)
    unknown = set(data) - set(STUDY_FILE_SECTIONS)
    if unknown:
        raise ConfigError(f"{path}: unknown section {sorted(unknown)[0]!r}; a study file has "
                          f"{' and '.join(STUDY_FILE_SECTIONS)}")
    for section in STUDY_FILE_SECTIONS:
        if not isinstance(data.get(section, {}), Mapping):
            raise ConfigError(f"{path}: {section}: expected a mapping of dotted keys")
    space = config.flatten_mapping(data.get("space", {}), is_leaf=_is_range)
    return space, config.flatten_mapping(data.get("config", {}))


def _entry(key: str, written: Any, default: Choice | Range) -> Choice | Range | None:
    """A study file's value for `key` -> its new entry; None when it fixes the key."""
    if isinstance(written, list):
        if not written:
            raise ConfigError(f"space.{key}: the list of choices is empty")
        return Choice(tuple(written))
    if _is_range(written):
        if "low" not in written or "high" not in written:
            raise ConfigError(f"space.{key}: a range needs both low and high")
        log = written.get("log", isinstance(default, Range) and default.log)
        return Range(written["low"], written["high"], bool(log))
    if isinstance(written, Mapping):
        raise ConfigError(f"space.{key}: a range has only the keys low, high and log, "
                          f"got {', '.join(map(str, written))}")
    return None


def _check(task: str, key: str, entry: Choice | Range, fixed: dict[str, Any]) -> Choice | Range:
    """Each bound or choice must be a valid config value; ranges must not be empty."""
    def valid(value):
        return config.flatten(config.build(task, {**fixed, key: value}))[key]

    if isinstance(entry, Choice):
        return Choice(tuple(valid(value) for value in entry.values))
    low, high = valid(entry.low), valid(entry.high)
    if not low < high:
        raise ConfigError(f"space.{key}: the range [{entry.low}, {entry.high}] is empty or "
                          "reversed; fix the key with a single value instead")
    if entry.log and low <= 0:
        raise ConfigError(f"space.{key}: a log-scale range needs low > 0, got {entry.low}")
    return replace(entry, low=low, high=high)


def build_space(task: str, study_file: str | None = None,
                overrides: Overrides | None = None) -> SearchSpace:
    """Default space, narrowed by the study file; keys set by its config or by `overrides`
    (--set) are fixed."""
    written, fixed = read_study_file(study_file) if study_file else ({}, {})
    fixed.update(overrides or {})
    config.build(task, fixed)  # names any bad fixed key before the space is looked at
    space = dict(SPACES[task])
    for key, value in written.items():
        if key not in space:
            raise ConfigError(f"space.{key}: not a searchable key; searchable: "
                              f"{', '.join(sorted(space))}")
        entry = _entry(key, value, space[key])
        if entry is None:
            fixed[key] = value
        else:
            space[key] = entry
    space = {key: entry for key, entry in space.items() if key not in fixed}
    base = config.build(task, fixed)
    space = {key: _check(task, key, entry, fixed) for key, entry in space.items()}
    schedules = space.get(n.KL_SCHEDULE, Choice((base.kl.schedule,))).values
    if "cyclical" not in schedules:
        space = {key: entry for key, entry in space.items() if key not in CYCLICAL_ONLY}
    _check_floor_below_start(task, space, fixed)
    return SearchSpace(task, space, fixed, base)


def _check_floor_below_start(task: str, space: Space, fixed: dict[str, Any]) -> None:
    """Every trial must be valid: the highest teacher-forcing floor with the lowest start."""
    corner = {key: entry.high if key == "tf.floor" else entry.low
              for key, entry in space.items()
              if key in ("tf.floor", "tf.start") and isinstance(entry, Range)}
    try:
        config.build(task, {**fixed, **corner})
    except ConfigError as error:
        raise ConfigError(f"space: tf.floor may exceed tf.start ({error}); lower "
                          "tf.floor's high or raise tf.start's low") from None


def integer_keys(task: str) -> set[str]:
    """Keys whose config field is an int: their ranges are sampled as integers."""
    return {key for key, value in config.flatten(config.build(task, {})).items()
            if type(value) is int}


class SpaceSampler:
    """A define-by-run space for OptunaSearch: suggests each key on an Optuna trial.

    A class rather than a closure: Tune pickles the searcher, and with it this, in every
    snapshot of the study."""

    def __init__(self, space: SearchSpace):
        self.space = space.searched
        self.default_schedule = space.base.kl.schedule
        self.integers = integer_keys(space.task)

    def suggest(self, key: str, trial) -> Any:
        entry = self.space[key]
        if isinstance(entry, Choice):
            return trial.suggest_categorical(key, list(entry.values))
        if key in self.integers:
            return trial.suggest_int(key, int(entry.low), int(entry.high), log=entry.log)
        return trial.suggest_float(key, entry.low, entry.high, log=entry.log)

    def __call__(self, trial) -> None:
        schedule = self.default_schedule
        if n.KL_SCHEDULE in self.space:
            schedule = self.suggest(n.KL_SCHEDULE, trial)
        for key in self.space:
            if key == n.KL_SCHEDULE or (key in CYCLICAL_ONLY and schedule != "cyclical"):
                continue
            self.suggest(key, trial)


def searched_values(space: SearchSpace, flat_config: Mapping[str, Any]) -> dict[str, Any]:
    """The values a trial drew from the space (cycle keys only where they mattered)."""
    cyclical = flat_config.get(n.KL_SCHEDULE) == "cyclical"
    return {key: flat_config.get(key) for key in space.searched
            if cyclical or key not in CYCLICAL_ONLY}


def describe(space: SearchSpace) -> dict[str, Any]:
    """The space as plain data, for the study's MLflow run and the report."""
    return {
        "searched": {key: ({"choices": list(entry.values)} if isinstance(entry, Choice)
                           else {"low": entry.low, "high": entry.high, "log": entry.log})
                     for key, entry in space.searched.items()},
        "fixed": space.fixed,
        "cyclical_only": [key for key in CYCLICAL_ONLY if key in space.searched],
    }


def from_description(searched: dict[str, dict]) -> Space:
    """Inverse of describe()["searched"]: a saved study's space."""
    return {key: Choice(tuple(entry["choices"])) if "choices" in entry
            else Range(entry["low"], entry["high"], entry["log"])
            for key, entry in searched.items()}


def optuna_distributions(space: SearchSpace) -> dict:
    """The Optuna distribution of every searched key, as the study's sampler suggests it
    (one trial of the define-by-run space, cyclical where it can be, names them all)."""
    import optuna  # here: the CLI's `train` and `bench` run without it

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # not "A new study created"
    study = optuna.create_study()
    optuna.logging.set_verbosity(verbosity)
    searched = space.searched.get(n.KL_SCHEDULE)
    if searched is not None and "cyclical" in searched.values:
        study.enqueue_trial({n.KL_SCHEDULE: "cyclical"})
    trial = study.ask()
    SpaceSampler(space)(trial)
    return trial.distributions
