"""`cvae-study dashboard`: optuna-dashboard over a study's Optuna journal (tune.journal).

Optuna's own view of the search: each trial's state, its per-epoch values, the history,
parameter importances. It reads the journal while the study runs. optuna-dashboard is an
optional extra, run as its own command in a child process, as `ui` runs MLflow's server.
"""

import shutil
import subprocess
import sys
from pathlib import Path

from cvae_study.study import serving

SCRIPT = "optuna-dashboard"
EXTRA = "pip install 'cvae-study[dashboard]'"


class DashboardError(serving.ServerError):
    """The dashboard cannot start: optuna-dashboard missing, or the study has no journal."""


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
