"""Rows as they travel on pytest's test reports, and the rows written for cases that never wrote one.

A case's row rides on its test report's user_properties, so it reaches the controller under
pytest-xdist the same way it does without it; a test that died before writing one (a fixture
error, a lost xdist worker, a session cut short) still gets a row, from its node id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from suite.core.record import Record, Status
from suite.paths import PATH_NAMES

RECORD_KEY = "zoo_record"
SAMPLES_KEY = "zoo_samples"
NOT_RUN = "not run: the session ended before this case"


def row_from_report(report: pytest.TestReport) -> dict[str, Any] | None:
    for key, value in report.user_properties:
        if key == RECORD_KEY:
            return json.loads(value)
    return None


def samples_from_report(report: pytest.TestReport) -> list[float]:
    for key, value in report.user_properties:
        if key == SAMPLES_KEY:
            return json.loads(value)
    return []


def case_fields(nodeid: str) -> dict[str, Any]:
    """Case fields parsed back from a node id, for rows the test itself could not write.

    The path is the test module's (suite/matrix/test_<path>.py)."""
    case_id = nodeid.rsplit("[", 1)[-1].rstrip("]")
    module = Path(nodeid.split("::", 1)[0]).stem.removeprefix("test_")
    path = module if module in PATH_NAMES else ""
    parts = case_id.rsplit("-", 4)
    if len(parts) == 5 and parts[2].startswith("op") and parts[2][2:].isdigit():
        model, exporter, opset, shape, _ = parts
        return {
            "case_id": case_id,
            "model": model,
            "exporter": exporter,
            "opset": int(opset[2:]),
            "shape": shape,
            "path": path,
        }
    return {"case_id": case_id, "model": case_id, "exporter": "", "opset": 0, "shape": "", "path": path}


def row_without_record(nodeid: str, status: Status, message: str, stage: str = "harness") -> dict[str, Any]:
    return Record(**case_fields(nodeid), stage=stage, status=status, message=message).to_row()


def longrepr_line(report: pytest.TestReport) -> str:
    text = str(report.longrepr or "").strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return (lines[-1] if lines else "no result recorded")[:300]
