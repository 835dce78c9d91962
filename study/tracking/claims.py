"""One claim for every named record: a study's parent run, an ablation's, and those of any
later command that records a named set of runs.

A claim holds a name of a role (tag study.role) in an MLflow experiment: the parent run of
that role and run name. It is made under the store's lock (tracking.store.store_lock), so of
two drivers starting one name at once one creates the parent run and the other is refused
(NameHeld, exit 2) naming who holds it, before it writes anything else (its saved study, its
Ray results folder). A store without a file lock (a tracking server) is checked again after
the run is created: of two parents made at once, the later one is discarded and refused, so
the outcome is the same. A deleted run (MLflow's trash) holds nothing.
"""

import contextlib
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mlflow import MlflowClient

from cvae_study.study import names as n
from cvae_study.study.errors import UsageError
from cvae_study.study.storage import ResultsStore
from cvae_study.study.tracking.records import StudyRecords
from cvae_study.study.tracking.store import open_client, open_store, store_lock


class NameHeld(UsageError):
    """A name a live parent run of its role already holds; the message names that run."""


@dataclass(frozen=True)
class Name:
    """`name` of `role` in the MLflow experiment `experiment`; `what` says what it names in
    a message (study, ablation), `flag` the flag that gives another name."""

    experiment: str
    role: str
    name: str
    what: str
    flag: str = "--name"


def holders(client: MlflowClient, claimed: Name) -> list:
    """The live parent runs holding `claimed`, the first one first (start time, then id)."""
    experiment = client.get_experiment_by_name(claimed.experiment)
    if experiment is None:
        return []
    found = client.search_runs(
        [experiment.experiment_id],
        f"tags.`{n.ROLE}` = '{claimed.role}' and attributes.run_name = '{claimed.name}'")
    return sorted(found, key=lambda run: (run.info.start_time, run.info.run_id))


def describe(run) -> str:
    """Who holds a name: the parent run's id, role, start and host."""
    started = datetime.fromtimestamp(run.info.start_time / 1000, UTC)
    host = run.data.tags.get(n.HOST_NAME)
    return (f"parent run {run.info.run_id} (role {run.data.tags.get(n.ROLE)}, started "
            f"{started:%Y-%m-%d %H:%M:%S} UTC" + (f", host {host}" if host else "") + ")")


def _held(uri: str, claimed: Name, run) -> NameHeld:
    return NameHeld(f"{claimed.what} {claimed.name!r} already exists: MLflow experiment "
                    f"{claimed.experiment!r} at {uri} holds it as {describe(run)}; choose "
                    f"another {claimed.flag}")


def refuse_held(uri: str, claimed: Name) -> None:
    """NameHeld when `claimed` is held already: an early refusal (before Ray starts), not
    the claim itself."""
    found = holders(open_client(uri), claimed)
    if found:
        raise _held(uri, claimed, found[0])


def refuse_taken(storage: ResultsStore, uri: str, claimed: Name) -> None:
    """Before Ray starts: UsageError when `claimed` names a saved run in `storage` (Ray's
    results), NameHeld when a parent run in the store at `uri` holds it."""
    if storage.exists(claimed.name):
        raise UsageError(f"{claimed.name!r} already exists in {storage}; continue it with "
                         f"`cvae-study resume {claimed.name}` or choose another {claimed.flag}")
    refuse_held(uri, claimed)


def claim(uri: str, claimed: Name, params: dict[str, Any], tags: dict[str, str],
          documents: dict[str, dict]) -> tuple[StudyRecords, str]:
    """Create the parent run of `claimed` (its params, tags and JSON documents) unless the
    name is held -> (the experiment's records, the new run's id); NameHeld naming the
    holder otherwise. The driver's host is tagged, so a later refusal can name it."""
    open_store(uri)  # outside the lock: creating a new store takes the lock itself
    with store_lock(uri):
        refuse_held(uri, claimed)
        records = StudyRecords(uri, claimed.experiment)
        run_id = records.create_parent(claimed.name, claimed.role, params,
                                       {n.HOST_NAME: socket.gethostname(), **tags}, documents)
    first = holders(records.client, claimed)[0]
    if first.info.run_id != run_id:  # a server store: another driver's run came first
        records.discard_parent(run_id)
        raise _held(uri, claimed, first)
    return records, run_id


@contextlib.contextmanager
def freed_on_failure(records: StudyRecords, run_id: str):
    """What a driver does after its claim and before its runs start (saving itself): should
    it fail, the claimed parent run is discarded, so the name is free again."""
    try:
        yield
    except BaseException:
        records.discard_parent(run_id)
        raise
