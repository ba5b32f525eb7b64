"""Run references: a run folder, a run id, a baseline name, `latest` or `previous`, resolved to a
run's rows (RunData), from a folder or the history; importing folders; the history a diff reads.

The command line over these is suite.cli.history.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from suite.core.run_folder import HistoryError, RunPart, read_run_folder
from suite.history.diff import RunData, add_within_run_ratios
from suite.history.store import HistoryStore

# -- run folders ------------------------------------------------------------------------------


def load_folder(folder: Path) -> tuple[RunData, str]:
    """A run folder's rows, samples and metadata, and its state (complete or interrupted)."""
    found = read_run_folder(folder)
    meta = found.metadata
    # No metadata.json: the process died before the session finished.
    state = meta.get("state", "complete") if meta else "interrupted"
    run_id = str(meta.get("run_id") or folder.resolve().name)
    return RunData(run_id, pd.DataFrame(found.rows), found.samples, meta), state


def import_folder(store: HistoryStore, folder: Path) -> tuple[str, str, int]:
    """Store a run folder as a part of its run (its shard, or the whole run); returns run id, part, rows."""
    run, state = load_folder(folder)
    meta = dict(run.meta)
    part = RunPart(
        run_id=run.run_id,
        part=str(meta.get("shard") or "all"),
        started_at=str(meta.get("started_at") or meta.get("date") or ""),
        metadata=meta,
        folder=str(folder.resolve()),
    )
    store.write_part(part, run.rows.to_dict("records"), run.samples, state)
    return run.run_id, part.part, len(run.rows)


# -- references -------------------------------------------------------------------------------


def resolve(ref: str, store: HistoryStore | None, exclude: str | None = None) -> RunData:
    """A run folder, run id, baseline name, `latest` or `previous`, as RunData."""
    if Path(ref).is_dir():
        return load_folder(Path(ref))[0]
    if store is None:
        raise HistoryError(f"{ref!r} is not a run folder, and no history database is in use to look it up")
    run_id = run_id_for(ref, store, exclude)
    rows = pd.DataFrame(store.run_rows(run_id))
    return RunData(run_id, rows, store.run_samples(run_id), store.run_info(run_id))


def run_id_for(ref: str, store: HistoryStore, exclude: str | None = None) -> str:
    if ref in ("latest", "previous"):
        complete = [r.run_id for r in store.list_runs() if r.state == "complete" and r.run_id != exclude]
        index = 0 if ref == "latest" else 1
        if len(complete) <= index:
            hint = " ('latest' is the newest run before this one)" if exclude and ref == "previous" else ""
            raise HistoryError(f"the history {store.safe_url} has no {ref} complete run ({len(complete)} stored){hint}")
        return complete[index]
    named = store.baseline_run(ref)
    if named is not None:
        return named
    if store.has_run(ref):
        return ref
    raise HistoryError(
        f"{ref!r} is neither a run folder, a baseline name nor a run id in {store.safe_url}; "
        "`python -m suite.cli.history list` shows runs and baselines"
    )


def history_frame(store: HistoryStore | None, candidate: RunData, runs: int = 10) -> pd.DataFrame:
    """Earlier complete runs' rows of the candidate's timed cases, with vs_fp32, for the latency judge."""
    if store is None or candidate.rows.empty:
        return pd.DataFrame()
    earlier = store.earlier_runs(candidate.run_id, limit=runs)
    timed = candidate.rows[[_is_timed(r) for r in candidate.rows.to_dict("records")]]
    found = pd.DataFrame(store.case_history(timed["case_id"].astype(str), earlier))
    if found.empty:
        return found
    return pd.concat([add_within_run_ratios(group) for _, group in found.groupby("run_id")], ignore_index=True)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _is_timed(row: dict[str, Any]) -> bool:
    return any(_is_number(row.get(c)) for c in ("p50_ms", "speedup"))


def trend_of(store: HistoryStore | None, candidate: RunData, diff: pd.DataFrame, runs: int) -> pd.DataFrame:
    """status and p50 over the last runs (and the candidate) for the cases a reader will look at first."""
    if store is None or diff.empty:
        return pd.DataFrame()
    notable = diff[
        diff["change"].isin(["regressed", "fixed"])
        | diff["latency_verdict"].isin(["slower", "faster"])
        | (diff["drift"].astype(str) != "")
    ]["case_id"].tolist()[:12]
    if not notable:
        return pd.DataFrame()
    earlier = store.earlier_runs(candidate.run_id, limit=runs)
    found = pd.DataFrame(store.case_history(notable, earlier))
    now = candidate.rows[candidate.rows["case_id"].isin(notable)].assign(
        run_id=candidate.run_id, started_at=str(candidate.meta.get("started_at") or "~now")
    )
    frame = pd.concat([found, now], ignore_index=True)
    if "p50_ms" not in frame.columns:
        frame["p50_ms"] = None
    return frame[["run_id", "started_at", "case_id", "status", "p50_ms"]].sort_values("started_at")
