"""A run's timed files as a baseline: kept in its own run folder, and found again from a candidate
in another report folder, on another machine, or from a folder that was moved or downloaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from suite.latency_ab.kept_artifacts import ARTIFACTS_DIR, ArtifactStore, BaselineArtifacts


def baseline_artifacts(baseline: str, store: Any, candidate_run: str) -> BaselineArtifacts:
    """What the baseline timed, by case, and where its files may be.

    Args:
        baseline: the --zoo-baseline reference (a run folder, or a name the history resolves).
        store: the history (a suite.history.store.HistoryStore), or None with a folder reference.
        candidate_run: this run's id, which `latest` and `previous` are relative to.
    """
    from suite.history.references import resolve

    found = resolve(baseline, store, exclude=candidate_run)
    rows = found.rows
    by_case: dict[str, str] = {}
    if "artifact_sha256" in rows:
        kept = rows[rows["artifact_sha256"].notna()]
        by_case = dict(zip(kept["case_id"].astype(str), kept["artifact_sha256"].astype(str), strict=True))
    if Path(baseline).is_dir():
        folders = [Path(baseline)]
    else:
        folders = [Path(folder) for folder in store.run_folders(found.run_id)]
    # Its folders' own artifacts/ first (a folder moved or downloaded carries them), then their report folders'.
    roots = [f / ARTIFACTS_DIR for f in folders] + [f.parent.parent / ARTIFACTS_DIR for f in folders]
    return BaselineArtifacts(found.run_id, by_case, tuple(ArtifactStore(root) for root in dict.fromkeys(roots)))


def keep_timed_artifacts(rows: list[dict[str, Any]], store: ArtifactStore, run_dir: Path | None) -> None:
    """The files a run timed, in its own folder's artifacts/ too (second names of the report folder's
    copies where the filesystem allows): the folder is a baseline wherever it is copied."""
    shas = [str(row["artifact_sha256"]) for row in rows if isinstance(row.get("artifact_sha256"), str)]
    if shas and run_dir is not None:
        store.copy_to(shas, ArtifactStore(run_dir / ARTIFACTS_DIR))
