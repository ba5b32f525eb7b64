"""A case's correctness change from the baseline's row to the candidate's: regressed, fixed, new...

Statuses are compared by what they mean (working, neutral, failing) and failures by how far
down the stages a case got, so a failure that moves to an earlier stage is a regression.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from typing import Any

from suite.core.record import Status


class Change(enum.StrEnum):
    REGRESSED = "regressed"
    FIXED = "fixed"
    STILL_FAILING = "still_failing"
    NEW = "new"
    REMOVED = "removed"
    UNCHANGED = "unchanged"


# Statuses a case "works" in. XPASS works (an expectation went stale); SKIP is neutral.
WORKING = frozenset({Status.PASS.value, Status.XPASS.value})
NEUTRAL = frozenset({Status.SKIP.value})
# The order stages run in, across paths; a failure at an earlier stage than before is a regression.
STAGE_ORDER = (
    "harness",
    "build",
    "reference",
    "export",
    "check",
    "dynamic_axes",
    "transform",
    "provider",
    "first_run",
    "ort",
    "dynamic_sizes",
    "onnx_tf",
    "saved_model",
    "tf2onnx",
    "version",
    "benchmark",
    "eager",
    "compare",
    "done",
)


def stage_rank(stage: str) -> float:
    """Position of a stage in STAGE_ORDER; version_opN hops sort by N inside "version"."""
    match = re.fullmatch(r"version_op(\d+)", stage or "")
    if match:
        return STAGE_ORDER.index("version") + int(match.group(1)) / 1000
    return float(STAGE_ORDER.index(stage)) if stage in STAGE_ORDER else math.nan


def classify(base: Mapping[str, Any] | None, cand: Mapping[str, Any] | None) -> tuple[Change, str]:
    """A case's correctness change and why."""
    if base is None:
        return Change.NEW, ""
    if cand is None:
        return Change.REMOVED, ""
    b_status, c_status = str(base["status"]), str(cand["status"])
    b_works, c_works = b_status in WORKING, c_status in WORKING
    if b_works and c_works:
        return Change.UNCHANGED, ""
    if b_works and c_status not in NEUTRAL:
        return Change.REGRESSED, f"{b_status} -> {c_status} at {cand.get('stage', '')}"
    if c_works:
        return Change.FIXED, f"{b_status} -> {c_status}"
    if b_status in NEUTRAL or c_status in NEUTRAL:
        return (Change.UNCHANGED if b_status == c_status else Change.STILL_FAILING), f"{b_status} -> {c_status}"
    if b_status == Status.XFAIL.value and c_status in (Status.CRASH.value, Status.TIMEOUT.value):
        return Change.REGRESSED, f"expected failure became a {c_status}"
    b_rank, c_rank = stage_rank(str(base.get("stage", ""))), stage_rank(str(cand.get("stage", "")))
    if c_rank < b_rank:  # NaN compares False: an unknown stage is never called earlier
        return Change.REGRESSED, f"fails earlier: at {cand.get('stage')} (was {base.get('stage')})"
    return Change.STILL_FAILING, "" if b_status == c_status else f"{b_status} -> {c_status}"
