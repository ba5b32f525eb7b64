"""What a latency line in the diff says: what was measured, and the rule that gave the verdict.

A bare "0.02402 -> 0.03926 | change +2%" read as a 2% change between those two p50s, where the
+2% was the candidate run's interleaved A/B ratio and the p50s the two runs' stored numbers,
which differ by the machine. So every latency line names its measurement (the A/B's median
ratio with its interval, or the stored p50s with their Mann-Whitney p-value and the change the
history could detect) and the rule applied (the A/B band, or the history's test and prediction
interval).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from suite.history.latency_verdict import LatencyThresholds
from suite.latency_ab.kept_artifacts import IDENTICAL

# Which measurement a latency verdict comes from (the diff's latency_method column).
AB = "ab"  # the candidate run timed the baseline's artifact against its own, interleaved
HISTORY = "history"  # the two runs' stored p50s and per-round samples, against the case's history
# IDENTICAL ("identical artifact"): the same file on the same onnxruntime, nothing timed.


# Short names of the rules, for a table column; latency_rule says each in full.
RULE_NAMES = {AB: "A/B band", HISTORY: "history (Mann-Whitney + prediction interval)", IDENTICAL: "identical artifact"}


def rule_name(method: str) -> str:
    """The short name of the rule a latency verdict of `method` follows ("" for none)."""
    return RULE_NAMES.get(method, "")


def latency_rule(method: str, thresholds: LatencyThresholds, ab_min_effect: float | None = None) -> str:
    """The rule a latency verdict of `method` follows, with its thresholds."""
    if method == AB:
        effect = ab_min_effect or 0.0
        return (
            f"{RULE_NAMES[AB]}: slower or faster when the 95% interval excludes 1 and the median ratio is past "
            f"{1 + effect:.3g} (or 1/{1 + effect:.3g}); unchanged when the interval lies inside that band"
        )
    if method == HISTORY:
        return (
            f"{RULE_NAMES[HISTORY]}: slower or faster when the samples differ "
            f"(Mann-Whitney p < {thresholds.alpha:g}), the change is at least {thresholds.min_effect:.0%} and it "
            f"falls outside the {thresholds.confidence:.0%} prediction interval of >= {thresholds.min_history} "
            "earlier runs"
        )
    if method == IDENTICAL:
        return f"{RULE_NAMES[IDENTICAL]}: the same file on the same onnxruntime is not timed again, unchanged"
    return ""


def latency_measured(record: Mapping[str, Any]) -> str:
    """What a diff row's latency verdict was computed from, in words and numbers."""
    method = str(record.get("latency_method") or "")
    stored = _stored_p50s(record)
    if method == AB:
        ratio, low, high = (finite_number(record.get(c)) for c in ("p50_ratio", "ratio_ci_low", "ratio_ci_high"))
        if ratio is None:
            return stored
        interval = f", 95% interval [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""
        # The stored p50s are shown for reference; the machine moves them between runs.
        p50s = f"; {stored} (not judged)" if stored else ""
        return f"A/B median ratio {ratio:.3f}{interval}, timed interleaved in the candidate run{p50s}"
    if method == HISTORY and stored:
        ratio, p_value = finite_number(record.get("p50_ratio")), finite_number(record.get("p_value"))
        detectable, runs = finite_number(record.get("detectable_change")), finite_number(record.get("history_runs"))
        said = [f"{stored} ({ratio - 1:+.0%})" if ratio is not None else stored]
        said.append(f"Mann-Whitney p={p_value:.2g}" if p_value is not None else "no per-round samples")
        runs_text = f"{int(runs)} earlier runs" if runs is not None else "no earlier runs"
        said.append(
            f"detectable change ±{detectable:.0%} over {runs_text}" if detectable is not None else f"{runs_text}"
        )
        return ", ".join(said)
    return stored


def _stored_p50s(record: Mapping[str, Any]) -> str:
    base, cand = finite_number(record.get("base_p50_ms")), finite_number(record.get("cand_p50_ms"))
    return f"stored p50 {base:.4g} -> {cand:.4g} ms" if base is not None and cand is not None else ""


def finite_number(value: Any) -> float | None:
    """`value` as a finite float, or None (blank, NaN, text)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
