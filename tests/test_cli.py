"""The CLI turns flags into one typed call: what reaches study.commands, without running it."""

import pytest

from cvae_study.study import cli, commands


@pytest.fixture
def sweep_call(monkeypatch):
    """The arguments `cvae-study sweep ...` hands to commands.sweep."""
    calls = []
    monkeypatch.setattr(commands, "sweep", lambda *args: calls.append(args))

    def run(*argv):
        assert cli.main(["sweep", *argv]) == 0
        options, study_file, overrides, where, storage, address, quiet = calls[-1]
        return options, overrides

    return run


def test_smoke_gives_two_tiny_trials(sweep_call, tmp_path):
    options, overrides = sweep_call("text", "--smoke", "--workdir", str(tmp_path))
    assert options.num_samples == 2
    assert overrides == commands.SMOKE["text"]


def test_quiet_reaches_the_sweep(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(commands, "sweep", lambda *args: calls.append(args))
    for flags, quiet in (([], False), (["--quiet"], True)):
        assert cli.main(["sweep", "text", "--workdir", str(tmp_path), *flags]) == 0
        assert calls[-1][-1] is quiet


def test_explicit_flags_win_over_smoke(sweep_call, tmp_path):
    options, overrides = sweep_call("text", "--smoke", "--num-samples", "4", "--epochs", "3",
                                    "--set", "model.latent_size=4", "--workdir", str(tmp_path))
    assert options.num_samples == 4
    assert overrides["train.epochs"] == 3 and overrides["model.latent_size"] == "4"
    assert overrides["model.hidden_size"] == commands.SMOKE["text"]["model.hidden_size"]


def test_overrides_are_typed_and_the_last_word_wins(sweep_call, tmp_path):
    options, overrides = sweep_call("video", "--data", "dance", "--epochs", "5",
                                    "--set", "train.epochs=6", "--workdir", str(tmp_path))
    assert options.num_samples == 8 and options.task == "video"
    assert overrides == {"data.kind": "dance", "train.epochs": "6"}


def test_data_of_the_other_task_is_bad_input(tmp_path, capsys):
    assert cli.main(["sweep", "text", "--data", "dance", "--workdir", str(tmp_path)]) == 2
    assert "--data dance: text data is lemminflect or lab" in capsys.readouterr().err


def test_zero_trials_reach_the_sweep_as_zero(sweep_call, tmp_path):
    """0 is refused by the sweep's own check; it must not turn into the default."""
    options, _ = sweep_call("text", "--num-samples", "0", "--workdir", str(tmp_path))
    assert options.num_samples == 0
