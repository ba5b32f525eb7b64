"""What identifies a stored run, and where the history lives; no database library needed.

The pytest plugin imports this module always and suite.store (SQLAlchemy) only when a
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


def history_url(value: str | None, reports_dir: Path) -> str | None:
    """The database a run writes to: an option, the environment, or the default file; None for 'none'."""
    url = value or os.environ.get(HISTORY_ENV) or default_url(reports_dir)
    return None if url.strip().lower() in ("none", "off", "") else url


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Lines of a JSON-lines file; a damaged line is an error naming it."""
    items = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise HistoryError(f"{path}:{number} is not JSON ({exc.msg}); the file is damaged") from None
    return items


@dataclass(frozen=True)
class EarlierPart:
    """What an earlier invocation of the same run left in its folder (see --zoo-continue)."""

    rows: dict[str, dict[str, Any]]  # case id -> row
    samples: dict[str, list[float]]  # case id -> per-round latency samples
    metadata: dict[str, Any]


def earlier_part(folder: Path) -> EarlierPart:
    """The rows, samples and metadata an earlier invocation wrote to `folder`.

    Raises:
        HistoryError: the folder has no rows to continue.
    """
    rows_file = folder / "rows.jsonl"
    if not rows_file.is_file():
        raise HistoryError(
            f"--zoo-continue: {folder} has no rows.jsonl to continue; run the first part with the same --zoo-run-id"
        )
    rows = {str(row["case_id"]): row for row in read_jsonl(rows_file)}
    samples_file = folder / SAMPLES_FILE
    samples = {str(s["case_id"]): s["samples_ms"] for s in read_jsonl(samples_file)} if samples_file.is_file() else {}
    meta_file = folder / "metadata.json"
    metadata = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
    return EarlierPart(rows, samples, metadata)
