import json
import pickle

import pytest
import torch
from safetensors import safe_open

from cvae_study.study.config import build, flatten
from cvae_study.study.tasks import checkpoint

# Exercise every source of randomness: posterior noise, tense choice, teacher forcing.
RESUME = {"train.epochs": 3, "tf.start": 0.5, "kl.schedule": "monotonic", "kl.warmup_steps": 5}
FILES = ("model.safetensors", "optimizer.safetensors", "state.json", "config.json")


@pytest.fixture
def trained(tmp_path, tiny_task):
    """A task trained one epoch and its checkpoint directory."""
    task = tiny_task(RESUME)
    task.train_epoch()
    directory = checkpoint.save(tmp_path / "ckpt", task.state(), flatten(task.config), "text")
    return task, directory


def test_save_writes_safetensors_and_json_only(trained):
    task, directory = trained
    for name in FILES:
        assert (directory / name).is_file(), name
    with safe_open(directory / "model.safetensors", framework="pt") as f:
        keys = set(f.keys())
        assert keys == set(task.model.state_dict())
        weight = f.get_tensor("to_logits.weight")
    torch.testing.assert_close(weight, task.model.to_logits.weight.detach())
    with safe_open(directory / "optimizer.safetensors", framework="pt") as f:
        assert any(key.startswith("rng.") for key in f.keys())
        assert any(key.endswith("exp_avg") for key in f.keys())
    for name in ("state.json", "config.json"):
        json.loads((directory / name).read_text())
    for path in directory.iterdir():
        head = path.read_bytes()[:2]
        # Neither a raw pickle (protocol 2+ starts with 0x80) nor torch.save's zip archive.
        assert head[:1] != pickle.PROTO and head != b"PK", path.name
    meta = json.loads((directory / "config.json").read_text())
    assert meta["task"] == "text"
    assert build("text", meta["config"]) == task.config


def test_load_restores_parameters_counters_and_optimizer(trained, tiny_task):
    task, directory = trained
    loaded = checkpoint.load(directory)
    assert loaded["task"] == "text"
    fresh = tiny_task(config=build("text", loaded["config"]))
    assert any(
        not torch.equal(a, b)
        for a, b in zip(fresh.model.parameters(), task.model.parameters(), strict=True)
    )
    fresh.load_state(loaded["state"])
    for (name, a), b in zip(
        task.model.state_dict().items(), fresh.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name
    assert (fresh.step, fresh.epoch) == (task.step, task.epoch) == (2, 1)
    original, restored = task.optimizer.state_dict(), fresh.optimizer.state_dict()
    assert original["state"].keys() == restored["state"].keys()
    for index, slots in original["state"].items():
        assert slots.keys() == restored["state"][index].keys()
        for slot, value in slots.items():
            assert torch.equal(
                torch.as_tensor(value), torch.as_tensor(restored["state"][index][slot])
            )
    for group, restored_group in zip(
        original["param_groups"], restored["param_groups"], strict=True
    ):
        assert group["lr"] == restored_group["lr"]
        assert list(group["betas"]) == list(restored_group["betas"])
        assert group["params"] == restored_group["params"]


def test_resume_is_exact(trained, tiny_task):
    task, directory = trained
    # The original keeps going from where it was saved ...
    continued = task.train_epoch()
    continued_params = [p.detach().clone() for p in task.model.parameters()]
    # ... and a fresh task resumed from the checkpoint must follow the same path.
    loaded = checkpoint.load(directory)
    fresh = tiny_task(config=build("text", loaded["config"]))
    fresh.load_state(loaded["state"])
    resumed = fresh.train_epoch()
    assert resumed == continued
    for a, b in zip(continued_params, fresh.model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert (fresh.step, fresh.epoch) == (task.step, task.epoch) == (4, 2)


@pytest.mark.parametrize("name", FILES)
def test_missing_file_is_named(trained, name):
    _, directory = trained
    (directory / name).unlink()
    with pytest.raises(FileNotFoundError, match=name):
        checkpoint.load(directory)
