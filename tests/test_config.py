import dataclasses

import pytest

from cvae_study.models.schedules import KLConfig, TeacherForcingConfig
from cvae_study.models.text_cvae import TextCVAEConfig
from cvae_study.study.config import (
    ConfigError,
    build,
    defaults_of,
    flatten,
    load,
    parse_assignments,
    set_flags,
    valid_keys,
)
from cvae_study.study.config.schema import (
    OptimConfig,
    TextConfig,
    TextDataConfig,
    TextEvalConfig,
    TextTrainConfig,
)

SECTIONS = {
    "model": TextCVAEConfig,
    "kl": KLConfig,
    "tf": TeacherForcingConfig,
    "optim": OptimConfig,
    "train": TextTrainConfig,
    "data": TextDataConfig,
    "eval": TextEvalConfig,
}


def test_build_defaults_equal_the_dataclass_defaults():
    config = build("text")
    assert config == TextConfig()
    flat = flatten(config)
    expected = {
        f"{section}.{f.name}": f.default
        for section, cls in SECTIONS.items()
        for f in dataclasses.fields(cls)
    }
    # The text task's own choices over its components' defaults (config.TextConfig).
    expected.update({"kl.max_weight": 5.0, "optim.lr": 5e-3, "optim.lr_decay": "cosine",
                     "train.epochs": 80, "train.batch_size": 128})
    assert flat == expected
    assert config.kl.schedule == "monotonic" and config.kl.free_bits == 0.3
    assert config.model.hidden_size == 256 and config.model.condition_size == 16


def test_build_applies_and_coerces_overrides():
    config = build(
        "text",
        {"kl.cycles": "3", "optim.lr": "0.05", "model.z_every_step": "true", "kl.ratio": 1},
    )
    assert config.kl.cycles == 3 and isinstance(config.kl.cycles, int)
    assert config.optim.lr == pytest.approx(0.05)
    assert config.model.z_every_step is True
    assert config.kl.ratio == 1.0 and isinstance(config.kl.ratio, float)
    # Untouched fields keep their defaults.
    assert config.kl.schedule == KLConfig().schedule
    assert config.train == TextConfig().train


def test_flatten_from_flat_round_trip():
    config = build(
        "text",
        {
            "kl.schedule": "monotonic",
            "tf.start": 0.8,
            "tf.floor": 0.2,
            "model.cell": "lstm",
            "train.objective": "reconstruct",
            "data.heldout_fraction": 0.2,
        },
    )
    flat = flatten(config)
    assert all("." in key for key in flat)
    assert flat["kl.schedule"] == "monotonic"
    assert flat["model.cell"] == "lstm"
    assert sorted(flat) == valid_keys(TextConfig)
    assert build("text", flat) == config


def test_defaults_of_pin_keys_at_the_defaults_that_set_flags_carry_to_a_child_process():
    pinned = defaults_of("video", ["optim.lr", "model.prior", "train.epochs"])
    assert pinned == {"optim.lr": 0.002, "model.prior": "learned", "train.epochs": 8}
    argv = set_flags(pinned)
    assert argv == ["--set", "optim.lr=0.002", "--set", "model.prior=learned",
                    "--set", "train.epochs=8"]
    assert build("video", parse_assignments(argv[1::2])) == build("video", {})


