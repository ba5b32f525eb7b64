"""One cause, one line: cases that fail because their export already fails on ONNX Runtime.

Every path after the export (latency, tf, version, optimize, quantize, other providers) runs the
same exported file as the export's ONNX Runtime case on the CPU provider. When that case fails,
the others of the export that fail too are its consequences, not news of their own: a size
baked into the graph fails the ort case at another size and every latency variant with ONNX
Runtime's raw "GEMM: Dimension mismatch". The ort case is their root; the diff lists it first and
the others under it, and the reports show the root once with its derived cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from suite.history.case_change import NEUTRAL, WORKING

# The case id's last part on the ort path, CPU provider (suite.paths.ort draws it; the history
# sits below the paths and names it here). Ids are <model>-<exporter>-op<N>-<shape>-<label>.
ROOT_LABEL = "ort_cpu"


def export_of(case_id: str) -> str:
    """The export a case belongs to: its id without the last part (model-exporter-opNN-shape)."""
    return case_id.rsplit("-", 1)[0]


def is_failing(status: Any) -> bool:
    """A failure of any kind: neither working nor skipped (a skip is no failure to explain)."""
    return bool(status) and str(status) not in WORKING and str(status) not in NEUTRAL


def root_cases(candidate: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """case id -> its root's case id, for every failing case of an export whose ort case fails.

    Args:
        candidate: The candidate run's rows by case id (the diff judges the candidate).

    Returns:
        Only derived cases are keys; a root and an independent case have no entry.
    """
    roots = {}
    for case_id, row in candidate.items():
        if case_id.endswith(f"-{ROOT_LABEL}") or not is_failing(row.get("status")):
            continue
        root = f"{export_of(case_id)}-{ROOT_LABEL}"
        if root in candidate and is_failing(candidate[root].get("status")):
            roots[case_id] = root
    return roots


def diff_order(case_ids: pd.Series) -> list[int]:
    """Positions of `case_ids` in the diff's order: by export, the export's ort case first.

    Derived cases come right under their root, and an ort case that explains nothing still leads
    its export's cases, so whoever reads the diff from the top meets the cause before its effects.
    """
    keys = [
        (export_of(str(case)), not str(case).endswith(f"-{ROOT_LABEL}"), str(case), index)
        for index, case in enumerate(case_ids)
    ]
    return [key[-1] for key in sorted(keys)]


def cause_of(diff: pd.DataFrame) -> pd.Series:
    """Each diff row's cause: its root's case id, or its own where it has no root."""
    roots = diff["root_case"].fillna("").astype(str) if "root_case" in diff.columns else pd.Series("", diff.index)
    return roots.where(roots != "", diff["case_id"].astype(str))


def causes(diff: pd.DataFrame) -> int:
    """How many causes the diff's rows have: roots and independent cases count once each."""
    return int(cause_of(diff).nunique()) if len(diff) else 0
