"""Known failures, as data: which cases, what status, why, and where it is tracked.

A case that fails with the expected status becomes an xfail row that still
carries the real message; one that passes becomes xpass, so a stale entry is
seen; an entry that matched no case in a run is listed in the report.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass


@dataclass(frozen=True)
class Expectation:
    """A known failure.

    Attributes:
        case_glob: Glob over case ids, e.g. "gpt2-torchscript-*".
        status: The status the case is expected to end in.
        reason: Why, in one sentence.
        link: Where it is tracked (issue URL), or "" when nobody tracks it yet.
    """

    case_glob: str
    status: str
    reason: str
    link: str = ""

    def matches(self, case_id: str) -> bool:
        return fnmatch.fnmatchcase(case_id, self.case_glob)


EXPECTATIONS: list[Expectation] = []


def expectation_for(case_id: str) -> Expectation | None:
    """The first expectation whose glob matches `case_id`."""
    return next((e for e in EXPECTATIONS if e.matches(case_id)), None)
