"""The Ray cluster a study runs on: a local one, or an existing one at --address.

Everything a study asks of the cluster (CPUs and GPUs per trial, storage every node can
reach) is checked here once Ray is up, before any trial starts: a study that asks for
what the cluster lacks would otherwise wait forever for resources.
"""

import os

import ray

from cvae_study.study.errors import UsageError
from cvae_study.study.storage import ResultsStore

ADDRESS_ENV = "RAY_ADDRESS"


class ClusterError(UsageError):
    """The cluster cannot run the study as asked; raised before any trial starts."""


def connect(address: str | None) -> bool:
    """Join the cluster at `address` (or $RAY_ADDRESS), else start a local Ray using every
    CPU of this machine -> whether this process started Ray (and must shut it down)."""
    if ray.is_initialized():
        return False
    address = address or os.environ.get(ADDRESS_ENV)
    if address:
        ray.init(address=address, configure_logging=False)
    else:
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, configure_logging=False)
    return True


def alive_nodes() -> list[dict]:
    return [node for node in ray.nodes() if node["Alive"]]


def trials_at_once(cpus_per_trial: float, gpus_per_trial: float) -> int:
    """How many trials the cluster holds at once; ClusterError when not even one fits."""
    nodes = alive_nodes()
    best_cpus = max(node["Resources"].get("CPU", 0) for node in nodes)
    best_gpus = max(node["Resources"].get("GPU", 0) for node in nodes)
    total_gpus = sum(node["Resources"].get("GPU", 0) for node in nodes)
    if cpus_per_trial > best_cpus:
        raise ClusterError(f"--cpus-per-trial {cpus_per_trial:g}: no node of the Ray cluster "
                           f"has that many CPUs (largest: {best_cpus:g})")
    if gpus_per_trial > best_gpus:
        raise ClusterError(f"--gpus-per-trial {gpus_per_trial:g}: the Ray cluster has "
                           f"{total_gpus:g} GPUs, at most {best_gpus:g} on one node")
    fits = sum(int(node["Resources"].get("CPU", 0) // cpus_per_trial) for node in nodes)
    if gpus_per_trial:
        fits = min(fits, sum(int(node["Resources"].get("GPU", 0) // gpus_per_trial)
                             for node in nodes))
    return max(1, fits)


def check_storage(storage: ResultsStore, shared: bool) -> None:
    """Trials write checkpoints where every node can read them: a local folder is only
    that on a single machine, or when the user says it is shared (NFS)."""
    nodes = alive_nodes()
    if not storage.is_uri and not shared and len(nodes) > 1:
        raise ClusterError(f"--storage {storage}: a folder on this machine, but the Ray "
                           f"cluster has {len(nodes)} nodes; use storage every node reaches "
                           "(s3://..., or a shared NFS folder with --shared-storage)")
