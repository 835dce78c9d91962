"""Studies beyond one local Ray: declared GPUs, a real two-node cluster, storage checks."""

import pytest
import ray
import torch
from mlflow import MlflowClient
from ray.cluster_utils import Cluster
from test_sweep import new_study, trial_runs

from cvae_study.study import cli
from cvae_study.study.names import COMPLETED
from cvae_study.study.tune import sweep
from cvae_study.study.tune.cluster import ClusterError

pytestmark = pytest.mark.slow


def test_half_gpu_trials_share_one_gpu_at_the_same_time(tmp_path, lab_dir, tiny_args):
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False)  # a declared GPU resource
    try:
        study = new_study(tmp_path, lab_dir, tiny_args, "gpus", epochs=3, num_samples=2,
                          gpus_per_trial=0.5, early_stopping=False)
        result = sweep.run(study)
    finally:
        ray.shutdown()
    assert [t["outcome"] for t in result.trials] == [COMPLETED, COMPLETED]
    _, runs = trial_runs(study)
    for run in runs:
        assert run.data.tags["gpu_ids"] == "0"  # the id Ray gave the trial
        # the device follows what torch sees: this CPU-only torch has no CUDA
        assert run.data.tags["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    first, second = sorted(runs, key=lambda run: run.info.start_time)
    assert second.info.start_time < first.info.end_time  # both held half the GPU at once


def test_gpus_the_cluster_lacks_are_refused_before_any_trial(tmp_path, capsys):
    code = cli.main(["sweep", "text", "--gpus-per-trial", "1", "--name", "nogpu",
                     "--workdir", str(tmp_path)])
    assert code == 2
    assert "--gpus-per-trial 1: the Ray cluster has 0 GPUs" in capsys.readouterr().err
    assert not (tmp_path / "ray_results" / "nogpu").exists() and not ray.is_initialized()
    # nothing half-made in MLflow either: the name is free for the next try
    assert MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}").get_experiment_by_name(
        "nogpu") is None


@pytest.fixture
def two_nodes():
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def test_a_two_node_cluster_runs_trials_on_both_nodes(two_nodes, tmp_path, lab_dir, tiny_args):
    local = new_study(tmp_path, lab_dir, tiny_args, "local", epochs=2, num_samples=2)
    with pytest.raises(ClusterError, match="the Ray cluster has 2 nodes"):
        sweep.run(local, address=two_nodes.address)
    assert not local.storage.exists("local")
    # One machine: its folders are shared by both nodes, as an NFS mount would be.
    study = new_study(tmp_path, lab_dir, tiny_args, "two-nodes", epochs=2, num_samples=2,
                      max_concurrent=2, shared_storage=True, early_stopping=False)
    result = sweep.run(study, address=two_nodes.address)
    assert [t["outcome"] for t in result.trials] == [COMPLETED, COMPLETED]
    _, runs = trial_runs(study)
    node_ids = {run.data.tags["node_id"] for run in runs}
    assert node_ids == {node.node_id for node in two_nodes.list_all_nodes()}
    assert len(node_ids) == 2
