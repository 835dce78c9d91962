"""`cvae-study dashboard NAME`: optuna-dashboard over a study's Optuna journal (study.journal),
until Ctrl-C.

Optuna's own view of the search: each trial's state, its per-epoch values, the history,
parameter importances. It reads the journal while the study runs. optuna-dashboard is an
optional extra, run as its own command in a child process, as `ui` runs MLflow's server.
"""

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from cvae_study.study import names as n
from cvae_study.study import serving
from cvae_study.study.cli import flags
from cvae_study.study.options import Cluster
from cvae_study.study.tracking.workdir import Workspace

SCRIPT = "optuna-dashboard"
EXTRA = "pip install 'cvae-study[dashboard]'"


class DashboardError(serving.ServerError):
    """The dashboard cannot start: optuna-dashboard missing, or the study has no journal."""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("dashboard", help="a study's search in optuna-dashboard "
                                 f"({EXTRA})")
    parser.add_argument("name")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    flags.add_workdir(parser)
    flags.add_storage(parser)
    parser.set_defaults(run=lambda args: dashboard(
        args.name, Workspace.at(args.workdir), storage=args.storage, host=args.host,
        port=args.port))


def dashboard(name: str, where: Workspace, *, storage: str | None = None,
              host: str = "127.0.0.1", port: int = 8080) -> int:
    """optuna-dashboard over study `name`'s Optuna journal, until stopped."""
    from cvae_study.study.tune import saved

    command = script()  # a missing extra is named before anything is read
    store = flags.results_store(where, Cluster(storage=storage))
    kind = saved.kind_of(name, store)
    if kind not in (None, n.STUDY_KIND):
        raise DashboardError(f"{name!r} is a saved {kind}, a grid with no search; the dashboard "
                             "shows the search of a study")
    study = saved.load(name, store, None)  # an unknown name lists the studies there are
    journal = check_journal(name, study.journal)
    serving.warn_if_public(host, f"study {name}'s search (which the dashboard can edit)")
    serving.stop_on_signals()
    server = start(command, journal, host, port)
    print(f"Optuna dashboard: http://{host}:{port}/dashboard  (study {name}, journal "
          f"{journal}; Ctrl-C stops it)")
    return serving.serve(server, "the Optuna dashboard")


def script() -> str:
    """The optuna-dashboard command installed beside this interpreter (a venv's), else on
    the PATH (a `pip install --user`'s)."""
    found = shutil.which(SCRIPT, path=str(Path(sys.executable).parent)) or shutil.which(SCRIPT)
    if found is None:
        raise DashboardError(f"the dashboard needs optuna-dashboard, an optional extra: {EXTRA}")
    return found


def check_journal(name: str, journal: str) -> Path:
    """The journal file study `name` recorded, which must be there."""
    if not journal:
        raise DashboardError(f"study {name!r} keeps no Optuna journal: it was started before "
                             "studies kept one (or on remote storage without a workdir); its "
                             "trials are in MLflow (`cvae-study ui`)")
    if not Path(journal).is_file():
        raise DashboardError(f"study {name!r}: its Optuna journal {journal} is gone")
    return Path(journal)


def start(command: str, journal: Path, host: str, port: int) -> subprocess.Popen:
    """optuna-dashboard (`command`, from script()) serving `journal` on host:port."""
    serving.check_port_free(host, port)
    # --quiet: gunicorn (installed with MLflow, and optuna-dashboard's choice when it is)
    # logs no line per request; the page polls the API every few seconds.
    return serving.start([command, str(journal), "--storage-class", "JournalFileStorage",
                          "--host", host, "--port", str(port), "--quiet"])
