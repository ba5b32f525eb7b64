"""A run against its baseline: the diff computed from the history and written as diff.csv, .md and .html."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from suite.core.run_folder import HistoryError
from suite.history.diff import DiffThresholds, RunData, diff_runs, gate_failures
from suite.history.references import history_frame, resolve, started_at_of, trend_of
from suite.history.store import HistoryStore
from suite.report.diff import write_diff


@dataclass(frozen=True)
class DiffOutcome:
    diff: pd.DataFrame
    baseline: RunData
    candidate: RunData
    gate: list[str]
    paths: dict[str, Path]
    trend: pd.DataFrame


def run_diff(
    store: HistoryStore | None,
    candidate: RunData,
    baseline_ref: str,
    out: Path | None,
    fail_on: Sequence[str] = ("correctness",),
    thresholds: DiffThresholds | None = None,
    trend_runs: int = 10,
) -> DiffOutcome:
    """Diff `candidate` against a baseline reference; write diff.csv, diff.md and diff.html to `out`."""
    # `previous` is the run before the candidate, which a run folder not (yet) stored dates by its metadata.
    started = started_at_of(candidate.meta) or None
    baseline = resolve(baseline_ref, store, exclude=candidate.run_id, candidate_started=started)
    if baseline.run_id == candidate.run_id:
        raise HistoryError(f"the baseline {baseline_ref!r} is the candidate run itself ({candidate.run_id})")
    diff = diff_runs(baseline, candidate, history_frame(store, candidate, trend_runs), thresholds)
    gate = gate_failures(diff, fail_on)
    trend = trend_of(store, candidate, diff, trend_runs)
    paths = write_diff(out, diff, baseline, candidate, gate, trend) if out else {}
    return DiffOutcome(diff, baseline, candidate, gate, paths, trend)
