"""Run references: a run folder, a run id, a baseline name, `latest` or `previous`, resolved to a
run's rows (RunData), from a folder or the history; importing folders; the history a diff reads.

The command line over these is suite.cli.history.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from suite.core.rows import judged_count
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


def started_at_of(meta: Mapping[str, Any]) -> str:
    """A run's start time from its metadata (`date` in run folders written before `started_at`)."""
    return str(meta.get("started_at") or meta.get("date") or "")


def import_folder(store: HistoryStore, folder: Path) -> tuple[str, str, int]:
    """Store a run folder as a part of its run (its shard, or the whole run); returns run id, part, rows."""
    run, state = load_folder(folder)
    meta = dict(run.meta)
    part = RunPart(
        run_id=run.run_id,
        part=str(meta.get("shard") or "all"),
        started_at=started_at_of(meta),
        metadata=meta,
        folder=str(folder.resolve()),
    )
    store.write_part(part, run.rows.to_dict("records"), run.samples, state)
    return run.run_id, part.part, len(run.rows)


# -- references -------------------------------------------------------------------------------


def resolve(
    ref: str, store: HistoryStore | None, exclude: str | None = None, candidate_started: str | None = None
) -> RunData:
    """A run folder, run id, baseline name, `latest` or `previous`, as RunData.

    Args:
        ref: the reference.
        store: the history to look names up in; None where only run folders will do.
        exclude: the candidate run's id, which `latest` and `previous` are relative to (run_id_for).
        candidate_started: the candidate's start time, for a candidate the history does not hold.
    """
    if Path(ref).is_dir():
        return load_folder(Path(ref))[0]
    if store is None:
        raise HistoryError(f"{ref!r} is not a run folder, and no history database is in use to look it up")
    run_id = run_id_for(ref, store, exclude, candidate_started)
    rows = pd.DataFrame(store.run_rows(run_id))
    return RunData(run_id, rows, store.run_samples(run_id), store.run_info(run_id))


def run_id_for(ref: str, store: HistoryStore, exclude: str | None = None, candidate_started: str | None = None) -> str:
    """The run id a reference names.

    `latest` is the newest complete run other than the candidate (`exclude`); `previous` is the
    newest complete run started before the candidate: with the candidate the newest run, both are
    the same run, not two apart. Without a candidate, the candidate is `latest` itself, so
    `previous` is the run before it.

    Args:
        ref: a run id, a baseline name, `latest` or `previous`.
        store: the history.
        exclude: the candidate run's id; a candidate the history does not hold yet (a run in
            progress) started after every stored run, unless `candidate_started` says otherwise.
        candidate_started: the candidate's start time (ISO 8601), for a candidate not stored.

    Raises:
        HistoryError: no such run, or no complete run where `latest` or `previous` points.
    """
    if ref in ("latest", "previous"):
        return _relative_run(ref, store, exclude, candidate_started)
    named = store.baseline_run(ref)
    if named is not None:
        return named
    if store.has_run(ref):
        return ref
    raise HistoryError(
        f"{ref!r} is neither a run folder, a baseline name nor a run id in {store.safe_url}; "
        "`python -m suite.cli.history list` shows runs and baselines"
    )


def _relative_run(ref: str, store: HistoryStore, candidate: str | None, candidate_started: str | None) -> str:
    """`latest` or `previous` relative to `candidate` (run_id_for)."""
    stored = store.list_runs()  # newest first; runs started together in run id order
    order = [r.run_id for r in stored]
    complete = [r for r in stored if r.state == "complete"]
    if ref == "previous" and candidate is None and complete:
        candidate = complete[0].run_id  # no candidate: `latest` is the candidate
    found = [r for r in complete if r.run_id != candidate]
    if ref == "previous" and candidate in order:
        # The list's order, not started_at alone: it also orders runs that started the same second.
        after = set(order[order.index(candidate) + 1 :])
        found = [r for r in found if r.run_id in after]
    elif ref == "previous" and candidate_started:
        found = [r for r in found if r.started_at <= candidate_started]
    if found:
        return found[0].run_id
    where = f" started before run {candidate}" if ref == "previous" and candidate else ""
    raise HistoryError(
        f"the history {store.safe_url} has no {ref} complete run{where} ({len(stored)} runs stored, "
        f"{len(complete)} complete); `python -m suite.cli.history list` shows them, and a run is complete "
        "once its session finished"
    )


def promotion_refusal(store: HistoryStore, run_id: str, name: str) -> str | None:
    """Why naming `run_id` as the baseline `name` would lose sight of cases, or None if it would not.

    A run that judged no case (suite.core.rows.judged_count), or fewer cases than the run `name`
    points to now, makes a baseline that compares less: the cases it left out vanish from every
    later diff. (A run that tested less: a narrower selection, shards that failed, a run cut short.)

    Returns:
        One sentence saying what was found and what to promote instead; None to promote.
    """
    judged = judged_count(store.run_rows(run_id))
    if judged == 0:
        return (
            f"run {run_id} judged no case (every row is skip, unsupported, xfail or not run), so a baseline "
            "of it compares nothing; promote a run that tested something"
        )
    current = store.baseline_run(name)
    if current is None or current == run_id:
        return None
    before = judged_count(store.run_rows(current))
    if judged >= before:
        return None
    return (
        f"run {run_id} judged {judged} cases, fewer than the {before} of run {current} that {name!r} "
        "names now, and the cases it left out would drop out of every later diff; promote a run that "
        "tested at least as much"
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
