"""`cvae-study ui`: MLflow's own UI over the store (tracking.ui: the server, each study's
links to its trials), until Ctrl-C."""

import argparse

from cvae_study.study import serving
from cvae_study.study.cli import flags
from cvae_study.study.tracking.workdir import Workspace


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("ui", help="browse the MLflow store with MLflow's own UI")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    flags.add_store(parser)
    parser.set_defaults(run=lambda args: ui(flags.workspace(args), host=args.host,
                                            port=args.port))


def ui(where: Workspace, *, host: str = "127.0.0.1", port: int = 5000) -> int:
    """Serve the store on host:port until stopped; prints each study's links first."""
    from cvae_study.study.tracking import ui as mlflow_ui

    uri = where.tracking_uri
    serving.warn_if_public(host, "the MLflow store")
    serving.stop_on_signals()
    server = mlflow_ui.start(uri, host, port)
    base = f"http://{host}:{port}"
    try:
        studies = mlflow_ui.study_links(uri, base)
    except BaseException:  # the server is in its own session: it would outlive us
        serving.stop(server)
        raise
    print(f"MLflow UI: {base}  (store {uri}; Ctrl-C stops it)")
    for name, links in studies.items():
        print(f"  study {name}, trials by {links.objective}: {links.trials}")
        print(f"  study {name}, {links.objective} per epoch: {links.chart}")
    return serving.serve(server, "the MLflow UI")
