"""Questions asked of rows wherever they are read (reports, the diff, the history): which rows are
latency rows, how many cases a run judged."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from suite.core.record import Status

LATENCY_PATH = "latency"
# Rows stored before the row named its path wrote the case id's last part there: lat.<variant>.<provider>.
OLD_LATENCY_PREFIX = "lat."
# Statuses of a case that ended without a verdict on the model: skipped, refused by the exporter,
# or a known failure. A run made of them tested nothing, however many rows it has.
UNJUDGED_STATUSES = frozenset({Status.SKIP.value, Status.UNSUPPORTED.value, Status.XFAIL.value})
# How a row written for a case that never ran begins (a hop whose input failed, a session that ended first).
NOT_RUN_PREFIX = "not run"
# How a skip row begins when the case ran but its comparison could say nothing (suite.judge.vacuity)
# or its figures judge nothing (a quantization policy with no rule that applies).
NOT_JUDGED_PREFIX = "not judged: "


def not_judged_mask(frame: pd.DataFrame) -> pd.Series:
    """Which rows are skips that ran but judged nothing."""
    if frame.empty or not {"status", "message"} <= set(frame.columns):
        return pd.Series(False, index=frame.index)
    skipped = frame["status"].astype(str) == Status.SKIP.value
    return skipped & frame["message"].fillna("").astype(str).str.startswith(NOT_JUDGED_PREFIX)


def is_latency_path(path: str) -> bool:
    return path == LATENCY_PATH or path.startswith(OLD_LATENCY_PREFIX)


def latency_mask(frame: pd.DataFrame) -> pd.Series:
    """Which rows are latency rows."""
    return frame["path"].astype(str).map(is_latency_path).astype(bool)


def judged_count(rows: Iterable[Mapping[str, Any]]) -> int:
    """How many cases the rows judged: those whose status is not skip, unsupported or xfail, and
    whose message does not start with "not run".

    A promotion compares these counts (suite.history.references.promotion_refusal): a run that
    judged fewer cases than the baseline it would replace hides what it left out.

    Args:
        rows: a run's rows, each with at least `status` and `message` (missing ones count as empty).

    Returns:
        The number of judged rows.
    """
    return sum(
        1
        for row in rows
        if str(row.get("status") or "") not in UNJUDGED_STATUSES
        and not str(row.get("message") or "").startswith(NOT_RUN_PREFIX)
    )


def status_tally(rows: Iterable[Mapping[str, Any]]) -> str:
    """Cases per status, "pass 2, skip 5": the terminal's summary line and the nothing-judged error."""
    counts = Counter(str(row["status"]) for row in rows)
    return ", ".join(f"{status} {count}" for status, count in sorted(counts.items()))
