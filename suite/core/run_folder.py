"""What identifies a stored run, and where the history lives; no database library needed.

The pytest plugin imports this module always and suite.history.store (SQLAlchemy) only when a
history is in use, so a run with --zoo-history none needs no database packages (a GPU
machine without a package registry, say).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HISTORY_ENV = "ZOO_HISTORY_URL"
DEFAULT_DB_NAME = "history.sqlite"
# Where run folders and the default history go, relative to the working folder (--zoo-report-dir).
DEFAULT_REPORTS_DIR = "reports"
SAMPLES_FILE = "samples.jsonl"
# The exit status of a run whose diff against --zoo-baseline fails the gate.
EXIT_REGRESSION = 6
ROWS_FILE = "rows.jsonl"


class HistoryError(ValueError):
    """A history database or reference that cannot be used; the message says what to do."""


@dataclass(frozen=True)
class RunPart:
    """What one pytest process (one shard, or a whole unsharded run) contributes to a run."""

    run_id: str
    part: str
    started_at: str
    metadata: Mapping[str, Any]
    folder: str = ""


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def default_url(reports_dir: Path) -> str:
    return f"sqlite:///{(reports_dir / DEFAULT_DB_NAME).resolve()}"


def history_url(value: str | None, reports_dir: Path | str | None) -> str | None:
    """The history database, by the one rule a run (the pytest plugin) and suite.cli.history share.

    `--zoo-history URL`, else $ZOO_HISTORY_URL, else `<report dir>/history.sqlite`, where the
    report dir is `--zoo-report-dir DIR`, else `reports` in the working folder. Sharing the rule
    is the point: a CLI that looked elsewhere than the run once promoted an unrelated run.

    Args:
        value: the --zoo-history option, if given.
        reports_dir: the --zoo-report-dir option (relative to the working folder), or None for
            `reports`. The plugin passes its own default, `<rootdir>/reports`.

    Returns:
        A SQLAlchemy URL, or None where the history is switched off ('none', 'off' or empty).
    """
    url = value or os.environ.get(HISTORY_ENV) or default_url(Path(reports_dir or DEFAULT_REPORTS_DIR))
    return None if url.strip().lower() in ("none", "off", "") else url


def read_jsonl(path: Path, torn_tail: bool = False) -> list[dict[str, Any]]:
    """Lines of a JSON-lines file; a damaged line is an error naming it.

    With `torn_tail`, a damaged last line that does not end the file with a newline is left out:
    a process killed while it appended one leaves it half written.
    """
    text = path.read_text()
    lines = text.splitlines()
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if torn_tail and number == len(lines) and not text.endswith("\n"):
                break
            raise HistoryError(f"{path}:{number} is not JSON ({exc.msg}); the file is damaged") from None
    return items


def mend_torn_tail(path: Path) -> None:
    """Cut a last line a killed process left half written, so appended lines start on their own."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


@dataclass(frozen=True)
class RunFolder:
    """What a pytest invocation streamed to its run folder: rows, latency samples, and metadata
    (empty when the process died before the session finished)."""

    rows: list[dict[str, Any]]
    samples: dict[str, list[float]]  # case id -> per-round latency samples
    metadata: dict[str, Any]


def read_run_folder(folder: Path) -> RunFolder:
    """The rows, samples and metadata in `folder`.

    Raises:
        HistoryError: the folder has no rows file, or a damaged line in one.
    """
    rows_path = folder / ROWS_FILE
    if not rows_path.is_file():
        raise HistoryError(f"{folder} is not a run folder (no {ROWS_FILE}); give e.g. reports/runs/<stamp>")
    samples_path = folder / SAMPLES_FILE
    samples = (
        {s["case_id"]: s["samples_ms"] for s in read_jsonl(samples_path, torn_tail=True)}
        if samples_path.is_file()
        else {}
    )
    meta_path = folder / "metadata.json"
    metadata = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    return RunFolder(read_jsonl(rows_path, torn_tail=True), samples, metadata)
