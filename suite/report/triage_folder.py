"""The run folder's triage/: each signature's repro folder, copied from the cache where its case wrote it.

A triage writes its repro into the cache during the case (`triage_repro_source`, an absolute path);
the run folder gets its own copy, `triage/<triage_id>/`, so a report read elsewhere (a CI artifact,
another machine) links to a folder that is there, and cleaning the cache costs no draft.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd

from suite.report.cells import cell_text

TRIAGE_DIR = "triage"
MISSING = "repro folder missing from the cache"
# metadata.json's record of the repros not in the run folder (triage_id -> why); the page says it too.
MISSING_REPROS = "triage_repros_missing"
# A triage id is a folder name (suite.judge.triage.findings.Findings.triage_id); anything else in the
# column (a path, "..") must not make the copy write outside the run folder.
_FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def repro_sources(frame: pd.DataFrame) -> dict[str, str]:
    """triage_id -> the cache folder its repro was written to, for each signature that kept one."""
    if not {"triage_id", "triage_repro_source"} <= set(frame.columns):
        return {}
    sources: dict[str, str] = {}
    for triage_id, source in zip(frame["triage_id"], frame["triage_repro_source"], strict=True):
        if cell_text(triage_id) and cell_text(source):
            sources.setdefault(str(triage_id), str(source))
    return sources


def copy_repros(frame: pd.DataFrame, run_dir: Path) -> dict[str, str]:
    """Copy each signature's repro folder to `run_dir/triage/<triage_id>/`.

    Returns:
        triage_id -> why, for each repro that is not in the run folder (its source went missing, or
        the copy failed); the report says so instead of linking to nothing.
    """
    missing = {}
    for triage_id, source in sorted(repro_sources(frame).items()):
        if not _FOLDER_NAME.fullmatch(triage_id):
            missing[triage_id] = f"not copied: {triage_id!r} is not a folder name"
            continue
        why = _copy(Path(source), run_dir / TRIAGE_DIR / triage_id)
        if why:
            missing[triage_id] = why
    return missing


def _copy(source: Path, target: Path) -> str:
    """Copy one folder; "" when `target` has it afterwards, else why not."""
    if not source.is_dir():
        # A report rebuilt after the cache was cleaned still has the copy made when the run ended.
        return "" if target.is_dir() else f"{MISSING} ({source})"
    if target.is_dir() and target.resolve() == source.resolve():
        return ""
    try:
        shutil.copytree(source, target, dirs_exist_ok=True)
    except OSError as exc:  # a full disk or an unreadable file costs the copy, never the report
        return f"repro folder not copied from the cache: {exc}"
    return ""
