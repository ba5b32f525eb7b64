"""The run folder: rows -> pandas -> results.csv, results.html, metadata.json, the latency, onnx-tf
coverage, frontier and triage CSVs, the triage's repro folders, and the reports/latest link to the
newest run."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from suite.core.record import Record
from suite.judge.triage.findings import TRIAGE_COLUMNS
from suite.report.frontier import frontier_table
from suite.report.latency import latency_rows
from suite.report.onnx_tf_coverage import coverage_table
from suite.report.results_page import render_html, status_counts
from suite.report.tf_converters import converters_table
from suite.report.triage_folder import MISSING_REPROS, copy_repros
from suite.report.triage_section import signature_table


def new_run_dir(reports_dir: Path, name: str | None = None) -> Path:
    """A fresh folder under reports_dir/runs, named `name` (the run id) or by date and process."""
    base = name or f"{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    for attempt in range(1, 100):
        run_dir = reports_dir / "runs" / (base if attempt == 1 else f"{base}-{attempt}")
        try:
            run_dir.mkdir(parents=True, exist_ok=False)
            return run_dir
        except FileExistsError:
            continue
    raise FileExistsError(f"{reports_dir / 'runs' / base} and 98 numbered variants exist; clean reports/runs")


def rows_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per case, in the Record's column order (then the path's own columns by name, then the
    triage's in their order), sorted by case id."""
    columns = [c for c in Record.__dataclass_fields__ if c != "extra"]
    present = {key for row in rows for key in row} - set(columns)
    triage = [c for c in TRIAGE_COLUMNS if c in present]
    extra = sorted(present - set(triage)) + triage
    frame = pd.DataFrame(list(rows), columns=columns + extra)
    return frame.sort_values("case_id", kind="stable").reset_index(drop=True)


def write_run(
    run_dir: Path,
    rows: Sequence[Mapping[str, Any]],
    metadata: Mapping[str, Any],
    summary_html: str = "",
    point_latest: bool = True,
) -> dict[str, Path]:
    """Write results.csv, results.html and metadata.json (and the other CSVs where they have rows),
    copy the triage's repro folders to run_dir/triage/; point reports/latest at run_dir (unless
    `point_latest` is False: a report rebuilt for an older run leaves "latest" where it is).

    `summary_html` (what changed since a baseline) opens the page, before the matrices.
    """
    frame = rows_frame(rows)
    paths = {
        "csv": run_dir / "results.csv",
        "html": run_dir / "results.html",
        "metadata": run_dir / "metadata.json",
    }
    frame.to_csv(paths["csv"], index=False)
    latency = latency_rows(frame)
    if not latency.empty:
        paths["latency"] = run_dir / "latency.csv"
        latency.to_csv(paths["latency"], index=False)
    coverage = coverage_table(frame)
    if not coverage.empty:
        paths["coverage"] = run_dir / "onnx_tf_coverage.csv"
        coverage.to_csv(paths["coverage"], index=False)
    converters = converters_table(frame)
    if not converters.empty:
        paths["tf_converters"] = run_dir / "tf_converters.csv"
        converters.to_csv(paths["tf_converters"], index=False)
    frontier = frontier_table(frame)
    if not frontier.empty:
        paths["frontier"] = run_dir / "export_frontier.csv"
        frontier.to_csv(paths["frontier"], index=False)
    triage = signature_table(frame)
    if not triage.empty:
        paths["triage"] = run_dir / "triage.csv"
        triage.to_csv(paths["triage"], index=False)
    meta = {k: v for k, v in metadata.items() if k != MISSING_REPROS}  # a rebuilt run's are looked at again
    meta.update(status_counts=status_counts(frame), rows=len(frame))
    missing = copy_repros(frame, run_dir)
    if missing:
        meta[MISSING_REPROS] = missing
    paths["metadata"].write_text(json.dumps(meta, indent=2, default=str))
    paths["html"].write_text(render_html(frame, meta, summary_html))
    if point_latest:
        _point_latest(run_dir)
    return paths


def _point_latest(run_dir: Path) -> None:
    # A relative link keeps the reports folder movable.
    latest = run_dir.parent.parent / "latest"
    tmp = latest.with_name(f"latest.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(os.path.relpath(run_dir, latest.parent))
    os.replace(tmp, latest)
