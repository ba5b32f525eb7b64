"""The diff's counts and its gate: what fails a run against its baseline.

Every figure a report or the terminal shows about a diff comes from counts(), so a header and
the text under it cannot disagree; the gate's reasons are worded from the same counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from suite.history.case_change import Change
from suite.history.latency_verdict import LatencyVerdict
from suite.history.roots import causes

NOT_JUDGED = "not judged: "  # how ratio_verdicts marks a ratio shown without a verdict


def counts(diff: pd.DataFrame) -> dict[str, int]:
    """Every count the reports and the terminal show, computed once so that they agree.

    Returns:
        In this order: compared (cases in both runs); each Change's count (removed: cases in the
        baseline only), regressed followed by regressed_causes (a root and the cases derived from
        it count once); drifted; latency_timed (latency cases timed in both runs); latency_slower and
        latency_faster (p50 verdicts called); latency_inconclusive (cases with an inconclusive p50
        or within-run ratio: the rows inconclusive_latency gives); ratio_worse and ratio_better
        (cases with a within-run ratio called); ratio_not_judged (a ratio with a side timed once
        that moved, shown without a verdict).
    """
    by_change = {change.value: int((diff["change"] == change.value).sum()) for change in Change}
    result = {"compared": len(diff) - by_change[Change.NEW.value] - by_change[Change.REMOVED.value]}
    for change, count in by_change.items():
        result[change] = count
        if change == Change.REGRESSED.value:  # next to what it qualifies, in the terminal and the HTML
            result["regressed_causes"] = causes(diff[diff["change"] == change])
    result["drifted"] = int((diff["drift"].astype(str) != "").sum())
    verdicts = diff["latency_verdict"].fillna("").astype(str)
    result["latency_timed"] = int(((verdicts != "") & (verdicts != LatencyVerdict.NOT_MEASURED.value)).sum())
    for verdict in (LatencyVerdict.SLOWER, LatencyVerdict.FASTER):
        result[f"latency_{verdict.value}"] = int((diff["latency_verdict"] == verdict.value).sum())
    result["latency_inconclusive"] = len(inconclusive_latency(diff))
    ratios = diff["ratio_verdicts"].astype(str)
    result["ratio_worse"] = int(ratios.str.contains(": worse").sum())
    result["ratio_better"] = int(ratios.str.contains(": better").sum())
    result["ratio_not_judged"] = int(ratios.str.contains(NOT_JUDGED, regex=False).sum())
    return result


def called_latency(diff: pd.DataFrame) -> pd.DataFrame:
    """Cases whose p50 or a within-run ratio was called slower/faster (worse/better): beyond noise."""
    ratios = diff["ratio_verdicts"].astype(str)
    called = ratios.str.contains(": worse") | ratios.str.contains(": better")
    return diff[diff["latency_verdict"].isin(["slower", "faster"]) | called]


def inconclusive_latency(diff: pd.DataFrame) -> pd.DataFrame:
    """Cases with a large, significant timing change that the history is too short to judge."""
    ratios = diff["ratio_verdicts"].astype(str).str.contains(": inconclusive")
    return diff[(diff["latency_verdict"] == "inconclusive") | ratios]


GATES = ("correctness", "drift", "latency", "removed")


def regressed_headline(found: Mapping[str, int]) -> str:
    """ "7 regressed (1 cause)": every regressed case counted, and how many causes they have."""
    regressed, causes_found = found["regressed"], found["regressed_causes"]
    if causes_found >= regressed:
        return f"{regressed} regressed"
    return f"{regressed} regressed ({causes_found} cause{'s' if causes_found != 1 else ''})"


def gate_failures(diff: pd.DataFrame, fail_on: Sequence[str]) -> list[str]:
    """Why the gate fails (empty when it passes): regressions, drift, latency or lost cases, as configured."""
    found = counts(diff)
    reasons = []
    if "correctness" in fail_on and found["regressed"]:
        reasons.append(regressed_headline(found))
    if "drift" in fail_on and found["drifted"]:
        reasons.append(f"{found['drifted']} with numeric drift")
    if "latency" in fail_on and (found["latency_slower"] or found["ratio_worse"]):
        reasons.append(f"{found['latency_slower']} slower, {found['ratio_worse']} with a worse within-run ratio")
    if "removed" in fail_on and found["removed"]:
        # A case the candidate no longer runs can hide a regression: its absence is the finding.
        reasons.append(f"{found['removed']} removed")
    return reasons


def parse_fail_on(value: str) -> tuple[str, ...]:
    """ "correctness" (default), a comma list of GATES ("correctness,removed"), "all" or "none"."""
    if value.strip() == "none":
        return ()
    if value.strip() == "all":
        return GATES
    chosen = tuple(v.strip() for v in value.split(",") if v.strip())
    unknown = [v for v in chosen if v not in GATES]
    if unknown:
        raise ValueError(f"--fail-on takes {', '.join(GATES)}, 'all' or 'none', got {unknown[0]!r}")
    return chosen
