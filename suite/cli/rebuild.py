"""Write the report of a run folder from the rows it streamed: for a run killed before its end.

A run appends each case's row to `rows.jsonl` as it finishes, and writes results.csv,
results.html and metadata.json only when the session ends. A run killed before that (SIGKILL,
a lost machine) keeps its rows; this writes the rest from them. A row torn by the kill (the last
line, half written) is left out, and the report says the run was interrupted.

Usage: python -m suite.cli.rebuild reports/runs/<run id> [...]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from suite.cli.pipes import quiet_on_closed_pipe
from suite.core.run_folder import ROWS_FILE, HistoryError, read_jsonl
from suite.paths import PATHS
from suite.report.results import write_run


def rebuild(folder: Path) -> dict[str, Path]:
    """The report of `folder` from its rows (one per case: the last one written wins)."""
    rows_path = folder / ROWS_FILE
    if not rows_path.is_file():
        raise HistoryError(f"{folder} is not a run folder (no {ROWS_FILE}); give e.g. reports/runs/<run id>")
    rows = {str(row["case_id"]): row for row in read_jsonl(rows_path, torn_tail=True)}
    metadata = _metadata_of(folder, len(rows))
    return write_run(folder, list(rows.values()), metadata, point_latest=False)


def _metadata_of(folder: Path, rows: int) -> dict[str, Any]:
    """The run's metadata when it wrote some; else what the folder tells, marked interrupted."""
    written = folder / "metadata.json"
    if written.is_file():
        return json.loads(written.read_text())
    return {
        "run_id": folder.name,
        "state": "interrupted",
        "selection": "unknown: the run was stopped before it wrote its metadata",
        "notices": [f"report rebuilt from {ROWS_FILE} ({rows} cases) by python -m suite.cli.rebuild"],
        "paths": [path.describe() for path in PATHS],
    }


@quiet_on_closed_pipe
def main(argv: Sequence[str] | None = None) -> int:
    folders = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    if not folders:
        print("usage: python -m suite.cli.rebuild reports/runs/<run id> [...]", file=sys.stderr)
        return 2
    for folder in folders:
        try:
            paths = rebuild(folder)
        except HistoryError as exc:
            print(f"suite.cli.rebuild: {exc}", file=sys.stderr)
            return 2
        print(f"{folder}: {', '.join(str(p) for p in paths.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
