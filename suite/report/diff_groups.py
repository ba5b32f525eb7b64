"""The diff's regressed cases by cause, as diff.md and the HTML diff section show them.

A root is shown once, with how many regressed cases it stands for and its derived cases' ids
under it (suite.history.roots decides what is derived); an independent case is a group of one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from suite.history.roots import cause_of


@dataclass(frozen=True)
class CauseGroup:
    """One cause among the regressed cases: its root's diff row and the regressed rows derived from it."""

    root: Mapping[str, Any]
    derived: Sequence[Mapping[str, Any]]
    root_regressed: bool  # False where the root failed in the baseline too and only derived cases are new

    @property
    def regressed(self) -> int:
        """Regressed cases this cause stands for."""
        return len(self.derived) + int(self.root_regressed)

    def label(self) -> str:
        """ "7 cases, 1 cause" (or "2 cases, 1 cause; the root was failing already"); "" for one case."""
        if not self.derived:
            return ""
        said = f"{self.regressed} cases, 1 cause"
        return said if self.root_regressed else f"{said}; the root was failing already ({self.root['change']})"

    def derived_ids(self) -> list[str]:
        return [str(r["case_id"]) for r in self.derived]


def regressed_groups(diff: pd.DataFrame) -> list[CauseGroup]:
    """The regressed cases grouped by cause, in the diff's order (each root before its derived cases)."""
    regressed = diff[diff["change"] == "regressed"]
    if regressed.empty:
        return []
    by_case = {str(r["case_id"]): r for r in diff.to_dict("records")}
    members: dict[str, list[Mapping[str, Any]]] = {}
    for cause, record in zip(cause_of(regressed), regressed.to_dict("records"), strict=True):
        members.setdefault(str(cause), []).append(record)
    groups = []
    for cause, records in members.items():
        root = by_case.get(cause, records[0])
        derived = [r for r in records if str(r["case_id"]) != cause]
        groups.append(CauseGroup(root, derived, any(str(r["case_id"]) == cause for r in records)))
    return groups


def tally(values: Iterable[Any]) -> str:
    """ "runtime_error ×5, unsupported ×1": distinct values, most frequent first ("" for blanks)."""
    found = Counter(str(v) for v in values if str(v or "") not in ("", "nan"))
    return ", ".join(f"{v} ×{n}" if n > 1 else v for v, n in found.most_common())
