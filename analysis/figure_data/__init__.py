"""What each figure of analysis.figures draws, computed apart from the drawing, as Optuna's
visualization computes a plot's `_get_..._info` before any backend draws it: one info
function per figure takes the study's (or ablation's, or trade-off's) tables and returns a
typed value, or None when there is nothing to draw. No matplotlib or seaborn here, so these
values are checked, and reused, without drawing."""