def test_load_yaml_file_with_nested_sections(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(
        "kl:\n  schedule: monotonic\n  warmup_steps: 50\nmodel:\n  hidden_size: 16\n"
        "  z_every_step: true\noptim:\n  lr: 1e-3\n"
    )
    config = load("text", str(path))
    assert config.kl.schedule == "monotonic"
    assert config.kl.warmup_steps == 50
    assert config.model.hidden_size == 16
    assert config.model.z_every_step is True
    assert config.optim.lr == pytest.approx(1e-3)


def test_load_toml_file_with_dotted_keys_under_sections(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(
        'model.hidden_size = 32\nmodel.cell = "lstm"\n\n'
        '[kl]\nschedule = "none"\nmax_weight = 0.5\n\n'
        "[train]\nepochs = 3\nbatch_size = 8\n"
    )
    config = load("text", str(path))
    assert config.model.hidden_size == 32
    assert config.model.cell == "lstm"
    assert config.kl.schedule == "none"
    assert config.kl.max_weight == pytest.approx(0.5)
    assert config.train.epochs == 3
    assert config.train.batch_size == 8


def test_set_overrides_the_file(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("kl:\n  cycles: 2\n  ratio: 0.25\n")
    config = load("text", str(path), parse_assignments(["kl.cycles=7", "train.seed = 3"]))
    assert config.kl.cycles == 7
    assert config.kl.ratio == pytest.approx(0.25)
    assert config.train.seed == 3


def _error(assignments, config_file=None):
    with pytest.raises(ConfigError) as info:
        load("text", config_file, parse_assignments(assignments))
    return str(info.value)


def test_unknown_key_names_it_and_lists_valid_keys():
    message = _error(["kl.cylces=4"])
    assert "kl.cylces" in message
    for key in ("kl.cycles", "kl.schedule", "tf.start", "optim.lr", "model.latent_size"):
        assert key in message
    assert "model.latent_size" in _error(["nosuch.section=1"])


def test_wrong_type_names_the_key():
    message = _error(["kl.cycles=abc"])
    assert "kl.cycles" in message and "abc" in message
    assert "optim.lr" in _error(["optim.lr=fast"])
    assert "kl.cycles" in _error(["kl.cycles=2.5"])


@pytest.mark.parametrize(
    ("assignment", "key"),
    [
        ("kl.ratio=0", "kl.ratio"),
        ("optim.lr=-1", "optim.lr"),
        ("kl.ratio=1.5", "kl.ratio"),
        ("model.hidden_size=2", "model.hidden_size"),
        ("tf.start=2", "tf.start"),
    ],
)
def test_value_out_of_range_names_the_key(assignment, key):
    message = _error([assignment])
    assert key in message and "range" in message


@pytest.mark.parametrize(
    ("assignment", "key"),
    [
        ("kl.cycles=nan", "kl.cycles"),
        ("kl.cycles=inf", "kl.cycles"),
        ("train.epochs=1e400", "train.epochs"),
        ("optim.lr=nan", "optim.lr"),
        ("kl.max_weight=nan", "kl.max_weight"),
        ("kl.ratio=nan", "kl.ratio"),
    ],
)
def test_non_finite_numbers_are_config_errors_naming_the_key(assignment, key):
    assert key in _error([assignment])


def test_bad_choice_names_the_key_and_lists_the_choices():
    message = _error(["kl.schedule=linear"])
    assert "kl.schedule" in message and "linear" in message
    for choice in ("none", "monotonic", "cyclical"):
        assert choice in message


def test_bad_bool_names_the_key():
    message = _error(["model.z_every_step=maybe"])
    assert "model.z_every_step" in message and "maybe" in message


def test_lab_source_without_dir_names_data_dir():
    assert "data.dir" in _error(["data.source=lab"])
    config = load("text", None, {"data.source": "lab", "data.dir": "/tmp/lab"})
    assert config.data.dir == "/tmp/lab"


def test_teacher_forcing_floor_above_start_names_tf_floor():
    assert "tf.floor" in _error(["tf.start=0.3", "tf.floor=0.5"])


def test_malformed_set_without_equals_names_the_item():
    message = _error(["kl.cycles"])
    assert "kl.cycles" in message and "key=value" in message
    assert "=4" in _error(["=4"])


def test_missing_config_file_names_the_path(tmp_path):
    path = tmp_path / "nowhere.yaml"
    assert str(path) in _error([], str(path))


def test_invalid_yaml_file_names_the_path(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("kl: [unclosed\n  cycles: 4\n")
    message = _error([], str(path))
    assert str(path) in message


def test_invalid_toml_file_names_the_path(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[kl\ncycles = 4\n")
    assert str(path) in _error([], str(path))


def test_unknown_task_is_an_error():
    with pytest.raises(ConfigError, match="video2"):
        build("video2")


def test_configs_are_frozen():
    config = build("text")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.kl = KLConfig(cycles=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.kl.cycles = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.model.hidden_size = 16
    assert config.kl.cycles == KLConfig().cycles


def test_a_section_keeps_its_task_defaults_when_one_key_is_overridden():
    video = build("video", {"train.seed": 3})
    assert (video.train.epochs, video.train.batch_size, video.train.seed) == (8, 16, 3)
    assert build("video", {"optim.name": "sgd"}).optim.lr == 0.002
    assert build("text", {"train.seed": 3}).train.epochs == 80
