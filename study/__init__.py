"""Study configuration, training tasks, tracking and the cvae-study command."""
