"""The CLI turns flags into one typed call: what reaches a command's typed function, without
running it, and the grammar argparse checks."""

import pytest

from cvae_study.study import cli
from cvae_study.study.cli import sweep as sweep_command


@pytest.fixture
def sweep_calls(monkeypatch):
    """What `cvae-study sweep ...` hands to cli.sweep.sweep: (options, its keywords)."""
    calls = []
    monkeypatch.setattr(sweep_command, "sweep",
                        lambda options, where, **given: calls.append((options, given)))
    return calls


@pytest.fixture
def sweep_call(sweep_calls):
    """Run `cvae-study sweep ARGV` -> (its SweepOptions, its config overrides)."""

    def run(*argv):
        assert cli.main(["sweep", *argv]) == 0
        options, given = sweep_calls[-1]
        return options, given["overrides"]

    return run


def test_smoke_gives_two_tiny_trials(sweep_call, tmp_path):
    options, overrides = sweep_call("text", "--smoke", "--workdir", str(tmp_path))
    assert options.num_samples == 2
    assert overrides == sweep_command.SMOKE["text"]


def test_quiet_reaches_the_sweep(sweep_calls, tmp_path):
    for flags, quiet in (([], False), (["--quiet"], True)):
        assert cli.main(["sweep", "text", "--workdir", str(tmp_path), *flags]) == 0
        assert sweep_calls[-1][1]["quiet"] is quiet


def test_explicit_flags_win_over_smoke(sweep_call, tmp_path):
    options, overrides = sweep_call("text", "--smoke", "--num-samples", "4", "--epochs", "3",
                                    "--set", "model.latent_size=4", "--workdir", str(tmp_path))
    assert options.num_samples == 4
    assert overrides["train.epochs"] == 3 and overrides["model.latent_size"] == "4"
    assert overrides["model.hidden_size"] == sweep_command.SMOKE["text"]["model.hidden_size"]


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


def test_metric_becomes_the_studys_objectives(sweep_call, tmp_path):
    options, _ = sweep_call("text", "--metric", "val/bleu4, val/gaussian",
                            "--workdir", str(tmp_path))
    assert options.objectives == ("val/bleu4", "val/gaussian")
    options, _ = sweep_call("text", "--workdir", str(tmp_path))
    assert options.objectives == ()  # the task's default, resolved by the sweep's check


def test_resources_and_cluster_flags_reach_the_sweep(sweep_calls, tmp_path):
    assert cli.main(["sweep", "text", "--max-concurrent", "3", "--gpus-per-trial", "0.5",
                     "--shared-storage", "--address", "auto", "--storage", str(tmp_path / "r"),
                     "--workdir", str(tmp_path)]) == 0
    options, given = sweep_calls[-1]
    assert (options.max_concurrent, options.gpus_per_trial, options.shared_storage) == (
        3, 0.5, True)
    assert (given["cluster"].address, given["cluster"].storage) == ("auto", str(tmp_path / "r"))


@pytest.mark.parametrize("argv", [
    ["bench", "text", "--seeds", "0,1"],  # a flag of another benchmark
    ["bench", "nope"],
    ["generate", "--model", "m", "-n", "0"],
    ["data", "video", "--out", "x", "--sequences", "0"],
    ["data", "video", "--out", "x", "--kind", "nope"],
])
def test_the_grammar_refuses_what_argparse_can_check(argv, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    assert stopped.value.code == 2 and "usage: cvae-study" in capsys.readouterr().err
