import optuna
import pytest

from cvae_study.study.cli import demo
from cvae_study.study.config import ConfigError
from cvae_study.study.spaces import (
    CYCLICAL_ONLY,
    TEXT_SPACE,
    Choice,
    Range,
    SpaceSampler,
    build_space,
    describe,
    from_description,
)


def write(tmp_path, text, name="study.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def sample(study, seed=0, trials=20):
    """Sample `trials` configs through a real Optuna study -> list of param dicts."""
    optuna_study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    sampler = SpaceSampler(study)
    params = []
    for _ in range(trials):
        trial = optuna_study.ask()
        sampler(trial)
        params.append(trial.params)
        optuna_study.tell(trial, 0.0)
    return params


def test_default_space_searches_every_key_the_issue_names():
    study = build_space("text")
    assert set(study.searched) == set(TEXT_SPACE)
    assert study.searched["optim.lr"].log and study.fixed == {}


def test_cycles_and_ratio_are_only_sampled_for_cyclical_schedules():
    for params in sample(build_space("text"), trials=30):
        cyclical = params["kl.schedule"] == "cyclical"
        assert all((key in params) == cyclical for key in CYCLICAL_ONLY)
        assert 1 <= params.get("kl.cycles", 1) <= 8 and isinstance(params.get("kl.cycles", 1), int)
        assert 3e-4 <= params["optim.lr"] <= 1e-2


def test_study_file_narrows_and_fixes_keys(tmp_path):
    path = write(tmp_path, """
space:
  kl.schedule: [monotonic]
  optim.lr: {low: 0.001, high: 0.002}
  model.cell: lstm
config:
  train:
    epochs: 3
""")
    study = build_space("text", path)
    assert study.searched["kl.schedule"] == Choice(("monotonic",))
    assert study.searched["optim.lr"] == Range(0.001, 0.002, log=True)  # log kept
    assert "model.cell" not in study.searched and study.fixed["model.cell"] == "lstm"
    assert not set(CYCLICAL_ONLY) & set(study.searched)  # no cyclical schedule left to tune
    config = study.trial_config({"optim.lr": 0.0015})
    assert config["train.epochs"] == 3 and config["model.cell"] == "lstm"


def test_toml_study_file_and_set_fix_keys(tmp_path):
    path = write(tmp_path, '[space]\n"kl.cycles" = {low = 2, high = 3}\n', "study.toml")
    study = build_space("text", path, {"kl.schedule": "cyclical", "optim.lr": "0.001"})
    assert "kl.schedule" not in study.searched and "optim.lr" not in study.searched
    assert all(params["kl.cycles"] in (2, 3) for params in sample(study))


def test_space_survives_its_saved_description():
    study = build_space("text")
    assert from_description(describe(study)["searched"]) == study.searched


@pytest.mark.parametrize(("text", "named"), [
    ("space:\n  kl.nope: [1]\n", "space.kl.nope"),
    ("space:\n  train.seed: [1, 2]\n", "not a searchable key"),
    ("space:\n  kl.ratio: {low: 0.9, high: 0.2}\n", "space.kl.ratio"),
    ("space:\n  kl.ratio: {low: 0.5, high: 0.5}\n", "empty or reversed"),
    ("space:\n  kl.ratio: {low: 0.5, high: 2.0}\n", "kl.ratio: 2.0 is out of range"),
    ("space:\n  kl.ratio: {low: 0.5}\n", "needs both low and high"),
    ("space:\n  optim.lr: {low: 0.0, high: 0.1, log: true}\n", "optim.lr"),
    ("space:\n  model.cell: []\n", "space.model.cell: the list of choices is empty"),
    ("space:\n  model.cell: [gru, rnn]\n", "model.cell: 'rnn' is not one of"),
    ("space:\n  tf.start: {low: 0.1, high: 0.2}\n", "tf.floor may exceed tf.start"),
    ("searches:\n  x: 1\n", "unknown section 'searches'"),
    ("config:\n  kl.nope: 1\n", "kl.nope"),
])
def test_bad_study_files_name_the_key(tmp_path, text, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.").replace("(", r"\(")):
        build_space("text", write(tmp_path, text))


def test_bad_set_names_the_key():
    with pytest.raises(ConfigError, match="kl.schedule"):
        build_space("text", None, {"kl.schedule": "sometimes"})


def test_the_demo_study_pins_the_network_and_lr_at_their_defaults_and_searches_the_rest():
    study = build_space("text", overrides=demo.text_study())
    assert set(study.searched) == set(TEXT_SPACE) - set(demo.DEMO_AT_DEFAULT)
    assert set(study.fixed) == {*demo.DEMO_AT_DEFAULT, "train.epochs"}
    trial = study.trial_config({})
    assert [trial[key] for key in demo.DEMO_AT_DEFAULT] == [256, "gru", 5e-3]
    assert trial["train.epochs"] == 6
