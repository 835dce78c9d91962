"""A study's Optuna study on disk: Optuna's JournalStorage, one file of operations that the
driver appends each ask, report and tell to as it makes them.

It outlives the driver: a resumed study's searcher keeps appending to it (Tune pickles the
searcher with the file's path; unpickled, the storage replays the file from its start), and
`cvae-study dashboard` serves it. A journal, not sqlite: the MLflow store is the study's one
sqlite writer. It lives beside cvae_study.json when the study's storage is a local folder,
and in the workdir when the storage is a URI: an object store such as S3 neither appends to
a file nor locks one, which the journal needs.
"""

from pathlib import Path

from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from cvae_study.study import names as n
from cvae_study.study.storage import ResultsStore

REMOTE_STUDIES_FOLDER = "optuna"  # in the workdir: <workdir>/optuna/<name>/OPTUNA_JOURNAL


def journal_path(storage: ResultsStore, name: str, workdir: Path | None) -> str:
    """Where study `name`'s journal goes; "" for a study on remote storage started without a
    workdir (a library call), whose Optuna study stays in memory."""
    if not storage.is_uri:
        return storage.path(name, n.OPTUNA_JOURNAL)
    if workdir is None:
        return ""
    return str(Path(workdir).resolve() / REMOTE_STUDIES_FOLDER / name / n.OPTUNA_JOURNAL)


def open_journal(path: str) -> JournalStorage:
    """The journal at `path` as Optuna's storage, created if new."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(path))
