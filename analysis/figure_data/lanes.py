"""The worker timeline's lanes: one per worker where a run records its worker, else
trials packed greedily by time, so no two trials that overlap share a lane."""

import numpy as np
import pandas as pd

PACKED = "packed "  # the lane key of a trial whose run does not record its worker


def packed_lanes(spans: pd.DataFrame) -> pd.Series:
    """Lanes 0, 1, ... for trials whose worker is unknown: each trial, in the order they
    started, in the first lane free by its start. No two overlapping trials share a lane,
    and there are no more lanes than trials that ran at once."""
    free_from: list = []  # per lane, the end of its last trial
    lanes = pd.Series(0, index=spans.index)
    for index, start, end in spans.sort_values("start_time")[["start_time",
                                                               "end_time"]].itertuples():
        lane = next((i for i, free in enumerate(free_from) if free <= start), len(free_from))
        if lane == len(free_from):
            free_from.append(end)
        else:
            free_from[lane] = end
        lanes[index] = lane
    return lanes


def timeline_lanes(trials: pd.DataFrame, until: pd.Timestamp) -> pd.DataFrame:
    """The trials with their lane: `row` (0 at the top) and `lane` ('worker 1', ..., or
    'lane 1', ... packed by time for runs that do not record their worker), lanes grouped
    by `host` (runs without one last), each host's workers in the order of their first
    trial, then its packed lanes. A running trial ends `until`."""
    spans = trials.assign(end_time=trials["end_time"].fillna(until),
                          host=trials["host"].fillna(""), key=trials["worker_id"])
    unknown = spans["key"].isna()
    for _, rows in spans[unknown].groupby("host"):
        spans.loc[rows.index, "key"] = PACKED + packed_lanes(rows).astype(str)
    lanes = (spans.groupby(["host", "key"])["start_time"].min().reset_index()
             .assign(packed=lambda table: table["key"].str.startswith(PACKED),
                     unnamed=lambda table: table["host"] == "")  # trials with no report
             .sort_values(["unnamed", "host", "packed", "start_time"], ignore_index=True))
    number = (lanes.groupby("packed").cumcount() + 1).astype(str)
    lanes["lane"] = np.where(lanes["packed"], "lane " + number, "worker " + number)
    lanes["row"] = lanes.index
    return spans.merge(lanes[["host", "key", "lane", "row"]], on=["host", "key"])
