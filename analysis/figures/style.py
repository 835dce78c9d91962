"""What the figures share in looks: each outcome's colour, and a figure of panels."""

import numpy as np
from matplotlib.figure import Figure

from cvae_study.study import names as n

OUTCOME_COLOURS = {n.COMPLETED: "C0", n.STOPPED_EARLY: "C1", n.RUNNING: "C2",
                   n.DIVERGED: "C3", n.ERRORED: "C7"}
OTHER_COLOUR = "C5"  # outcomes of other commands (an interrupted `train`), should one appear


def outcome_colour(outcome: str) -> str:
    return OUTCOME_COLOURS.get(outcome, OTHER_COLOUR)


def panels(count: int, width: float = 4.5, per_row: int = 4) -> tuple[Figure, np.ndarray]:
    """A figure of `count` panels, at most `per_row` a row; -> (figure, flat axes)."""
    rows, columns = -(-count // per_row), min(count, per_row)
    figure = Figure(figsize=(width * columns, 3.6 * rows), layout="tight")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for spare in axes[count:]:
        spare.set_visible(False)
    return figure, axes[:count]
