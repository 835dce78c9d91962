"""The flags several commands share, and the typed values they become: a Workspace (--workdir,
--tracking-uri), config overrides (--set, --data, --data-dir, --epochs), TrialResources and a
Cluster (--address, --storage). Each add_* adds one group to a command's parser."""

import argparse
from typing import Any

from cvae_study.study import config
from cvae_study.study import names as n
from cvae_study.study.errors import UsageError
from cvae_study.study.options import Cluster, TrialResources
from cvae_study.study.tracking.workdir import Workspace

DATA_KEY = {"text": "data.source", "video": "data.kind"}  # what --data sets, per task


def at_least(low: int):
    """An argparse type: an integer of at least `low`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value}: must be at least {low}")
        return value

    return parse


def comma_list(text: str) -> tuple[str, ...]:
    """An argparse type: comma-separated words ('' is none)."""
    return tuple(word.strip() for word in text.split(",") if word.strip())


def add_workdir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", help="runs folder (default $CVAE_STUDY_HOME or "
                        "./cvae-study-runs)")


def add_store(parser: argparse.ArgumentParser) -> None:
    """--workdir and --tracking-uri: where records go."""
    add_workdir(parser)
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite in workdir)")


def add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")


def add_storage(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", help="Ray results folder (default WORKDIR/ray_results)")


def add_address(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", help="an existing Ray cluster (default $RAY_ADDRESS, "
                        "else a local Ray on this machine)")


def add_cluster(parser: argparse.ArgumentParser) -> None:
    """The store, --device (accepted as ever; a trial takes the device Ray gives it),
    --storage and --address."""
    add_store(parser)
    add_device(parser)
    add_storage(parser)
    add_address(parser)


def add_trial_resources(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cpus-per-trial", type=float, default=1.0)
    parser.add_argument("--gpus-per-trial", type=float, default=0.0,
                        help="whole or fractional GPUs per trial, e.g. 0.25 packs four on one")


def add_resources(parser: argparse.ArgumentParser) -> None:
    """A study's or an ablation's: trials at once, what each holds, the cluster."""
    parser.add_argument("--max-concurrent", type=int,
                        help="trials at once (default: as many as the CPUs hold)")
    add_trial_resources(parser)
    parser.add_argument("--shared-storage", action="store_true",
                        help="--storage is a folder every node of the cluster mounts (NFS)")
    add_cluster(parser)


def add_sets(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one config key, e.g. --set kl.cycles=4 (repeatable)")


def add_overrides(parser: argparse.ArgumentParser) -> None:
    """--set, --data, --data-dir, --epochs."""
    add_sets(parser)
    parser.add_argument("--data", choices=[c for cs in n.DATA_CHOICES.values() for c in cs],
                        help="text: lemminflect's table (default) or the lab's files; video: "
                        "pushing (robot actions, default) or dance (poses)")
    parser.add_argument("--data-dir", help="text: the lab's train.txt and test.txt folder; "
                        "video: a data set in the BAIR or dance layout (default: synthetic)")
    parser.add_argument("--epochs", type=int, help="shorthand for --set train.epochs=N")


def add_config(parser: argparse.ArgumentParser) -> None:
    """A run on one machine: --config, the overrides, --device and the store."""
    parser.add_argument("--config", help="YAML / TOML / JSON file of config keys")
    add_overrides(parser)
    add_store(parser)
    add_device(parser)


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="end with the whole summary as JSON (for scripts)")


def workspace(args: argparse.Namespace) -> Workspace:
    """--workdir (created) and --tracking-uri (default: the sqlite store in it)."""
    return Workspace.at(args.workdir, getattr(args, "tracking_uri", None))


def overrides(args: argparse.Namespace, task: str) -> dict[str, Any]:
    """--data, --data-dir, --epochs, then --set (the last word wins) -> flat config keys."""
    chosen: dict[str, Any] = {}
    if args.data:
        if args.data not in n.DATA_CHOICES[task]:
            raise UsageError(f"--data {args.data}: {task} data is "
                             f"{' or '.join(n.DATA_CHOICES[task])}")
        chosen[DATA_KEY[task]] = args.data
    if args.data_dir:
        chosen["data.dir"] = args.data_dir
    if args.epochs is not None:
        chosen["train.epochs"] = args.epochs
    return {**chosen, **config.parse_assignments(args.set)}


def trial_resources(args: argparse.Namespace) -> TrialResources:
    return TrialResources(max_concurrent=args.max_concurrent,
                          cpus_per_trial=args.cpus_per_trial,
                          gpus_per_trial=args.gpus_per_trial,
                          shared_storage=args.shared_storage)


def cluster(args: argparse.Namespace) -> Cluster:
    return Cluster(address=getattr(args, "address", None), storage=args.storage)


def results_store(where: Workspace, cluster: Cluster | None = None):
    """The Ray results of a workspace: --storage, else WORKDIR/ray_results."""
    from cvae_study.study.storage import ResultsStore  # pyarrow: only where it is read

    storage = cluster.storage if cluster else None
    return ResultsStore(storage or where.workdir / "ray_results")
