"""The saved study: what a study (or an ablation) writes beside its Ray results,
<storage>/<name>/cvae_study.json (names.SAVED_STUDY_FILE), so that `resume` rebuilds it and
`dashboard` finds its Optuna journal. Not the user's study file (`sweep --study FILE`).

A study's record holds its options, its fixed config and searched space, its store and
its journal; an ablation's (kind "ablation", tune.ablate) and a finish's (kind "finish",
tune.finish) their plans as well.
"""

from dataclasses import dataclass

from cvae_study.study import names as n
from cvae_study.study import spaces, warm_start
from cvae_study.study.errors import StudyNotFound, UsageError
from cvae_study.study.name_checks import check_name
from cvae_study.study.options import SweepOptions
from cvae_study.study.storage import ResultsStore


@dataclass(frozen=True)
class Sweep:
    """Everything a run or a resume of a study needs, checked."""

    options: SweepOptions
    space: spaces.SearchSpace
    storage: ResultsStore
    uri: str
    prior: tuple[warm_start.PriorTrial, ...] = ()  # --warm-start's trials, read and checked
    journal: str = ""  # its Optuna study's journal file; "": in memory (and before journals)

    @property
    def path(self) -> str:
        """The study's folder on its storage's filesystem."""
        return self.storage.path(self.options.name)

    @property
    def epochs(self) -> int:
        return self.space.base.train.epochs


def stored_studies(storage: ResultsStore) -> list[str]:
    """Names of the studies whose Ray results are in `storage`."""
    return storage.folders_with(n.SAVED_STUDY_FILE)


def save(sweep: Sweep) -> None:
    record = {"options": sweep.options.record(), "fixed": sweep.space.fixed,
              "space": spaces.describe(sweep.space)["searched"], "tracking_uri": sweep.uri,
              "optuna_journal": sweep.journal}
    sweep.storage.write_json(record, sweep.options.name, n.SAVED_STUDY_FILE)


def load(name: str, storage: ResultsStore, uri: str | None) -> Sweep:
    """A saved study, to resume; an unknown name lists the studies there are. uri: the
    store to record to (None: the one the study was started with)."""
    check_name(name, "study name")
    if not storage.exists(name, n.SAVED_STUDY_FILE):
        raise StudyNotFound(name, str(storage), stored_studies(storage))
    record = storage.read_json(name, n.SAVED_STUDY_FILE)
    options = SweepOptions.from_record(record["options"])
    space = spaces.saved_space(options.task, spaces.from_description(record["space"]),
                               record["fixed"])
    return Sweep(options, space, storage, uri or record["tracking_uri"],
                 journal=record.get("optuna_journal", ""))  # none before journals


def kind_of(name: str, storage: ResultsStore) -> str | None:
    """What the saved run `name` in `storage` is: a study (n.STUDY_KIND), an ablation or a
    finish (n.ABLATION_KIND, n.FINISH_KIND); None when there is none."""
    check_name(name, "name")
    if not storage.exists(name, n.SAVED_STUDY_FILE):
        return None
    return storage.read_json(name, n.SAVED_STUDY_FILE).get("kind", n.STUDY_KIND)


def load_study(name: str, storage: ResultsStore, uri: str | None, command: str) -> Sweep:
    """The saved study a `command` (ablate, finish) works on, which must be a study."""
    kind = kind_of(name, storage)
    if kind not in (None, n.STUDY_KIND):
        raise UsageError(f"{name!r} is a saved {kind}, not a study; {command} the study it "
                         "was made from")
    return load(name, storage, uri)
