"""The README documents the real config: its table is `cvae-study config text` verbatim."""

from pathlib import Path

from cvae_study.study import cli, config

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_config_table_matches_the_code():
    assert config.describe("text") in README.read_text()


def test_config_command_lists_every_key(capsys):
    assert cli.main(["config", "text"]) == 0
    out = capsys.readouterr().out
    for key in config.valid_keys(config.TextConfig):
        assert f"`{key}`" in out
