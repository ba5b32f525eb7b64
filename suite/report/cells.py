"""Pieces every HTML table of the reports shares: status colours, how a cell prints a value, and
the anchors a case's row and a triage signature are linked by.

A module of its own so the run report, the latency and diff sections and the charts use one
palette without importing each other.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from suite.core.record import Status

STATUS_COLOURS = {
    Status.PASS.value: "#b7e1a1",
    Status.XFAIL.value: "#d9d2e9",
    Status.SKIP.value: "#eeeeee",
    Status.MISMATCH.value: "#ffd966",
    Status.UNSUPPORTED.value: "#c9daf8",
    Status.EXPORT_ERROR.value: "#f4a582",
    Status.TRANSFORM_ERROR.value: "#f4a582",
    Status.RUNTIME_ERROR.value: "#f4a582",
    Status.MODEL_ERROR.value: "#e6b8af",
    Status.FALLBACK.value: "#e69138",
    Status.CRASH.value: "#e06666",
    Status.TIMEOUT.value: "#e06666",
    Status.XPASS.value: "#ffe599",
}


def cell_text(value: Any) -> str:
    """A value as a table cell shows it: blank for missing, 3 significant digits, counts as counts."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        # Counts read back from CSV as floats (a NaN in the column) print as counts: 2000, not 2e+03.
        return str(int(value)) if value.is_integer() and abs(value) < 1e9 else f"{value:.3g}"
    return str(value)


def case_anchor(case_id: str) -> str:
    """The HTML id of a case's row in the details table, which matrix cells and other tables link to."""
    return "case-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in case_id)


def triage_anchor(triage_id: str) -> str:
    """The HTML id of a triage signature in the Triage section, which matrix cells link to."""
    return "triage-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in triage_id)
