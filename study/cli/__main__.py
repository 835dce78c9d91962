"""`python -m cvae_study.study.cli ...`: the cvae-study command."""

from cvae_study.study.cli import entry_point

entry_point()
